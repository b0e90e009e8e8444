"""Drawing detections with OpenCV."""
import cv2
import numpy as np

__all__ = ["draw_boxes"]


def draw_boxes(bgr, boxes, labels=("face",), threshold=0.5):
    """Return a copy of ``bgr`` with every box of ``boxes`` ([K, 6]: class, score, x1, y1, x2, y2)
    whose score is >= ``threshold`` drawn with its label and score."""
    out = bgr.copy()
    h, w = out.shape[:2]
    thick = max(1, int(round(min(h, w) / 400)))
    font_scale = max(0.35, min(h, w) / 1200)
    for cls, score, x1, y1, x2, y2 in np.asarray(boxes, np.float32).reshape(-1, 6):
        if score < threshold:
            continue
        cls = int(cls)
        color = (0, 255, 0) if cls == 0 else tuple(int(c) for c in np.random.RandomState(cls).randint(64, 255, 3))
        p1, p2 = (int(round(x1)), int(round(y1))), (int(round(x2)), int(round(y2)))
        cv2.rectangle(out, p1, p2, color, thick)
        name = labels[cls] if 0 <= cls < len(labels) else str(cls)
        text = f"{name} {score:.2f}"
        (tw, th), base = cv2.getTextSize(text, cv2.FONT_HERSHEY_SIMPLEX, font_scale, 1)
        ty = p1[1] - 2 if p1[1] - th - base - 2 >= 0 else p1[1] + th + 2
        cv2.rectangle(out, (p1[0], ty - th - 2), (p1[0] + tw + 2, ty + base - 2), color, -1)
        cv2.putText(out, text, (p1[0] + 1, ty - 2), cv2.FONT_HERSHEY_SIMPLEX, font_scale, (0, 0, 0), 1, cv2.LINE_AA)
    return out
