"""Export a face detector for deployment.

    python tools/export_model.py -c <yml> -o weights=<path> [--output_dir output_inference]
        [--format paddle|onnx] [--fixed_shape 640] [--allow_random_weights [--seed 0]]

weights: <name>.pdparams, <name>.safetensors (no pickle; tools/convert_weights.py), <name> (.pdparams, then
.safetensors) or a .pdparams URL. They must fit the config's model exactly (a mismatch lists the keys).

Writes <output_dir>/<config name>/ with model.json (or model.pdmodel), model.pdiparams,
infer_cfg.yml and, with --format onnx, model.onnx. Run it with deploy/python/infer.py.
"""
import argparse
import sys

from ppdet_face.engine import ConfigError, load_config
from ppdet_face.utils.logging import get_logger

logger = get_logger("export")


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("-c", "--config", required=True, help="config YAML")
    parser.add_argument("-o", "--opt", nargs="*", default=[], help="overrides, key=value (e.g. weights=path)")
    parser.add_argument("--output_dir", default="output_inference", help="parent directory of the export")
    parser.add_argument("--format", default="paddle", choices=["paddle", "onnx"],
                        help="paddle: Paddle Inference program; onnx: also model.onnx")
    parser.add_argument("--fixed_shape", type=int, default=None, metavar="S",
                        help="fixed S x S network input (images are resized to it); default: dynamic H x W")
    parser.add_argument("--allow_random_weights", action="store_true",
                        help="export with seeded random (calibrated) weights when no weights are given")
    parser.add_argument("--seed", type=int, default=0, help="seed of --allow_random_weights")
    return parser.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    try:
        cfg = load_config(args.config, args.opt)
    except ConfigError as exc:
        sys.exit(f"error: {exc}")
    if args.fixed_shape is not None and args.fixed_shape <= 0:
        sys.exit(f"error: --fixed_shape must be positive, got {args.fixed_shape}")
    import paddle

    from ppdet_face.engine.weights import WeightsError, build_model
    from ppdet_face.export import export_model

    paddle.set_device("cpu")
    try:
        model, random_note = build_model(cfg, args.allow_random_weights, args.seed)
    except WeightsError as exc:
        sys.exit(f"error: {exc}")
    if random_note:
        logger.warning(random_note)
    try:
        save_dir = export_model(model, cfg, args.output_dir, fmt=args.format, fixed_shape=args.fixed_shape,
                                random_weights=bool(random_note))
    except (NotImplementedError, ValueError, TypeError) as exc:
        sys.exit(f"error: {exc}")
    print(save_dir)


if __name__ == "__main__":
    main()
