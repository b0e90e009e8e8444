"""Export the bundled real-face models into the deploy package, where ``ppdet_face_deploy.FaceDetector`` and
``ppdet-face detect`` find them by name without an export step:

    python tools/export_bundled.py [--models blazeface_fpn_ssh_1000e,...] [--output_dir deploy/python/models]

Each ``<output_dir>/<name>/`` gets model.json + model.pdiparams (Paddle Inference), model.onnx (ONNX Runtime,
OpenVINO), infer_cfg.yml (dynamic input size: images at their own size) and model_card.md (a copy of
``pretrained/<name>.md``). ``make bundled-models`` runs it; tests/pretrained/test_bundled_exports.py checks that
the shipped folders equal a fresh export of the weights in pretrained/.
"""
import argparse
import sys


def parse_args(argv=None):
    from ppdet_face.pretrained import BUNDLED_MODELS

    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--models", default=",".join(BUNDLED_MODELS),
                        help="comma-separated bundled model names (default: all)")
    parser.add_argument("--output_dir", default="deploy/python/models", help="parent folder of the exports")
    return parser.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    from paddle.utils import unique_name

    from ppdet_face.engine import ConfigError, load_config
    from ppdet_face.engine.weights import WeightsError, build_model
    from ppdet_face.export import export_model
    from ppdet_face.pretrained import bundled_model

    try:
        models = [bundled_model(name) for name in args.models.split(",")]
        for bundled in models:
            cfg = load_config(str(bundled.config), {"weights": str(bundled.weights)})
            # layer and tensor names restart for each model: the files depend on the model only, not on what
            # this process built before (the shipped folders are compared byte for byte with a fresh export)
            with unique_name.guard():
                model, _ = build_model(cfg)
                save_dir = export_model(model, cfg, args.output_dir, fmt="onnx", name=bundled.name,
                                        card=str(bundled.card))
            print(f"{bundled.name}: {save_dir}")
    except (ConfigError, WeightsError, ValueError) as exc:
        sys.exit(f"error: {exc}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
