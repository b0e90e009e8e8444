"""Box conversions between detector outputs and the WIDER prediction format (numpy only).

``deploy/`` keeps its own copy of :func:`split_by_count` (it may not import our packages).
"""
import numpy as np

__all__ = ["corners_to_wider", "split_by_count", "xywh_to_corners"]


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
