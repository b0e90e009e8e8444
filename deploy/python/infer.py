"""Face detection with an exported model folder (infer_cfg.yml + model files).

    python deploy/python/infer.py --model_dir output_inference/blazeface_fpn_ssh_1000e \\
        --image_file img.jpg | --image_dir dir | --video_file v.mp4 | --camera_id 0
        [--batch_size 1] [--threshold 0.5] [--output_dir output] [--save_images True]
        [--save_results] [--save_crops DIR] [--device CPU|GPU] [--run_mode paddle|trt_fp32|trt_fp16|trt_int8]
        [--enable_mkldnn True] [--cpu_threads 2] [--malloc_tuning auto|True|False] [--max_side 2048]
        [--trt_min_shape 1 --trt_max_shape 1280
        --trt_opt_shape 640] [--backend paddle|onnxruntime|openvino [--precision f32|bf16|int8]]
        [--run_benchmark True [--benchmark_json b.json]]

Flags follow PaddleDetection's deploy/python/infer.py. This module imports neither ppdet nor
ppdet_face: its only contract is the exported folder. It runs from the installed package
``ppdet_face_deploy`` (``pip install .`` or ``make venv``). From Python::

    from ppdet_face_deploy.infer import Detector
    det = Detector("output_inference/blazeface_fpn_ssh_1000e", enable_mkldnn=True, cpu_threads=2)
    boxes = det.predict(["a.jpg", cv2.imread("b.jpg")])  # list of [K, 6]: class, score, x1, y1, x2, y2

ndarray inputs are BGR (cv2 order). ``predict`` returns every box the model keeps (score above
its NMS score threshold); ``threshold`` filters what is drawn and saved.

This file is the command line only (parse the flags, build a Detector, run images / video /
benchmark). The jobs live in its sibling modules: ``detector`` (Detector: preprocess -> runner ->
results), ``runners`` (the backends behind ``--backend`` and their registry), ``preprocess``,
``images`` (listing, batching, pictures, bbox.json), ``video``, ``benchmark``, ``timing``
(StageTimer), ``memory`` (malloc tuning, heap guard, peak RSS) and ``visualize``.
"""
import argparse
import sys

try:
    import ppdet_face_deploy  # noqa: F401  (run as a script, the siblings come from the installed package)
except ModuleNotFoundError as exc:
    if exc.name != "ppdet_face_deploy":
        raise
    sys.exit("error: the package ppdet_face_deploy is not installed: run `pip install .` (or `make venv`) "
             "in the ppdet-face repository")
from ppdet_face_deploy.benchmark import run_benchmark
from ppdet_face_deploy.detector import Detector, load_infer_cfg
from ppdet_face_deploy.images import collect_images, list_image_files, predict_images
from ppdet_face_deploy.memory import keep_freed_memory_in_heap
from ppdet_face_deploy.preprocess import DeployError
from ppdet_face_deploy.runners import BACKENDS, PRECISIONS, RUN_MODES, DetectorOptions
from ppdet_face_deploy.timing import StageTimer
from ppdet_face_deploy.video import predict_video

# Detector, DeployError, StageTimer, list_image_files, load_infer_cfg and keep_freed_memory_in_heap
# stay importable from here (``from ppdet_face_deploy.infer import Detector``); they live in the modules above.
__all__ = ["Detector", "DetectorOptions", "DeployError", "StageTimer", "list_image_files", "load_infer_cfg",
           "keep_freed_memory_in_heap", "main", "parse_args"]


def _str2bool(value):
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in ("true", "1", "yes", "y", "on"):
        return True
    if text in ("false", "0", "no", "n", "off", "none"):
        return False
    raise argparse.ArgumentTypeError(f"expected True or False, got {value!r}")


def _auto_or_bool(value):
    return "auto" if str(value).strip().lower() == "auto" else _str2bool(value)


