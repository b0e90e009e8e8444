"""IoU kernels: official boxoverlap convention, Cython == numpy bit for bit, backend loader."""
from __future__ import annotations

import numpy as np
import pytest

from eval_tools import bbox_overlaps_numpy, get_backend


def boxoverlap_scalar(a, b):
    """Literal transcription of the official boxoverlap.m for one pair (Python floats)."""
    x1, y1 = max(a[0], b[0]), max(a[1], b[1])
    x2, y2 = min(a[2], b[2]), min(a[3], b[3])
    w, h = x2 - x1 + 1.0, y2 - y1 + 1.0
    if w <= 0 or h <= 0:
        return 0.0
    inter = w * h
    aarea = (a[2] - a[0] + 1.0) * (a[3] - a[1] + 1.0)
    barea = (b[2] - b[0] + 1.0) * (b[3] - b[1] + 1.0)
    return inter / (aarea + barea - inter)


def random_boxes(rng, n, integer=False):
    xy = rng.uniform(-5, 60, (n, 2))
    wh = rng.uniform(-3, 40, (n, 2))  # includes degenerate / inverted boxes
    boxes = np.concatenate([xy, xy + wh], axis=1)
    return np.round(boxes) if integer else boxes


def test_plus_one_convention_hand_computed():
    # Two 10x10 (inclusive pixels 0..9) boxes offset by 5 px: inter 5*10, union 150 -> 1/3.
    a = np.array([[0.0, 0.0, 9.0, 9.0]])
    b = np.array([[5.0, 0.0, 14.0, 9.0]])
    assert bbox_overlaps_numpy(a, b)[0, 0] == pytest.approx(50.0 / 150.0)
    # Identical boxes: IoU exactly 1; touching only through the +1 pixel: 1 / (2*2 + 2*2 - 1).
    assert bbox_overlaps_numpy(a, a)[0, 0] == 1.0
    c = np.array([[1.0, 1.0, 2.0, 2.0]])
    d = np.array([[2.0, 2.0, 3.0, 3.0]])
    assert bbox_overlaps_numpy(c, d)[0, 0] == pytest.approx(1.0 / 7.0)
    # Disjoint by one pixel column -> iw == 0 -> 0.
    e = np.array([[3.0, 1.0, 4.0, 2.0]])
    assert bbox_overlaps_numpy(c, e)[0, 0] == 0.0


@pytest.mark.parametrize("integer", [False, True])
def test_numpy_matches_official_formula(integer):
    rng = np.random.default_rng(1)
    a, b = random_boxes(rng, 40, integer), random_boxes(rng, 30, integer)
    expected = np.array([[boxoverlap_scalar(x, y) for y in b] for x in a])
    got = bbox_overlaps_numpy(a, b)
    assert got.shape == (40, 30)
    assert np.array_equal(got, expected)
    assert (got > 0).sum() > 50  # the random boxes do overlap


@pytest.mark.parametrize("seed,integer", [(0, False), (1, True), (2, False)])
def test_cython_equals_numpy_bitwise(cython_backend, seed, integer):
    rng = np.random.default_rng(seed)
    a, b = random_boxes(rng, 500, integer), random_boxes(rng, 300, integer)
    got_c = cython_backend.bbox_overlaps(a, b)
    got_n = bbox_overlaps_numpy(a, b)
    assert got_c.dtype == got_n.dtype == np.float64
    assert np.array_equal(got_c, got_n)  # exact, not approx
    assert (got_c > 0.5).sum() > 0


def test_cython_handles_empty_and_noncontiguous(cython_backend):
    rng = np.random.default_rng(3)
    big = random_boxes(rng, 20)
    strided = np.asfortranarray(big)[::2]
    assert np.array_equal(cython_backend.bbox_overlaps(strided, big),
                          bbox_overlaps_numpy(strided, big))
    assert cython_backend.bbox_overlaps(np.zeros((0, 4)), big).shape == (0, 20)
    assert cython_backend.bbox_overlaps(big, np.zeros((0, 4))).shape == (20, 0)
    with pytest.raises(ValueError):
        cython_backend.bbox_overlaps(np.zeros((3, 5)), big)
    with pytest.raises(ValueError):
        bbox_overlaps_numpy(np.zeros((3, 5)), big)


def test_backend_loader_reports_choice(cython_backend):
    auto = get_backend("auto")
    assert auto.name == "cython"
    assert "_box_overlaps" in auto.describe()
    numpy_backend = get_backend("numpy")
    assert numpy_backend.name == "numpy" and numpy_backend.bbox_overlaps is bbox_overlaps_numpy
    with pytest.raises(ValueError):
        get_backend("cuda")


def test_auto_falls_back_to_numpy_when_not_built(monkeypatch):
    import eval_tools.box_overlaps as bo

    def fail():
        raise ImportError("not built")

    monkeypatch.setattr(bo, "_import_cython", fail)
    backend = bo.get_backend("auto")
    assert backend.name == "numpy"
    assert "not built" in backend.detail
    with pytest.raises(ImportError):
        bo.get_backend("cython")
