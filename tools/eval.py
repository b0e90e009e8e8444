"""Evaluate a face detector on WIDER FACE val: python tools/eval.py -c <yml> -o weights=<w> [multi_scale_eval=True]

Writes the official prediction folder (``<pred_dir>/<event>/<name>.txt``) for every image of the
config's ``EvalDataset`` (``dataset_dir`` / ``image_dir``, images listed by ``anno_path``) and, when
ground truth is available, prints the easy / medium / hard AP table of the official protocol
(``eval_tools``).

Config keys (all overridable with ``-o key=value``):
  weights            model weights: ``.pdparams`` or ``.safetensors`` (no pickle, tools/convert_weights.py),
                     with or without the suffix, or a ``.pdparams`` URL; they must fit the model exactly
  multi_scale_eval   False (default): one pass per image at its original size;
                     True: the published multi-scale recipe (flip, shrink/enlarge, pyramid, box voting)
  multi_scale_pyramid  with multi_scale_eval: shorter sides of SSH's test pyramid instead (the SSH configs
                     set [500, 800, 1200, 1600]); null: the published recipe
  eval_max_side      single-scale cap on the long side in pixels (default 2048, 0 = none)
  eval_backend       auto (default) | inference (Paddle Inference + oneDNN) | dygraph
  cpu_threads        CPU threads (0 = all available cores)

Unusable images (missing, empty, truncated, not an image, < 8 px, > 100 Mpx) get one ``warning:`` line
each and an empty prediction file (no detections); the run continues, ends with an ``error:`` line
counting them and exits with status 1. Grayscale, RGBA and 16-bit images are converted to 8-bit RGB.

Ground truth: ``--gt`` takes the official ``.mat`` folder or a ``wider_face_val_bbx_gt.txt``; by
default the ``anno_path`` of ``EvalDataset`` with ``difficulty_easy_medium_hard.txt`` beside it
(``--difficulty`` to point elsewhere). Without ground truth only the predictions are written.

Examples::

    python tools/eval.py -c configs/face_detection/blazeface_fpn_ssh_1000e.yml -o weights=output/x/model_final
    python tools/eval.py -c ... -o weights=... multi_scale_eval=True --gt ../shared/data/wider_face_eval_gt
"""
import argparse
import os
import sys
import time
import warnings


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter,
                                     epilog=__doc__.split("\n", 2)[2])
    parser.add_argument("-c", "--config", required=True, help="config YAML")
    parser.add_argument("-o", "--opt", nargs="*", default=[], help="overrides, key=value (dots for nesting)")
    parser.add_argument("--pred_dir", default="output/pred", help="prediction folder (default: output/pred)")
    parser.add_argument("--dataset_dir", default=None, help="WIDER root (default: EvalDataset.dataset_dir)")
    parser.add_argument("--gt", default=None,
                        help="ground truth: official .mat folder or *_bbx_gt.txt (default: EvalDataset.anno_path)")
    parser.add_argument("--difficulty", default=None,
                        help="difficulty file for a .txt ground truth (default: beside it)")
    parser.add_argument("--no_progress", action="store_true", help="no progress bar")
    parser.add_argument("--json", default=None, help="also write the AP result (eval_tools JSON) here")
    return parser.parse_args(argv)


def _fail(message):
    sys.exit(f"error: {message}")


def _dataset_paths(cfg, dataset_dir):
    dataset = cfg.get("EvalDataset")
    if dataset is None:
        _fail("the config has no EvalDataset")
    get = dataset.get if isinstance(dataset, dict) else (lambda k, d=None: getattr(dataset, k, d))
    root = dataset_dir or get("dataset_dir")
    image_dir = get("image_dir") or "WIDER_val/images"
    anno_path = get("anno_path") or "wider_face_split/wider_face_val_bbx_gt.txt"
    if not root:
        _fail("EvalDataset has no dataset_dir (pass --dataset_dir)")
    return root, image_dir, anno_path


