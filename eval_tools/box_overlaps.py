"""IoU kernels of the WIDER FACE evaluation and the backend loader.

Two interchangeable kernels compute the IoU matrix between boxes ``[N, 4]`` and query boxes
``[K, 4]`` (``x1, y1, x2, y2``, float64):

* ``cython``: the compiled ``eval_tools._box_overlaps`` extension
  (build with ``python setup.py build_ext --inplace`` or ``make build``);
* ``numpy``: :func:`bbox_overlaps_numpy`, a vectorised fallback.

Both follow the official WIDER FACE ``boxoverlap.m`` (inclusive pixel, ``+ 1`` on widths, heights
and areas; IoU 0 where the intersection width or height is ``<= 0``) and evaluate the same floating
point operations in the same order, so their results are bit-identical.

Protocol note: the official ``evaluation.m`` turns ``x y w h`` into corners with ``x2 = x + w`` (not
``x + w - 1``) *and* then applies the ``+ 1`` of ``boxoverlap.m``; the widely used Python port
(wondervictor/WiderFace-Evaluation) does the same. This module only implements the kernel; the
``x2 = x + w`` conversion lives in :mod:`eval_tools.widerface`.
"""
from __future__ import annotations

import importlib
from dataclasses import dataclass
from typing import Callable

import numpy as np

BACKENDS = ("auto", "cython", "numpy")

_BUILD_HINT = "build it with `python setup.py build_ext --inplace` (or `make build`)"


def bbox_overlaps_numpy(boxes, query_boxes) -> np.ndarray:
    """IoU matrix between ``boxes`` and ``query_boxes``, pure numpy (official ``+ 1`` convention).

    Args:
        boxes: array-like ``[N, 4]`` of ``x1, y1, x2, y2``.
        query_boxes: array-like ``[K, 4]`` of ``x1, y1, x2, y2``.

    Returns:
        ``np.ndarray`` of shape ``[N, K]``, dtype float64; bit-identical to the Cython kernel.

    Raises:
        ValueError: if the inputs are not ``[N, 4]`` / ``[K, 4]``.
    """
    b = np.ascontiguousarray(boxes, dtype=np.float64)
    q = np.ascontiguousarray(query_boxes, dtype=np.float64)
    if b.ndim != 2 or b.shape[1] != 4 or q.ndim != 2 or q.shape[1] != 4:
        raise ValueError(
            f"boxes must be [N, 4] and query_boxes [K, 4], got {b.shape} and {q.shape}"
        )
    overlaps = np.zeros((b.shape[0], q.shape[0]), dtype=np.float64)
    if b.shape[0] == 0 or q.shape[0] == 0:
        return overlaps
    # Same operations, same order as the Cython kernel.
    iw = np.minimum(b[:, None, 2], q[None, :, 2]) - np.maximum(b[:, None, 0], q[None, :, 0]) + 1.0
    ih = np.minimum(b[:, None, 3], q[None, :, 3]) - np.maximum(b[:, None, 1], q[None, :, 1]) + 1.0
    valid = (iw > 0) & (ih > 0)
    inter = iw * ih
    b_area = (b[:, 2] - b[:, 0] + 1.0) * (b[:, 3] - b[:, 1] + 1.0)
    q_area = (q[:, 2] - q[:, 0] + 1.0) * (q[:, 3] - q[:, 1] + 1.0)
    ua = b_area[:, None] + q_area[None, :] - inter
    np.divide(inter, ua, out=overlaps, where=valid)
    return overlaps


@dataclass(frozen=True)
class Backend:
    """An IoU kernel and where it came from.

    Attributes:
        name: ``"cython"`` or ``"numpy"``.
        bbox_overlaps: callable ``(boxes [N, 4], query_boxes [K, 4]) -> [N, K]``.
        detail: human-readable origin (extension path, or why the fallback was used).
    """

    name: str
    bbox_overlaps: Callable[[np.ndarray, np.ndarray], np.ndarray]
    detail: str

    def describe(self) -> str:
        """One-line description, e.g. ``"cython (/path/_box_overlaps.so)"``."""
        return f"{self.name} ({self.detail})"


def _import_cython():
    """Import the compiled kernel module; raise ImportError with a build hint when absent."""
    try:
        return importlib.import_module("eval_tools._box_overlaps")
    except ImportError as exc:
        raise ImportError(f"the Cython extension eval_tools._box_overlaps is not built ({exc}); "
                          f"{_BUILD_HINT}") from exc


def cython_available() -> bool:
    """Whether the compiled ``eval_tools._box_overlaps`` extension can be imported."""
    try:
        _import_cython()
    except ImportError:
        return False
    return True


def get_backend(name: str = "auto") -> Backend:
    """Pick the IoU kernel.

    Args:
        name: ``"auto"`` (Cython when built, else numpy), ``"cython"`` (error when not built) or
            ``"numpy"``.

    Returns:
        The selected :class:`Backend`; ``Backend.detail`` says which one was used and why.

    Raises:
        ValueError: for an unknown backend name.
        ImportError: if ``"cython"`` was requested and the extension is not built.
    """
    if name not in BACKENDS:
        raise ValueError(f"unknown backend {name!r}; choose one of {', '.join(BACKENDS)}")
    if name in ("auto", "cython"):
        try:
            module = _import_cython()
        except ImportError:
            if name == "cython":
                raise
            return Backend("numpy", bbox_overlaps_numpy,
                           f"fallback: Cython extension not built; {_BUILD_HINT}")
        return Backend("cython", module.bbox_overlaps, f"{module.__file__}")
    return Backend("numpy", bbox_overlaps_numpy, "pure numpy, requested")


def bbox_overlaps(boxes, query_boxes, backend: str | Backend = "auto") -> np.ndarray:
    """IoU matrix with the chosen backend (see :func:`get_backend`).

    Args:
        boxes: array-like ``[N, 4]`` of ``x1, y1, x2, y2``.
        query_boxes: array-like ``[K, 4]`` of ``x1, y1, x2, y2``.
        backend: backend name or a :class:`Backend` from :func:`get_backend`.

    Returns:
        ``np.ndarray`` ``[N, K]`` float64.
    """
    if not isinstance(backend, Backend):
        backend = get_backend(backend)
    return backend.bbox_overlaps(boxes, query_boxes)
