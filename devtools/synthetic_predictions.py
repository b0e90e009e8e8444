"""Seeded synthetic WIDER FACE predictions, for tests and benchmarks of the evaluator.

Every ground-truth face is detected with a probability that grows with its size (so easy > medium >
hard, as for a real detector), as a jittered copy of its box with a high-ish score; some detections
get a duplicate; false positives with low-ish scores fill each image up to a random count of at
most ``max_per_image`` boxes. Coordinates are rounded to 0.1 px and scores to 1e-6, so writing the
predictions with :func:`eval_tools.wider_format.write_predictions` and reading them back is lossless.
"""
from __future__ import annotations

import numpy as np

from eval_tools.widerface import WiderGroundTruth

__all__ = ["synthetic_predictions"]


def synthetic_predictions(gt: WiderGroundTruth, seed: int = 0, max_per_image: int = 750,
                          min_fp: int = 0, jitter: float = 0.08,
                          dup_rate: float = 0.05) -> dict[str, np.ndarray]:
    """Generate predictions for every image of ``gt``.

    Args:
        gt: the ground truth to imitate.
        seed: RNG seed (results are reproducible for a given seed). Default: 0.
        max_per_image: cap on boxes per image (750 is the usual cap of WIDER submissions).
            Default: 750.
        min_fp: minimum number of false positives per image (when room is left). Default: 0.
        jitter: relative std of the box jitter. Default: 0.08.
        dup_rate: probability that a detected face gets a second, more jittered, detection.
            Default: 0.05.

    Returns:
        ``{"<event>/<name>": [K, 5] left top width height score}``, boxes in random order.
    """
    rng = np.random.default_rng(seed)
    out: dict[str, np.ndarray] = {}
    for im in gt.images:
        parts = _detections(rng, im.boxes, jitter, dup_rate)
        room = max(max_per_image - sum(len(p) for p in parts), 0)
        n_fp = int(rng.integers(min(min_fp, room), room + 1)) if room else 0
        if n_fp:
            parts.append(_false_positives(rng, im.boxes, n_fp))
        pred = np.concatenate(parts) if parts else np.zeros((0, 5))
        if len(pred) > max_per_image:
            pred = pred[np.argsort(-pred[:, 4], kind="stable")[:max_per_image]]
        pred = pred[rng.permutation(len(pred))]
        pred[:, :4] = np.round(pred[:, :4], 1)
        pred[:, 2:4] = np.maximum(pred[:, 2:4], 1.0)
        pred[:, 4] = np.round(pred[:, 4], 6)
        out[im.key] = pred
    return out


def _detections(rng: np.random.Generator, boxes: np.ndarray, jitter: float,
                dup_rate: float) -> list[np.ndarray]:
    """Jittered copies of the detected faces of one image, then of their duplicates ([K, 5] each)."""
    n = len(boxes)
    if not n:
        return []
    size = np.sqrt(np.maximum(boxes[:, 2], 1.0) * np.maximum(boxes[:, 3], 1.0))
    p_det = 0.05 + 0.93 * (1.0 - np.exp(-size / 12.0))
    det = boxes[rng.random(n) < p_det]
    dup = det[rng.random(len(det)) < dup_rate]
    parts = []
    for src, jit, (a, b) in ((det, jitter, (6.0, 2.0)), (dup, 3 * jitter, (3.0, 3.0))):
        if not len(src):
            continue
        w, h = src[:, 2], src[:, 3]
        parts.append(np.stack([
            src[:, 0] + rng.normal(0.0, jit, len(src)) * w,
            src[:, 1] + rng.normal(0.0, jit, len(src)) * h,
            w * np.exp(rng.normal(0.0, jit, len(src))),
            h * np.exp(rng.normal(0.0, jit, len(src))),
            rng.beta(a, b, len(src)),
        ], axis=1))
    return parts


def _false_positives(rng: np.random.Generator, boxes: np.ndarray, n_fp: int) -> np.ndarray:
    """``n_fp`` small low-score boxes spread over the image's extent ([n_fp, 5])."""
    n = len(boxes)
    extent_w = max(float((boxes[:, 0] + boxes[:, 2]).max()) if n else 0.0, 1024.0)
    extent_h = max(float((boxes[:, 1] + boxes[:, 3]).max()) if n else 0.0, 768.0)
    fw = np.exp(rng.normal(np.log(20.0), 0.8, n_fp))
    fh = fw * np.exp(rng.normal(0.2, 0.15, n_fp))
    return np.stack([
        rng.uniform(0.0, extent_w, n_fp), rng.uniform(0.0, extent_h, n_fp), fw, fh,
        rng.beta(1.2, 10.0, n_fp),
    ], axis=1)