def _build_predictor(cfg, predictor_cls):
    """The model with its weights, wrapped in the WIDER predictor; any failure is one error line."""
    from ppdet_face.engine.weights import WeightsError, build_model, resolve_weights

    if not cfg.get("weights"):
        _fail("no weights given (-o weights=<path to .pdparams or .safetensors>)")
    try:
        resolve_weights(cfg.get("weights"))  # a missing file fails before the model is built
        model, _ = build_model(cfg)
    except WeightsError as exc:
        _fail(exc)
    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always", RuntimeWarning)
            predictor = predictor_cls.from_config(cfg, model)
        for w in caught:
            print(f"warning: {w.message}", file=sys.stderr)
    except (ValueError, RuntimeError) as exc:
        _fail(exc)
    return predictor


def main(argv=None):
    args = parse_args(argv)
    from ppdet_face import config_keys
    from ppdet_face.engine import ConfigError, load_config, setup_device
    from ppdet_face.evaluation import WiderFacePredictor, list_wider_images, predict_widerface

    try:
        cfg = load_config(args.config, args.opt)
        setup_device(cfg)
        multi_scale = config_keys.get(cfg, "multi_scale_eval")
    except (ConfigError, ValueError) as exc:
        _fail(exc)
    root, image_dir, anno_path = _dataset_paths(cfg, args.dataset_dir)
    try:
        images, anno_file = list_wider_images(root, image_dir, anno_path)
    except (OSError, ValueError) as exc:
        _fail(exc)
    gt = args.gt or anno_file
    if args.gt and not os.path.exists(args.gt):
        _fail(f"ground truth not found: {args.gt}")
    if args.difficulty and not os.path.isfile(args.difficulty):
        _fail(f"difficulty file not found: {args.difficulty}")
    predictor = _build_predictor(cfg, WiderFacePredictor)

    mode = "multi-scale" if multi_scale else "single-scale"
    if multi_scale and predictor.pyramid:
        mode += f" (test pyramid, shorter sides {list(predictor.pyramid)} px)"
    cap = f", max side {predictor.max_side} px" if not multi_scale and predictor.max_side else ""
    print(f"{mode} prediction of {len(images)} images from {os.path.join(root, image_dir)} "
          f"(backend {predictor.backend}{cap}, setup {predictor.setup_seconds:.1f} s)", flush=True)
    t0 = time.perf_counter()
    try:
        run = predict_widerface(predictor, images, args.pred_dir, multi_scale=multi_scale,
                                progress=not args.no_progress)
    except (OSError, ValueError) as exc:
        _fail(exc)
    wall = time.perf_counter() - t0
    done = len(run.seconds)
    print(f"wrote {len(run.predictions)} prediction files to {args.pred_dir}: "
          f"{run.seconds_per_image:.3f} s/image ({done / max(run.total_seconds, 1e-9):.2f} images/s, "
          f"{run.passes} network passes, {wall:.1f} s in total)")
    _report_ap(args, gt, os.path.join(root, anno_path))
    if run.failed:
        print(f"error: {len(run.failed)} of {len(images)} images could not be used; they count as images without "
              "detections in the AP above (see the warnings)", file=sys.stderr)
        return 1
    return 0


def _report_ap(args, gt, default_gt):
    """Score the prediction folder and print the AP table (and --json); nothing without ground truth."""
    if not gt:
        print(f"no ground truth ({default_gt} not found; pass --gt): AP not computed")
        return
    from eval_tools import WiderFormatError, evaluate_widerface

    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            result = evaluate_widerface(args.pred_dir, gt, difficulty=args.difficulty)
        for w in caught:
            if issubclass(w.category, UserWarning):
                print(f"warning: {w.message}", file=sys.stderr)
    except WiderFormatError as exc:
        if args.gt or args.difficulty:
            _fail(exc)
        print(f"AP not computed: {exc}")
        return
    print(result.format_table())
    if args.json:
        import json

        os.makedirs(os.path.dirname(os.path.abspath(args.json)), exist_ok=True)
        with open(args.json, "w") as f:
            json.dump(result.to_dict(curves=False), f, indent=2)
        print(f"AP written to {args.json}")

if __name__ == "__main__":
    sys.exit(main())
