"""Seeded synthetic WIDER FACE predictions, for tests and benchmarks of the evaluator.

Every ground-truth face is detected with a probability that grows with its size (so easy > medium >
hard, as for a real detector), as a jittered copy of its box with a high-ish score; some detections
get a duplicate; false positives with low-ish scores fill each image up to a random count of at
most ``max_per_image`` boxes. Coordinates are rounded to 0.1 px and scores to 1e-6, so writing the
predictions with :func:`eval_tools.wider_format.write_predictions` and reading them back is lossless.
"""
from __future__ import annotations

import numpy as np

from .widerface import WiderGroundTruth


def synthetic_predictions(gt: WiderGroundTruth, seed: int = 0, max_per_image: int = 750,
                          min_fp: int = 0, jitter: float = 0.08,
                          dup_rate: float = 0.05) -> dict[str, np.ndarray]:
    """Generate predictions for every image of ``gt``.

    Args:
        gt: the ground truth to imitate.
        seed: RNG seed (results are reproducible for a given seed).
        max_per_image: cap on boxes per image (750 is the usual cap of WIDER submissions).
        min_fp: minimum number of false positives per image (when room is left).
        jitter: relative std of the box jitter.
        dup_rate: probability that a detected face gets a second, more jittered, detection.

    Returns:
        ``{"<event>/<name>": [K, 5] left top width height score}``, boxes in random order.
    """
    rng = np.random.default_rng(seed)
    out: dict[str, np.ndarray] = {}
    for im in gt.images:
        boxes = im.boxes
        n = len(boxes)
        parts = []
        if n:
            size = np.sqrt(np.maximum(boxes[:, 2], 1.0) * np.maximum(boxes[:, 3], 1.0))
            p_det = 0.05 + 0.93 * (1.0 - np.exp(-size / 12.0))
            det = boxes[rng.random(n) < p_det]
            dup = det[rng.random(len(det)) < dup_rate]
            for src, jit, (a, b) in ((det, jitter, (6.0, 2.0)), (dup, 3 * jitter, (3.0, 3.0))):
                if not len(src):
                    continue
                w, h = src[:, 2], src[:, 3]
                jb = np.stack([
                    src[:, 0] + rng.normal(0.0, jit, len(src)) * w,
                    src[:, 1] + rng.normal(0.0, jit, len(src)) * h,
                    w * np.exp(rng.normal(0.0, jit, len(src))),
                    h * np.exp(rng.normal(0.0, jit, len(src))),
                    rng.beta(a, b, len(src)),
                ], axis=1)
                parts.append(jb)
        used = sum(len(p) for p in parts)
        room = max(max_per_image - used, 0)
        n_fp = int(rng.integers(min(min_fp, room), room + 1)) if room else 0
        if n_fp:
            extent_w = max(float((boxes[:, 0] + boxes[:, 2]).max()) if n else 0.0, 1024.0)
            extent_h = max(float((boxes[:, 1] + boxes[:, 3]).max()) if n else 0.0, 768.0)
            fw = np.exp(rng.normal(np.log(20.0), 0.8, n_fp))
            fh = fw * np.exp(rng.normal(0.2, 0.15, n_fp))
            parts.append(np.stack([
                rng.uniform(0.0, extent_w, n_fp), rng.uniform(0.0, extent_h, n_fp), fw, fh,
                rng.beta(1.2, 10.0, n_fp),
            ], axis=1))
        pred = np.concatenate(parts) if parts else np.zeros((0, 5))
        if len(pred) > max_per_image:
            pred = pred[np.argsort(-pred[:, 4], kind="stable")[:max_per_image]]
        pred = pred[rng.permutation(len(pred))]
        pred[:, :4] = np.round(pred[:, :4], 1)
        pred[:, 2:4] = np.maximum(pred[:, 2:4], 1.0)
        pred[:, 4] = np.round(pred[:, 4], 6)
        out[im.key] = pred
    return out