def parse_args(argv=None):
    """Parse and cross-check the CLI flags (one of the four sources; video excludes images and benchmark).

    Args:
        argv (list[str]|None): the arguments; None reads ``sys.argv``. Default: None.

    Returns:
        argparse.Namespace: the flags.
    """
    d = DetectorOptions()  # the defaults of the detector's flags, declared once there
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0], formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--model_dir", required=True, help="exported folder (infer_cfg.yml + model files)")
    p.add_argument("--image_file", default=None, help="one image")
    p.add_argument("--image_dir", default=None,
                   help="folder of images, subfolders included (e.g. WIDER_val/images/<event>/), in sorted\n"
                        "order of their path below it; visualised images keep that path under --output_dir")
    p.add_argument("--video_file", default=None, help="video file; writes an annotated video to --output_dir")
    p.add_argument("--camera_id", type=int, default=-1, help="camera index (-1: none)")
    p.add_argument("--batch_size", type=int, default=d.batch_size)
    p.add_argument("--threshold", type=float, default=d.threshold,
                   help="score threshold of drawn / saved boxes (default: infer_cfg.yml's draw_threshold, 0.5)")
    p.add_argument("--output_dir", default="output")
    p.add_argument("--save_images", type=_str2bool, nargs="?", const=True, default=True,
                   help="save visualised images (True/False)")
    p.add_argument("--save_crops", default=None, metavar="DIR",
                   help="write each face aligned to the ArcFace 112x112 template (models with landmarks)")
    p.add_argument("--save_results", type=_str2bool, nargs="?", const=True, default=False,
                   help="save detections to <output_dir>/bbox.json")
    p.add_argument("--device", default=d.device, help="CPU or GPU")
    p.add_argument("--run_mode", default=d.run_mode, help=" | ".join(RUN_MODES))
    p.add_argument("--backend", default=d.backend, help=" | ".join(BACKENDS))
    p.add_argument("--precision", default=d.precision,
                   help=" | ".join(PRECISIONS) + " (--backend openvino; int8: the model of tools/quantize.py)")
    p.add_argument("--enable_mkldnn", type=_str2bool, nargs="?", const=True, default=d.enable_mkldnn,
                   help="oneDNN on CPU (True/False)")
    p.add_argument("--cpu_threads", type=int, default=d.cpu_threads)
    p.add_argument("--malloc_tuning", type=_auto_or_bool, default=d.malloc_tuning,
                   help="keep freed memory mapped (no page faults per run): auto (fixed-shape exports) | True | False")
    p.add_argument("--max_side", type=int, default=d.max_side,
                   help="dynamic-shape models: scale images whose longer side is larger down to it first "
                        "(boxes stay in original pixels; 8000x8000 at full size needs ~7 GB); 0: no cap")
    p.add_argument("--trt_min_shape", type=int, default=d.trt_min_shape)
    p.add_argument("--trt_max_shape", type=int, default=d.trt_max_shape)
    p.add_argument("--trt_opt_shape", type=int, default=d.trt_opt_shape)
    p.add_argument("--trt_calib_mode", type=_str2bool, nargs="?", const=True, default=d.trt_calib_mode)
    p.add_argument("--run_benchmark", type=_str2bool, nargs="?", const=True, default=False,
                   help="time warm-up + repeated runs instead of saving outputs")
    p.add_argument("--benchmark_warmup", type=int, default=10)
    p.add_argument("--benchmark_repeats", type=int, default=50)
    p.add_argument("--benchmark_json", default=None, help="also write the benchmark summary here")
    args = p.parse_args(argv)
    sources = [bool(args.image_file), bool(args.image_dir), bool(args.video_file), args.camera_id >= 0]
    if not any(sources):
        p.error("give one of --image_file, --image_dir, --video_file, --camera_id")
    if args.video_file or args.camera_id >= 0:
        if args.image_file or args.image_dir:
            p.error("--video_file/--camera_id cannot be combined with --image_file/--image_dir")
        if args.run_benchmark:
            p.error("--run_benchmark works on images (--image_file/--image_dir)")
    return args


def main(argv=None):
    """CLI entry point; returns the process exit code (0: all inputs processed)."""
    args = parse_args(argv)
    try:
        detector = Detector(args.model_dir, DetectorOptions.from_args(args))
        if args.video_file or args.camera_id >= 0:
            return 1 if predict_video(detector, args) else 0
        if args.save_crops and "landmarks" not in detector.layout.fields:
            raise DeployError(f"--save_crops needs a model with landmarks; this one's record has "
                              f"{', '.join(detector.layout.fields)}")
        files = collect_images(args)
        if args.run_benchmark:
            summary = run_benchmark(detector, files, args.benchmark_warmup, args.benchmark_repeats,
                                    args.benchmark_json)
            return 1 if summary["failures"] else 0
        return 1 if predict_images(detector, files, args) else 0
    except DeployError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
