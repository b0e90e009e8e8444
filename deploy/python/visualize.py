"""Drawing detections with OpenCV."""
import cv2
import numpy as np

from .record import BASE_RECORD, RecordLayout

__all__ = ["draw_boxes"]

#: Extra record fields drawn as points (x, y pairs).
POINT_FIELDS = ("landmarks",)


def draw_boxes(bgr, rows, labels=("face",), threshold=0.5, layout=None):
    """Return a copy of ``bgr`` with every detection of ``rows`` whose score is >= ``threshold`` drawn: its box with
    label and score, and its points (``landmarks``) when the record has them.

    Args:
        bgr (np.ndarray): the image.
        rows (np.ndarray): [K, W] detection rows of ``layout``.
        labels (tuple): class names. Default: ("face",).
        threshold (float): minimum score drawn. Default: 0.5.
        layout (RecordLayout|None): the rows' columns; None: class, score, box only. Default: None.
    """
    layout = layout or RecordLayout(BASE_RECORD)
    out = bgr.copy()
    h, w = out.shape[:2]
    thick = max(1, int(round(min(h, w) / 400)))
    font_scale = max(0.35, min(h, w) / 1200)
    rows = layout.rows(rows)
    points = [f for f in layout.extras if f in POINT_FIELDS]
    for row, cls, score, (x1, y1, x2, y2) in zip(rows, layout.classes(rows), layout.scores(rows), layout.boxes(rows)):
        if score < threshold:
            continue
        color = (0, 255, 0) if cls == 0 else tuple(int(c) for c in np.random.RandomState(cls).randint(64, 255, 3))
        p1, p2 = (int(round(x1)), int(round(y1))), (int(round(x2)), int(round(y2)))
        cv2.rectangle(out, p1, p2, color, thick)
        name = labels[cls] if 0 <= cls < len(labels) else str(cls)
        text = f"{name} {score:.2f}"
        (tw, th), base = cv2.getTextSize(text, cv2.FONT_HERSHEY_SIMPLEX, font_scale, 1)
        ty = p1[1] - 2 if p1[1] - th - base - 2 >= 0 else p1[1] + th + 2
        cv2.rectangle(out, (p1[0], ty - th - 2), (p1[0] + tw + 2, ty + base - 2), color, -1)
        cv2.putText(out, text, (p1[0] + 1, ty - 2), cv2.FONT_HERSHEY_SIMPLEX, font_scale, (0, 0, 0), 1, cv2.LINE_AA)
        for field in points:
            for x, y in row[layout.slices[field]].reshape(-1, 2):
                cv2.circle(out, (int(round(x)), int(round(y))), thick + 1, (0, 0, 255), -1, cv2.LINE_AA)
    return out
