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
import sys


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter,
                                     epilog=__doc__.split("\n", 2)[2])
    parser.add_argument("--model_dir", required=True, help="export folder with model.onnx and infer_cfg.yml")
    parser.add_argument("--calib_dir", default=None, help="calibration images, searched recursively "
                        "(default: the shared WIDER_train/images)")
    parser.add_argument("--num_images", type=int, default=300, help="calibration images (a seeded sample)")
    parser.add_argument("--max_side", type=int, default=None,
                        help="dynamic-shape exports: longer image side cap, as deploy's --max_side (0: none; "
                        "default: deploy's)")
    parser.add_argument("--seed", type=int, default=0, help="seed of the image sample")
    return parser.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    from ppdet_face.export.quantize import quantize_folder

    try:
        entry = quantize_folder(args.model_dir, args.calib_dir, args.num_images, args.seed, args.max_side)
    except ValueError as exc:
        sys.exit(f"error: {exc}")
    print(f"wrote {args.model_dir}/{entry['file']} ({entry['calibration']['num_images']} calibration "
          f"images, {entry['calibration']['seconds']} s); infer_cfg.yml: quantized")
    return 0


if __name__ == "__main__":
    sys.exit(main())
