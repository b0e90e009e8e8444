"""Predict the FDDB images with a face detector and write an FDDB detection file.

    python tools/predict_fddb.py -c <yml> -o weights=<w> --image_dir <originalPics> --folds_dir <FDDB-folds>
        [--folds 1-10] [--multi_scale] --output dets.txt [--allow_random_weights [--seed 0]]

Predicts <image_dir>/<name>.jpg for every name of FDDB-fold-NN.txt (single-scale at the original size, long
side capped by eval_max_side, or --multi_scale: the config's multi-scale recipe) and writes, in fold order, the name,
the count and `x y w h score` lines. An unusable image gets a warning and no detections (exit status 1).
Score it: python eval_tools/evaluate_fddb.py -a <FDDB-folds> -d dets.txt -r <prefix> --image_dir <originalPics>
"""
import argparse
import os
import sys
import time

import numpy as np


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0], epilog=__doc__.split("\n", 2)[2],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("-c", "--config", required=True, help="config YAML")
    parser.add_argument("-o", "--opt", nargs="*", default=[], help="overrides, key=value (e.g. weights=path)")
    parser.add_argument("--image_dir", required=True, help="FDDB image root (<name>.jpg), e.g. originalPics")
    parser.add_argument("--folds_dir", required=True, help="FDDB-folds folder (FDDB-fold-NN.txt)")
    parser.add_argument("--folds", default="1-10", help="folds to predict, e.g. 1-10 or 3 (default: 1-10)")
    parser.add_argument("--multi_scale", action="store_true", help="the published multi-scale recipe")
    parser.add_argument("--output", required=True, help="FDDB detection file to write")
    parser.add_argument("--allow_random_weights", action="store_true",
                        help="seeded random weights when no weights are found (tests only: meaningless boxes)")
    parser.add_argument("--seed", type=int, default=0, help="seed of --allow_random_weights")
    parser.add_argument("--no_progress", action="store_true", help="no progress bar")
    return parser.parse_args(argv)


def _fail(message):
    sys.exit(f"error: {message}")  # one line, exit status 1


def main(argv=None):
    args = parse_args(argv)
    from tqdm import tqdm

    from eval_tools.boxes import corners_to_wider
    from eval_tools.fddb import FDDBFormatError, read_fold_images, write_fddb_detections
    from ppdet_face.data.image_io import BadImageError, read_image_rgb
    from ppdet_face.engine import ConfigError, load_config, setup_device
    from ppdet_face.engine.weights import build_model
    from ppdet_face.evaluation import WiderFacePredictor

    try:
        cfg = load_config(args.config, args.opt)
        setup_device(cfg)
        names = read_fold_images(args.folds_dir, args.folds)
    except (ConfigError, FDDBFormatError, ValueError) as exc:
        _fail(exc)
    paths = [os.path.join(args.image_dir, f"{name}.jpg") for name in names]
    if not any(os.path.isfile(p) for p in paths):
        _fail(f"none of the {len(paths)} fold images exists under {args.image_dir} (first: {paths[0]})")
    try:
        model, random_note = build_model(cfg, args.allow_random_weights, args.seed)
        if random_note:
            print(f"warning: {random_note}", file=sys.stderr)
        predictor = WiderFacePredictor.from_config(cfg, model)
    except (ValueError, RuntimeError) as exc:  # WeightsError is a ValueError
        _fail(exc)
    if len(paths) >= 10:  # sizes the allocator once (see WiderFacePredictor.warmup)
        predictor.warmup(args.multi_scale)
    dets, failed, t0 = {}, 0, time.perf_counter()
    for name, path in zip(names, tqdm(paths, unit="img", disable=args.no_progress, dynamic_ncols=True)):
        try:
            rgb = read_image_rgb(path)
        except BadImageError as exc:
            print(f"warning: {exc}; counted as no detections", file=sys.stderr)
            dets[name], failed = np.zeros((0, 5)), failed + 1
            continue
        dets[name] = corners_to_wider(predictor.predict(rgb, multi_scale=args.multi_scale))
    seconds = time.perf_counter() - t0
    try:
        count = write_fddb_detections(args.output, dets)
    except OSError as exc:
        _fail(f"cannot write {args.output}: {exc}")
    mode = "multi-scale" if args.multi_scale else "single-scale"
    print(f"wrote {count} detections on {len(names)} images to {args.output} ({mode}, "
          f"{seconds / len(names):.3f} s/image)")
    if failed:
        print(f"error: {failed} of {len(names)} images could not be used (no detections in the file)", file=sys.stderr)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
