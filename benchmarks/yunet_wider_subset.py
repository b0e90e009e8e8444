#!/usr/bin/env python
"""End-to-end check of the WIDER FACE evaluator with a real detector: YuNet on the 9-image subset.

Runs YuNet (``benchmarks/peers.py``: ``cv2.FaceDetectorYN``, input size set per image, original
resolution, low score threshold) on the 9 real WIDER val images of the shared subset, writes the detections in
the official ``<event>/<name>.txt`` format, and scores them with ``eval_tools`` against the subset
ground truth (``wider_face_val_bbx_gt.txt`` + ``difficulty_easy_medium_hard.txt``).

Usage::

    python -m benchmarks.yunet_wider_subset [--out output/yunet_pred] [--score_threshold 0.02]
        [--json output/yunet_subset.json] [--plot output/yunet_subset_pr.png]

Shared material: ``$PPDET_FACE_SHARED`` (default ``<repo>/../shared``). Nine images with 20 / 60 /
474 kept faces are far too few for AP values comparable to the published full-val numbers; the
script checks that the pipeline works on real detections.
"""
from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

from benchmarks.harness import BenchmarkError, predict_wider
from benchmarks.peers import PeerError, YuNet
from eval_tools import SETTINGS, WiderFormatError, evaluate_widerface, load_ground_truth
from eval_tools.cli_flags import FlagParser
from ppdet_face.utils.shared import shared_dir

REPO = Path(__file__).resolve().parents[1]


def main(argv: list[str] | None = None) -> int:
    """Detect, write, evaluate; return the exit status."""
    shared = shared_dir()
    subset = shared / "data" / "wider_face_val_subset"
    p = FlagParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--subset", default=str(subset), help="WIDER val subset folder")
    p.add_argument("--model", default=str(shared / "peers" / "yunet" /
                                          "face_detection_yunet_2026may.onnx"))
    p.add_argument("--out", default=str(REPO / "output" / "yunet_pred"),
                   help="prediction folder to write")
    p.add_argument("--score_threshold", type=float, default=0.02)
    p.add_argument("--nms_threshold", type=float, default=0.3)
    p.add_argument("--top_k", type=int, default=5000)
    p.add_argument("--backend", default="auto", choices=("auto", "cython", "numpy"))
    p.add_argument("--json", default=None, help="also write the evaluation JSON here")
    p.add_argument("--plot", default=None, help="also write the PR curves PNG here")
    args = p.parse_args(argv)

    subset = Path(args.subset)
    gt_txt = subset / "wider_face_split" / "wider_face_val_bbx_gt.txt"
    if not Path(args.model).is_file():
        p.error(f"YuNet model not found: {args.model} (set PPDET_FACE_SHARED or pass --model)")
    try:
        gt = load_ground_truth(gt_txt)
    except WiderFormatError as exc:
        p.error(f"{exc} (set PPDET_FACE_SHARED or pass --subset)")

    import cv2

    try:
        detector = YuNet(path=args.model, score_threshold=args.score_threshold,
                         nms_threshold=args.nms_threshold, top_k=args.top_k)
    except PeerError as exc:
        p.error(str(exc))
    out = Path(args.out)
    print(f"YuNet {Path(args.model).name} (OpenCV {cv2.__version__}), score >= "
          f"{args.score_threshold}, NMS {args.nms_threshold}")
    images = [(im.key, subset / "WIDER_val" / "images" / im.event / f"{im.name}.jpg") for im in gt.images]
    try:
        done = predict_wider(detector.detect, images, out, warmup=False)
    except BenchmarkError as exc:
        p.error(str(exc))
    for im, (_, n) in zip(gt.images, done):
        print(f"  {im.key:<60} {len(im.boxes):>4} faces  {n:>4} detections")
    print(f"{sum(n for _, n in done)} detections on {len(gt)} images in {sum(t for t, _ in done):.2f} s "
          f"(read + detect + write), written to {out}")

    result = evaluate_widerface(out, gt, backend=args.backend)
    print(f"IoU backend: {result.backend}")
    print(result.format_table())
    if args.json:
        import json

        Path(args.json).parent.mkdir(parents=True, exist_ok=True)
        payload = result.to_dict()
        payload.update(pred_dir=str(out), gt=str(gt_txt), model=str(args.model),
                       score_threshold=args.score_threshold)
        Path(args.json).write_text(json.dumps(payload, indent=1) + "\n", encoding="utf-8")
        print(f"wrote {args.json}")
    if args.plot:
        from eval_tools.plotting import plot_pr_curves

        print(f"wrote {plot_pr_curves(result, args.plot, title='YuNet, 9-image WIDER val subset')}")
    return 0 if all(np.isfinite(result.ap[s]) for s in SETTINGS) else 1


if __name__ == "__main__":
    sys.exit(main())
