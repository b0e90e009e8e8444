# cython: language_level=3, boundscheck=False, wraparound=False, cdivision=True, initializedcheck=False
# distutils: extra_compile_args = -ffp-contract=off
"""Cython IoU kernel of the WIDER FACE evaluation (official ``boxoverlap`` convention).

Boxes are ``x1, y1, x2, y2`` in float64, where the official evaluation builds ``x2 = x + w`` and
``y2 = y + h`` from the ``x y w h`` annotations and predictions. Widths, heights and areas use the
inclusive-pixel ``+ 1`` convention of the official MATLAB ``boxoverlap.m``::

    iw = min(x2a, x2b) - max(x1a, x1b) + 1
    ih = min(y2a, y2b) - max(y1a, y1b) + 1
    IoU = iw * ih / ((x2a - x1a + 1) * (y2a - y1a + 1) + (x2b - x1b + 1) * (y2b - y1b + 1) - iw * ih)

and the IoU is 0 wherever ``iw <= 0`` or ``ih <= 0``.

The floating point operations are written in exactly the order of the numpy fallback
(``eval_tools.box_overlaps.bbox_overlaps_numpy``) and compiled with ``-ffp-contract=off`` (no fused
multiply-add), so both backends return bit-identical matrices.
"""
import numpy as np


def bbox_overlaps(boxes, query_boxes):
    """IoU matrix between ``boxes`` and ``query_boxes`` (official WIDER ``+ 1`` convention).

    Args:
        boxes: array-like ``[N, 4]`` of ``x1, y1, x2, y2``.
        query_boxes: array-like ``[K, 4]`` of ``x1, y1, x2, y2``.

    Returns:
        ``np.ndarray`` of shape ``[N, K]``, dtype float64.
    """
    b_arr = np.ascontiguousarray(boxes, dtype=np.float64)
    q_arr = np.ascontiguousarray(query_boxes, dtype=np.float64)
    if b_arr.ndim != 2 or b_arr.shape[1] != 4 or q_arr.ndim != 2 or q_arr.shape[1] != 4:
        raise ValueError(
            f"boxes must be [N, 4] and query_boxes [K, 4], got {b_arr.shape} and {q_arr.shape}"
        )
    cdef Py_ssize_t n_boxes = b_arr.shape[0]
    cdef Py_ssize_t n_query = q_arr.shape[0]
    overlaps = np.zeros((n_boxes, n_query), dtype=np.float64)
    if n_boxes == 0 or n_query == 0:
        return overlaps
    cdef const double[:, ::1] b = b_arr
    cdef const double[:, ::1] q = q_arr
    cdef double[:, ::1] out = overlaps
    cdef Py_ssize_t n, k
    cdef double iw, ih, inter, ua, q_area, b_area
    with nogil:
        for k in range(n_query):
            q_area = (q[k, 2] - q[k, 0] + 1.0) * (q[k, 3] - q[k, 1] + 1.0)
            for n in range(n_boxes):
                iw = min(b[n, 2], q[k, 2]) - max(b[n, 0], q[k, 0]) + 1.0
                if iw > 0:
                    ih = min(b[n, 3], q[k, 3]) - max(b[n, 1], q[k, 1]) + 1.0
                    if ih > 0:
                        inter = iw * ih
                        b_area = (b[n, 2] - b[n, 0] + 1.0) * (b[n, 3] - b[n, 1] + 1.0)
                        ua = b_area + q_area - inter
                        out[n, k] = inter / ua
    return overlaps
