"""Post-training int8 quantization of an exported folder (OpenVINO NNCF, calibrated on real images).

    python tools/quantize.py --model_dir output_inference/<config name> [--calib_dir <images>]
        [--num_images 300] [--max_side 2048] [--seed 0]

Needs model.onnx in the folder (tools/export_model.py --format onnx). Writes model_int8.xml/.bin there
and adds a ``quantized`` entry to infer_cfg.yml (the other keys are kept as they are). Run the result with
``deploy/python/infer.py --backend openvino --precision int8``. Calibration images are preprocessed by the
folder's own Preprocess (deploy/python/preprocess.py's Pipeline), at their own size like the predictor
(longer side capped by --max_side). Default --calib_dir: $PPDET_FACE_SHARED (default ../shared)
/data/wider_face_real/WIDER_train/images.
"""
import argparse
import importlib.util
import os
import pathlib
import sys

REPO = pathlib.Path(__file__).resolve().parents[1]


def default_calib_dir():
    """``<PPDET_FACE_SHARED or ../shared>/data/wider_face_real/WIDER_train/images``."""
    shared = os.environ.get("PPDET_FACE_SHARED", str(REPO.parent / "shared"))
    return os.path.join(shared, "data", "wider_face_real", "WIDER_train", "images")


def load_deploy_preprocess():
    """deploy/python/preprocess.py as a module, by path (the predictor's own preprocessing, not a copy)."""
    spec = importlib.util.spec_from_file_location("ppdet_face_deploy_preprocess",
                                                  REPO / "deploy" / "python" / "preprocess.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter,
                                     epilog=__doc__.split("\n", 2)[2])
    parser.add_argument("--model_dir", required=True, help="export folder with model.onnx and infer_cfg.yml")
    parser.add_argument("--calib_dir", default=None, help="calibration images, searched recursively "
                        "(default: the shared WIDER_train/images)")
    parser.add_argument("--num_images", type=int, default=300, help="calibration images (a seeded sample)")
    parser.add_argument("--max_side", type=int, default=load_deploy_preprocess().DEFAULT_MAX_SIDE,
                        help="dynamic-shape exports: longer image side cap, as deploy's --max_side (0: none)")
    parser.add_argument("--seed", type=int, default=0, help="seed of the image sample")
    return parser.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    calib_dir = args.calib_dir or default_calib_dir()
    if not os.path.isdir(calib_dir):
        sys.exit(f"error: calibration folder {calib_dir} not found (pass --calib_dir or set PPDET_FACE_SHARED)")
    cfg_path = os.path.join(args.model_dir, "infer_cfg.yml")
    if not os.path.isfile(cfg_path):
        sys.exit(f"error: {cfg_path} not found: --model_dir must be a folder written by tools/export_model.py")
    import yaml

    from ppdet_face.export.quantize import calibration_files, quantize_export

    preprocess = load_deploy_preprocess()
    with open(cfg_path, "r", encoding="utf-8") as f:
        cfg = yaml.safe_load(f) or {}
    try:
        pipeline = preprocess.Pipeline(cfg.get("Preprocess", []), max_side=args.max_side)
        files = calibration_files(calib_dir, args.num_images, args.seed)
        entry = quantize_export(args.model_dir, files, pipeline,
                                {"dir": os.path.abspath(calib_dir), "seed": args.seed, "max_side": args.max_side})
    except (ValueError, preprocess.DeployError) as exc:
        sys.exit(f"error: {exc}")
    print(f"wrote {os.path.join(args.model_dir, entry['file'])} ({entry['calibration']['num_images']} calibration "
          f"images, {entry['calibration']['seconds']} s); infer_cfg.yml: quantized")
    return 0


if __name__ == "__main__":
    sys.exit(main())
