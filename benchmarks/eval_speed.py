#!/usr/bin/env python
"""Speed of the WIDER FACE evaluator on the full official val ground truth: numpy vs Cython IoU.

Generates seeded synthetic predictions for all 3226 val images (jittered ground-truth boxes,
duplicates and false positives, up to 750 boxes per image), writes them in the official
``<event>/<name>.txt`` format, then evaluates the folder once per backend and prints a table with
the time to read the files, the time to evaluate, and the numpy / Cython ratio.

Usage::

    python -m benchmarks.eval_speed [--gt ../shared/data/wider_face_eval_gt] [--seed 0]
        [--max_per_image 750] [--repeat 3] [--pred_dir DIR]

The ground truth defaults to ``$PPDET_FACE_SHARED/data/wider_face_eval_gt``
(``PPDET_FACE_SHARED`` defaults to ``<repo>/../shared``).
"""
from __future__ import annotations

import os
import sys
import tempfile
import time
from pathlib import Path

from devtools.synthetic_predictions import synthetic_predictions
from eval_tools import (
    SETTINGS,
    WiderFormatError,
    cython_available,
    evaluate_widerface,
    get_backend,
    load_ground_truth,
    write_predictions,
)
from eval_tools.cli_flags import FlagParser

REPO = Path(__file__).resolve().parents[1]


def default_gt() -> Path:
    """``$PPDET_FACE_SHARED/data/wider_face_eval_gt`` (default shared: ``<repo>/../shared``)."""
    from ppdet_face.utils.shared import shared_dir

    return shared_dir() / "data" / "wider_face_eval_gt"


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark; return the exit status."""
    p = FlagParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--gt", default=str(default_gt()), help="official .mat ground-truth folder")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--max_per_image", type=int, default=750)
    p.add_argument("--min_fp", type=int, default=100, help="minimum false positives per image")
    p.add_argument("--repeat", type=int, default=1, help="runs per backend (best time is kept)")
    p.add_argument("--pred_dir", default=None, help="keep the predictions here (default: temp)")
    args = p.parse_args(argv)

    try:
        t0 = time.perf_counter()
        gt = load_ground_truth(args.gt)
        t_gt = time.perf_counter() - t0
    except WiderFormatError as exc:
        p.error(f"{exc} (set PPDET_FACE_SHARED or pass --gt)")
    try:
        cores = len(os.sched_getaffinity(0))
    except AttributeError:
        cores = os.cpu_count()
    print(f"ground truth: {gt.source}: {len(gt)} images, {gt.count_faces()} faces "
          f"(loaded in {t_gt:.2f} s); {cores} CPU cores available")

    t0 = time.perf_counter()
    preds = synthetic_predictions(gt, seed=args.seed, max_per_image=args.max_per_image,
                                  min_fp=args.min_fp)
    n_boxes = sum(len(v) for v in preds.values())
    print(f"synthetic predictions (seed {args.seed}): {n_boxes} boxes, "
          f"max {max(len(v) for v in preds.values())} per image "
          f"(generated in {time.perf_counter() - t0:.2f} s)")

    with tempfile.TemporaryDirectory(prefix="wider_pred_") as tmp:
        pred_dir = Path(args.pred_dir or tmp)
        t0 = time.perf_counter()
        write_predictions(pred_dir, preds)
        print(f"wrote {len(preds)} prediction files to {pred_dir} in "
              f"{time.perf_counter() - t0:.2f} s")

        backends = ["numpy"] + (["cython"] if cython_available() else [])
        if not cython_available():
            print("cython backend: " + get_backend("auto").detail)
        rows = {}
        for name in backends:
            best = None
            for _ in range(max(args.repeat, 1)):
                res = evaluate_widerface(pred_dir, gt, backend=name)
                if best is None or res.timing["total"] < best.timing["total"]:
                    best = res
            rows[name] = best

    header = f"{'backend':<8} {'read s':>8} {'eval s':>8} {'total s':>8}   " + \
        "  ".join(f"{s.capitalize():>7}" for s in SETTINGS)
    print()
    print(header)
    print("-" * len(header))
    for name, res in rows.items():
        t = res.timing
        print(f"{name:<8} {t['read_predictions']:>8.2f} {t['evaluate']:>8.2f} {t['total']:>8.2f}   "
              + "  ".join(f"{res.ap[s]:>7.4f}" for s in SETTINGS))
    if "cython" in rows:
        n, c = rows["numpy"].timing, rows["cython"].timing
        same = all(rows["numpy"].ap[s] == rows["cython"].ap[s] for s in SETTINGS)
        print("-" * len(header))
        print(f"{'ratio':<8} {'':>8} {n['evaluate'] / c['evaluate']:>7.2f}x "
              f"{n['total'] / c['total']:>7.2f}x   numpy / cython; AP identical: "
              f"{'yes' if same else 'NO'}")
        if not same:
            return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
