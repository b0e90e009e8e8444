#!/usr/bin/env python
"""Multi-scale WIDER FACE prediction: seconds per image, ours vs PaddleDetection's stock recipe.

Both paths run the same model with the same weights in the same process, image by image and
interleaved (stock first on even images, ours first on odd ones), so a change of machine load
affects both alike. Per image:

* **stock**: ``ppdet.metrics.widerface_utils.face_eval_run(model, ..., multi_scale=True)`` on a
  one-image ground-truth list: read, ``get_shrink``, ``detect_face`` + ``flip_test`` +
  ``multi_scale_test`` + ``multi_scale_test_pyramid``, ``bbox_vote``, write the ``.txt``.
* **ours**: :func:`ppdet_face.evaluation.predict_widerface` with ``multi_scale=True``:
  read, the same recipe, write the ``.txt`` (official format through eval_tools).

Fixes applied to the stock path, inside this script only (site-packages are untouched):

* its ``face_img_process`` subtracts ``mean=[104, 117, 123]`` (BGR order) from the RGB image in
  float32; it is replaced by the config's ``EvalReader`` ``NormalizeImage`` (``[123, 117, 104]`` on
  RGB, as in training), so both paths feed the network identical inputs;
* ``np.row_stack`` is supplied (as ``np.vstack``) if this NumPy lacks it;
* its per-image log lines are silenced.

Then the table: per image the stock and our seconds, their ratio, the network passes, and whether
the boxes are identical (else the share of stock boxes that ours reproduces at IoU >= 0.99); and
the easy / medium / hard AP of both on the subset's ground truth (eval_tools, official protocol;
both converted with the same ``width = x2 - x1`` convention) and the difference.

Weights: ``--weights`` (``.pdparams`` or ``.safetensors``, read by the safe loader of
``ppdet_face.engine.weights``); without it seeded, calibrated random weights (seed 0): timings and the box
comparison are real, the AP is meaningless (about 0).
With the default ``auto`` backend ours runs the network through Paddle Inference + oneDNN, whose
rounding differs from the dygraph kernels (~1e-6 relative); with random weights many scores nearly
tie, so some boxes come out of NMS differently. ``--backend dygraph`` runs our recipe on the same
kernels as the stock path: the boxes are then bit-identical (and the speed-up smaller).

Usage::

    python -m benchmarks.ms_eval_speed [--weights W] [--num_images N] [--backend auto|inference|dygraph]
        [--threads T] [--data ../shared/data/wider_face_val_subset]
        [-c configs/face_detection/blazeface_fpn_ssh_1000e.yml]

The data defaults to ``$PPDET_FACE_SHARED/data/wider_face_val_subset`` (``PPDET_FACE_SHARED``
defaults to ``<repo>/../shared``).
"""
from __future__ import annotations

import logging
import os
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from eval_tools.cli_flags import FlagParser

REPO = Path(__file__).resolve().parents[1]


def default_data() -> Path:
    from ppdet_face.utils.shared import shared_dir

    return shared_dir() / "data" / "wider_face_val_subset"


def _patch_stock(wu, mean, std, is_scale):
    """The minimal, local fixes of the stock module (see the module doc)."""
    from ppdet_face.evaluation import normalize_image

    wu.face_img_process = lambda image, *a, **k: normalize_image(image, mean, std, is_scale)[np.newaxis]
    if not hasattr(np, "row_stack"):
        class _NumpyWithRowStack:
            row_stack = staticmethod(np.vstack)

            def __getattr__(self, name):
                return getattr(np, name)

        wu.np = _NumpyWithRowStack()
    wu.logger.setLevel(logging.WARNING)

    captured, passes = {}, [0]
    save = wu.save_widerface_bboxes
    detect = wu.detect_face

    def save_and_capture(image_path, bboxes_scores, output_dir):
        p = Path(image_path)
        captured[f"{p.parent.name}/{p.stem}"] = np.array(bboxes_scores, dtype=np.float64).reshape(-1, 5)
        return save(image_path, bboxes_scores, output_dir)

    def counting_detect(*args, **kwargs):
        passes[0] += 1
        return detect(*args, **kwargs)

    wu.save_widerface_bboxes = save_and_capture
    wu.detect_face = counting_detect
    return captured, passes


