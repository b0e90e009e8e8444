"""Full official WIDER val ground truth (3226 images) with seeded synthetic predictions."""
from __future__ import annotations

import time

import numpy as np
import pytest

from devtools.synthetic_predictions import synthetic_predictions
from eval_tools import SETTINGS, evaluate_widerface, load_ground_truth, write_predictions


@pytest.fixture(scope="module")
def full_gt(wider_mat_dir):
    return load_ground_truth(wider_mat_dir)


def test_full_val_cython_equals_numpy(full_gt, cython_backend):
    preds = synthetic_predictions(full_gt, seed=2024)
    n_boxes = sum(len(p) for p in preds.values())
    assert max(len(p) for p in preds.values()) == 750
    times, results = {}, {}
    for name, backend in (("cython", cython_backend), ("numpy", "numpy")):
        t0 = time.perf_counter()
        results[name] = evaluate_widerface(preds, full_gt, backend=backend)
        times[name] = time.perf_counter() - t0
    print(f"\nfull WIDER val, {len(full_gt)} images, {n_boxes} synthetic boxes: "
          + ", ".join(f"{k} {v:.2f} s" for k, v in times.items())
          + " | AP " + " / ".join(f"{results['cython'].ap[s]:.4f}" for s in SETTINGS))
    for s in SETTINGS:
        assert results["cython"].ap[s] == results["numpy"].ap[s]  # exactly equal
        assert np.array_equal(results["cython"].counts[s], results["numpy"].counts[s])
        assert 0.3 < results["cython"].ap[s] < 1.0
    # More small faces are missed by the synthetic detector -> hard recall is lowest.
    assert results["cython"].pr_curve["hard"][-1, 1] < results["cython"].pr_curve["easy"][-1, 1]
    # Speed is measured by benchmarks/eval_speed.py, not asserted here (the times above are printed only).


def test_full_val_file_roundtrip_subset(full_gt, tmp_path):
    # Writing predictions in the official format and reading them back gives the same AP.
    preds = synthetic_predictions(full_gt, seed=7, max_per_image=60)
    keep = {im.key for im in full_gt.images[::10]}
    preds = {k: v for k, v in preds.items() if k in keep}
    write_predictions(tmp_path, preds)
    with pytest.warns(UserWarning, match=f"{len(full_gt) - len(keep)} of {len(full_gt)}"):
        from_files = evaluate_widerface(tmp_path, full_gt, backend="numpy")
    in_memory = evaluate_widerface(preds, full_gt, backend="numpy")
    for s in SETTINGS:
        assert from_files.ap[s] == in_memory.ap[s]
    assert from_files.num_predictions == sum(len(p) for p in preds.values())
