"""Box conversions between detector outputs and the WIDER prediction format (numpy only).

``deploy/`` keeps its own copy of :func:`split_by_count` (it may not import our packages).
"""
import numpy as np

__all__ = ["box_iou", "corners_to_wider", "split_by_count", "xywh_to_corners"]


def xywh_to_corners(boxes):
    """``x y w h`` -> float64 ``x1 y1 x2 y2`` with the official ``x2 = x + w``, ``y2 = y + h``."""
    b = np.array(np.asarray(boxes, dtype=np.float64)[:, :4], copy=True)
    b[:, 2] = b[:, 0] + b[:, 2]
    b[:, 3] = b[:, 1] + b[:, 3]
    return b


def corners_to_wider(det):
    """``[N, 5]`` ``x1, y1, x2, y2, score`` -> float32 ``[N, 5]`` ``left, top, width, height, score``,
    sorted by descending score (stable; the official prediction order), ``width = x2 - x1``."""
    det = np.asarray(det, dtype=np.float32).reshape(-1, 5)
    out = np.stack([det[:, 0], det[:, 1], det[:, 2] - det[:, 0], det[:, 3] - det[:, 1], det[:, 4]], axis=1)
    return out[np.argsort(-out[:, 4], kind="stable")]


def split_by_count(rows, counts):
    """Split detector output rows (grouped by image) into one array per image, ``counts`` rows each."""
    rows = np.asarray(rows)
    ends = np.cumsum(np.asarray(counts).reshape(-1).astype(np.int64))
    return np.split(rows, ends[:-1]) if len(ends) else []


def box_iou(box, boxes):
    """IoU of one ``x1 y1 x2 y2`` box with each row of ``boxes`` ``[N, 4]`` (continuous coordinates, no ``+ 1``)."""
    box, boxes = np.asarray(box, np.float64), np.asarray(boxes, np.float64).reshape(-1, 4)
    w = np.clip(np.minimum(box[2], boxes[:, 2]) - np.maximum(box[0], boxes[:, 0]), 0, None)
    h = np.clip(np.minimum(box[3], boxes[:, 3]) - np.maximum(box[1], boxes[:, 1]), 0, None)
    inter = w * h
    union = (box[2] - box[0]) * (box[3] - box[1]) + (boxes[:, 2] - boxes[:, 0]) * (boxes[:, 3] - boxes[:, 1]) - inter
    return inter / np.maximum(union, 1e-9)