def _corners(ltwh):
    out = np.asarray(ltwh, dtype=np.float64).copy()
    out[:, 2:4] += out[:, 0:2]
    return out


def _match_share(ref, got, iou=0.99):
    """Share of ``ref`` boxes (x1 y1 x2 y2 score) with a ``got`` box at IoU >= ``iou``."""
    from eval_tools import bbox_overlaps

    if len(ref) == 0:
        return 1.0
    if len(got) == 0:
        return 0.0
    return float((bbox_overlaps(ref[:, :4], got[:, :4]).max(axis=1) >= iou).mean())


def main(argv: list[str] | None = None) -> int:
    p = FlagParser(description=__doc__.split("\n\n")[0])
    p.add_argument("-c", "--config", default=str(REPO / "configs/face_detection/blazeface_fpn_ssh_1000e.yml"))
    p.add_argument("--weights", default=None, help=".pdparams / .safetensors (default: seeded random weights)")
    p.add_argument("--data", default=str(default_data()), help="WIDER-layout folder with ground truth")
    p.add_argument("--num_images", type=int, default=0, help="first N images of the ground truth (0: all)")
    p.add_argument("--backend", default="auto", choices=["auto", "inference", "dygraph"])
    p.add_argument("--threads", type=int, default=0,
                   help="CPU threads of our inference backend (default: config cpu_threads, else all cores)")
    args = p.parse_args(argv)

    data = Path(args.data)
    gt_txt = data / "wider_face_split" / "wider_face_val_bbx_gt.txt"
    if not gt_txt.is_file():
        p.error(f"{gt_txt} not found (set PPDET_FACE_SHARED or pass --data)")

    import cv2
    import paddle
    from ppdet.metrics import widerface_utils as wu

    from eval_tools import SETTINGS, evaluate_widerface, load_ground_truth
    from eval_tools.boxes import corners_to_wider
    from eval_tools.wider_format import write_gt_txt
    from ppdet_face import config_keys
    from ppdet_face.data.preprocess import normalization
    from ppdet_face.engine import load_config, setup_device
    from ppdet_face.evaluation import WiderFacePredictor, list_wider_images, predict_widerface

    cfg = load_config(args.config)
    setup_device(cfg)
    images, _ = list_wider_images(str(data), "WIDER_val/images", "wider_face_split/wider_face_val_bbx_gt.txt")
    if args.num_images > 0:
        images = images[:args.num_images]
    gt = load_ground_truth(gt_txt)
    keys = {im.key for im in images}
    gt.images = [g for g in gt.images if g.key in keys]

    from ppdet_face.engine.weights import build_model

    cfg["weights"] = args.weights or None  # the safe loader: no pickle is unpickled beyond plain arrays
    model, random_note = build_model(cfg, allow_random_weights=not args.weights)
    weights_note = args.weights if random_note is None else \
        "seeded random weights (seed 0): AP is meaningless, timings and box agreement are real"
    mean, std, is_scale = normalization(cfg, "EvalReader")
    captured, stock_passes = _patch_stock(wu, mean, std, is_scale)

    try:
        cores = len(os.sched_getaffinity(0))
    except AttributeError:
        cores = os.cpu_count()
    print(f"model: {cfg.architecture} from {Path(args.config).name}; weights: {weights_note}")
    print(f"data: {data} ({len(images)} images); {cores} CPU cores; "
          f"Paddle {paddle.__version__}, NumPy {np.__version__}, load average {os.getloadavg()[0]:.1f}")

    t0 = time.perf_counter()
    threads = args.threads or config_keys.get(cfg, "cpu_threads") or cores
    predictor = WiderFacePredictor(model, mean, std, is_scale, backend=args.backend, num_threads=threads)
    setup = time.perf_counter() - t0
    warm = predictor.warmup(multi_scale=True)
    stock_threads = paddle.get_flags(["FLAGS_paddle_num_threads"])["FLAGS_paddle_num_threads"]
    print(f"stock: dygraph, {stock_threads} math thread(s) (FLAGS_paddle_num_threads; "
          f"OMP_NUM_THREADS={os.environ.get('OMP_NUM_THREADS', 'unset')})")
    print(f"ours: backend {predictor.backend}"
          + (f", {threads} thread(s)" if predictor.backend == "inference" else "")
          + f"; one-time setup {setup:.1f} s + warm-up {warm:.1f} s (not counted below)")
    # the stock path gets a small warm-up pass too (kernel initialisation)
    wu.detect_face(model, np.zeros((64, 64, 3), np.uint8), 1)

    rows, ours_preds = [], {}
    with tempfile.TemporaryDirectory(prefix="ms_eval_speed_") as tmp:
        tmp = Path(tmp)
        image_dir = str(data / "WIDER_val" / "images")
        for i, item in enumerate(images):
            one_gt = tmp / f"gt_{i}.txt"
            rel = os.path.relpath(item.path, image_dir).replace(os.sep, "/")
            # stock face_eval_run only lists the images: one entry, no placeholder line (its reader
            # would take that line for the next image)
            write_gt_txt(one_gt, [(rel, np.zeros((0, 4)))], zero_placeholder=False)

            def run_stock():
                stock_passes[0] = 0
                t = time.perf_counter()
                wu.face_eval_run(model, image_dir, str(one_gt), pred_dir=str(tmp / "stock"), multi_scale=True)
                return time.perf_counter() - t, stock_passes[0]

            def run_ours():
                run = predict_widerface(predictor, [item], str(tmp / "ours"), multi_scale=True, progress=False,
                                        warmup=False)
                ours_preds.update(run.predictions)
                return run.seconds[0], run.passes

            if i % 2 == 0:
                (t_stock, n_stock), (t_ours, n_ours) = run_stock(), run_ours()
            else:
                (t_ours, n_ours), (t_stock, n_stock) = run_ours(), run_stock()
            ref = corners_to_wider(captured[item.key])  # same conversion as ours: float32 l, t, w, h, score
            got = ours_preds[item.key]
            same = ref.shape == got.shape and np.array_equal(ref, got)
            agree = "identical" if same else f"{100 * _match_share(_corners(ref), _corners(got)):.1f}% matched"
            h, w = cv2.imread(item.path).shape[:2]
            rows.append((item.key.split("/")[1], f"{w}x{h}", t_stock, t_ours, n_stock, n_ours, len(ref), len(got),
                         agree))
            print(f"  [{i + 1}/{len(images)}] {item.key}: stock {t_stock:.2f} s, ours {t_ours:.2f} s", flush=True)

    stock_preds = {k: corners_to_wider(v) for k, v in captured.items()}
    ap_stock = evaluate_widerface(stock_preds, gt)
    ap_ours = evaluate_widerface(ours_preds, gt)

    name_w = max(len(r[0]) for r in rows)
    header = (f"{'image':<{name_w}} {'size':>9} {'stock s':>8} {'ours s':>7} {'ratio':>6} "
              f"{'passes':>7} {'boxes':>9}  agreement")
    print()
    print(header)
    print("-" * len(header))
    for name, size, ts, to, ns, no, bs, bo, agree in rows:
        print(f"{name:<{name_w}} {size:>9} {ts:>8.2f} {to:>7.2f} {ts / to:>5.1f}x "
              f"{ns:>3}/{no:<3} {bs:>4}/{bo:<4}  {agree}")
    ts = float(np.mean([r[2] for r in rows]))
    to = float(np.mean([r[3] for r in rows]))
    print("-" * len(header))
    print(f"{'mean s/image':<{name_w}} {'':>9} {ts:>8.2f} {to:>7.2f} {ts / to:>5.1f}x   (stock / ours; passes and "
          f"boxes: stock/ours)")
    print()
    print(f"{'AP':<8}" + "".join(f"{s.capitalize():>9}" for s in SETTINGS))
    print(f"{'stock':<8}" + "".join(f"{ap_stock.ap[s]:>9.4f}" for s in SETTINGS))
    print(f"{'ours':<8}" + "".join(f"{ap_ours.ap[s]:>9.4f}" for s in SETTINGS))
    print(f"{'diff':<8}" + "".join(f"{ap_ours.ap[s] - ap_stock.ap[s]:>+9.4f}" for s in SETTINGS))
    print(f"({ap_ours.count_face['easy']}/{ap_ours.count_face['medium']}/{ap_ours.count_face['hard']} "
          f"easy/medium/hard faces{'; random weights: AP is meaningless' if not args.weights else ''})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
