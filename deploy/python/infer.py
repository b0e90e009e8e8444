"""Face detection with an exported model folder (infer_cfg.yml + model files).

    python deploy/python/infer.py --model_dir output_inference/blazeface_fpn_ssh_1000e \\
        --image_file img.jpg | --image_dir dir | --video_file v.mp4 | --camera_id 0
        [--batch_size 1] [--threshold 0.5] [--output_dir output] [--save_images True]
        [--save_results] [--device CPU|GPU] [--run_mode paddle|trt_fp32|trt_fp16|trt_int8]
        [--enable_mkldnn True] [--cpu_threads 2] [--malloc_tuning auto|True|False] [--max_side 2048]
        [--trt_min_shape 1 --trt_max_shape 1280
        --trt_opt_shape 640] [--backend paddle|onnxruntime]
        [--run_benchmark True [--benchmark_json b.json]]

Flags follow PaddleDetection's deploy/python/infer.py. This module imports neither ppdet nor
ppdet_face: its only contract is the exported folder. From Python (repository root on
``sys.path``)::

    from deploy.python.infer import Detector
    det = Detector("output_inference/blazeface_fpn_ssh_1000e", enable_mkldnn=True, cpu_threads=2)
    boxes = det.predict(["a.jpg", cv2.imread("b.jpg")])  # list of [K, 6]: class, score, x1, y1, x2, y2

ndarray inputs are BGR (cv2 order). ``predict`` returns every box the model keeps (score above
its NMS score threshold); ``threshold`` filters what is drawn and saved.
"""
import argparse
import json
import os
import sys
import time

import cv2
import numpy as np
import yaml

if __package__ in (None, ""):  # run as a script: import the sibling modules directly
    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
    from preprocess import DeployError, Pipeline, decode_image, pad_batch  # noqa: E402
    from visualize import draw_boxes  # noqa: E402
else:
    from .preprocess import DeployError, Pipeline, decode_image, pad_batch
    from .visualize import draw_boxes

__all__ = ["Detector", "DeployError", "StageTimer", "list_image_files", "load_infer_cfg", "keep_freed_memory_in_heap",
           "main"]

# deploy may not import ppdet_face or eval_tools (its only contract is the exported folder), so it keeps
# its own copy of eval_tools.wider_format.IMAGE_EXTENSIONS; tests/deploy/test_infer.py checks they agree.
IMAGE_EXTS = (".jpg", ".jpeg", ".png", ".bmp", ".webp", ".tif", ".tiff")
RUN_MODES = ("paddle", "trt_fp32", "trt_fp16", "trt_int8")
BACKENDS = ("paddle", "onnxruntime")


def load_infer_cfg(model_dir):
    """Read ``<model_dir>/infer_cfg.yml`` (safe YAML) and check the keys the predictor needs."""
    path = os.path.join(model_dir, "infer_cfg.yml")
    if not os.path.isfile(path):
        raise DeployError(f"{path} not found: --model_dir must be a folder written by tools/export_model.py")
    with open(path, "r", encoding="utf-8") as f:
        cfg = yaml.safe_load(f) or {}
    for key in ("Preprocess", "label_list"):
        if key not in cfg:
            raise DeployError(f"{path}: missing key {key!r}")
    return cfg


class StageTimer:
    """Per-call wall times (ms) of preprocess / inference / postprocess and image counts."""

    STAGES = ("preprocess", "inference", "postprocess")

    def __init__(self):
        self.reset()

    def reset(self):
        self.times = {s: [] for s in self.STAGES}
        self.images = 0

    def summary(self):
        out = {}
        for stage, values in list(self.times.items()) + [("end_to_end", self._total())]:
            v = np.asarray(values, np.float64)
            out[stage] = ({"mean": float(v.mean()), "p50": float(np.percentile(v, 50)),
                           "p90": float(np.percentile(v, 90)), "p99": float(np.percentile(v, 99)),
                           "min": float(v.min()), "count": int(v.size)} if v.size else {"count": 0})
        total_s = float(np.sum(self._total())) / 1000.0
        out["images"] = self.images
        out["qps"] = self.images / total_s if total_s > 0 else 0.0
        return out

    def _total(self):
        n = min(len(v) for v in self.times.values())
        return [sum(self.times[s][i] for s in self.STAGES) for i in range(n)]


#: glibc ``mallopt`` parameters (malloc.h).
_M_TRIM_THRESHOLD, _M_MMAP_MAX = -1, -4
_MALLOC_STATE = {"tuned": None}


def keep_freed_memory_in_heap():
    """Make glibc serve large blocks from the heap and keep freed memory (once per process).

    Paddle Inference allocates every intermediate tensor of every run afresh. With glibc's
    defaults large blocks come from ``mmap`` (returned by ``munmap``) and the heap top is trimmed
    back to the OS, so each 640x640 run page-faults its activations in again: ~3,000-7,000 minor
    faults per run, ~5 ms of a ~45 ms single-thread run and more with 2 threads (the faults also
    hit the preprocessing buffers of either backend). ``mallopt(M_MMAP_MAX, 0)`` and a 1 GiB
    ``M_TRIM_THRESHOLD`` (the runtime form of ``MALLOC_MMAP_MAX_=0 MALLOC_TRIM_THRESHOLD_=...``)
    keep those pages mapped and reused: ~0 faults per run, RSS stays at the high-water mark of
    the largest run so far (which is why :class:`Detector` applies it by default to fixed-shape
    exports only). Skipped when the user set either environment variable, or off glibc.
    Process-wide and permanent. Returns True when applied (now or before).
    """
    if _MALLOC_STATE["tuned"] is not None:
        return _MALLOC_STATE["tuned"]
    ok = False
    libc = None if any(k in os.environ for k in ("MALLOC_MMAP_MAX_", "MALLOC_TRIM_THRESHOLD_")) else _glibc()
    if libc is not None:
        ok = bool(libc.mallopt(_M_MMAP_MAX, 0)) and bool(libc.mallopt(_M_TRIM_THRESHOLD, 1 << 30))
    _MALLOC_STATE["tuned"] = ok
    return ok


def _glibc():
    """A ctypes handle on glibc's libc.so.6, or None (not Linux / not glibc)."""
    try:
        import ctypes
        import platform

        if sys.platform.startswith("linux") and platform.libc_ver()[0] == "glibc":
            return ctypes.CDLL("libc.so.6")
    except (OSError, ValueError):
        pass
    return None


class _HeapGuard:
    """Give glibc's free heap pages back to the OS when they pile up (images of varied sizes).

    Every run frees its buffers; when the next input has another shape they seldom fit the
    holes, so glibc's heaps fragment and RSS climbs to a plateau far above what is in use
    (benchmarks/deploy_soak.py, batch 4, 160-800 px images: in use ~160 MiB throughout, RSS
    800 -> 1,040 MiB with the default allocator, 1,550 -> 1,750 MiB with
    :func:`keep_freed_memory_in_heap`). After a run whose input shape differs from the previous
    one, if resident memory not in use by malloc has grown by more than ``budget_mb`` since the
    first run, ``malloc_trim(0)`` returns the free pages (~20 ms for a ~700 MiB heap, hence the
    budget). Same-shape runs cost one tuple comparison. No-op off glibc.
    """

    def __init__(self, budget_mb=256):
        self.budget = budget_mb * 2 ** 20
        self.last_shape, self.base = None, None
        self.trims = 0
        self.libc = _glibc()
        if self.libc is not None and not hasattr(self.libc, "mallinfo2"):  # glibc < 2.33
            self.libc = None
        if self.libc is not None:
            import ctypes

            class MallInfo2(ctypes.Structure):
                _fields_ = [(n, ctypes.c_size_t) for n in ("arena", "ordblks", "smblks", "hblks", "hblkhd", "usmblks",
                                                           "fsmblks", "uordblks", "fordblks", "keepcost")]

            self.libc.mallinfo2.restype = MallInfo2
            self.libc.malloc_trim.argtypes = [ctypes.c_size_t]
            self.page = os.sysconf("SC_PAGE_SIZE")

    def _slack(self):
        with open("/proc/self/statm", "r", encoding="ascii") as f:
            rss = int(f.read().split()[1]) * self.page
        info = self.libc.mallinfo2()
        return rss - (info.uordblks + info.hblkhd)

    def __call__(self, shape):
        if self.libc is None or shape == self.last_shape:
            return
        self.last_shape = shape
        slack = self._slack()
        if self.base is None or slack < self.base:  # the first run, or a new low
            self.base = slack
        elif slack - self.base > self.budget:
            self.libc.malloc_trim(0)
            self.trims += 1


def _peak_rss_mb():
    try:
        import resource

        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0  # KiB on Linux
    except (ImportError, OSError):
        return float("nan")


class _PaddleRunner:
    """Paddle Inference predictor configured from the CLI options."""

    def __init__(self, model_dir, cfg, device, run_mode, batch_size, cpu_threads, enable_mkldnn, trt_min_shape,
                 trt_max_shape, trt_opt_shape, trt_calib_mode):
        try:
            import warnings

            with warnings.catch_warnings():  # paddle warns about ccache (its C++ extension builder) on import
                warnings.filterwarnings("ignore", message=".*ccache.*")
                import paddle
                import paddle.inference as paddle_infer
        except ImportError as exc:
            raise DeployError(f"--backend paddle needs paddlepaddle ({exc}); or use --backend onnxruntime") from None
        model_file = next((os.path.join(model_dir, f) for f in ("model.json", "model.pdmodel")
                           if os.path.isfile(os.path.join(model_dir, f))), None)
        params_file = os.path.join(model_dir, "model.pdiparams")
        if model_file is None or not os.path.isfile(params_file):
            raise DeployError(f"{model_dir}: no model.json/model.pdmodel + model.pdiparams (export with "
                              "tools/export_model.py)")
        if run_mode != "paddle" and device != "GPU":
            raise DeployError(f"--run_mode {run_mode} runs TensorRT, which needs --device GPU "
                              "(and a PaddlePaddle build with CUDA and TensorRT)")
        config = paddle_infer.Config(model_file, params_file)
        if device == "GPU":
            if not paddle.is_compiled_with_cuda():
                raise DeployError("--device GPU: this PaddlePaddle build has no CUDA support "
                                  "(install paddlepaddle-gpu, or use --device CPU)")
            config.enable_use_gpu(200, 0)
            if run_mode != "paddle":
                self._enable_trt(paddle_infer, config, cfg, run_mode, batch_size, trt_min_shape, trt_max_shape,
                                 trt_opt_shape, trt_calib_mode)
        else:
            config.disable_gpu()
            config.set_cpu_math_library_num_threads(int(cpu_threads))
            if enable_mkldnn:
                config.enable_onednn()
                # Paddle's oneDNN cache keyed by input shape: 1 shape. 0 would mean unbounded (a leak
                # with varied image sizes); 10 (PaddleDetection's choice) measured no faster here, also
                # when shapes alternate (oneDNN's own primitive cache recreates kernels cheaply), and
                # holds ~0.5 GB more at batch 4 with images up to 800 px (benchmarks/deploy_soak.py).
                config.set_onednn_cache_capacity(1)
            else:
                config.disable_onednn()
        # Not config.enable_memory_optim(): on Paddle 3.3 PIR it fails with
        # "Not find predictor_id 0 and pass_name memory_optimize_pass".
        config.switch_ir_optim(True)
        config.disable_glog_info()
        config.switch_use_feed_fetch_ops(False)
        self.predictor = paddle_infer.create_predictor(config)
        self.input_names = self.predictor.get_input_names()
        self.output_names = self.predictor.get_output_names()
        self._inputs = [(n, self.predictor.get_input_handle(n)) for n in self.input_names]
        self._outputs = [self.predictor.get_output_handle(n) for n in self.output_names]

    @staticmethod
    def _enable_trt(paddle_infer, config, cfg, run_mode, batch_size, min_shape, max_shape, opt_shape, calib):
        version = tuple(paddle_infer.get_trt_compile_version()) if hasattr(paddle_infer, "get_trt_compile_version") \
            else (0,)
        if not any(version):
            raise DeployError(f"--run_mode {run_mode}: this PaddlePaddle build has no TensorRT support")
        precision = {"trt_fp32": paddle_infer.PrecisionType.Float32, "trt_fp16": paddle_infer.PrecisionType.Half,
                     "trt_int8": paddle_infer.PrecisionType.Int8}[run_mode]
        config.enable_tensorrt_engine(workspace_size=1 << 30, max_batch_size=batch_size,
                                      min_subgraph_size=int(cfg.get("min_subgraph_size", 3)),
                                      precision_mode=precision, use_static=False, use_calib_mode=bool(calib))
        if cfg.get("use_dynamic_shape", True):
            shapes = []
            for side in (min_shape, max_shape, opt_shape):
                shapes.append({"image": [batch_size, 3, side, side], "im_shape": [batch_size, 2],
                               "scale_factor": [batch_size, 2]})
            config.set_trt_dynamic_shape_info(*shapes)

    def __call__(self, inputs):
        for name, handle in self._inputs:
            handle.reshape(inputs[name].shape)
            handle.copy_from_cpu(inputs[name])
        self.predictor.run()
        outs = [h.copy_to_cpu() for h in self._outputs]
        return outs[0], outs[1]


class _OrtRunner:
    """ONNX Runtime session on ``model.onnx``."""

    def __init__(self, model_dir, device, run_mode, cpu_threads):
        try:
            import onnxruntime as ort
        except ImportError as exc:
            raise DeployError(f"--backend onnxruntime needs the onnxruntime package ({exc})") from None
        path = os.path.join(model_dir, "model.onnx")
        if not os.path.isfile(path):
            raise DeployError(f"{path} not found: export with tools/export_model.py --format onnx")
        if run_mode != "paddle":
            raise DeployError(f"--run_mode {run_mode} is for --backend paddle (Paddle-TensorRT)")
        providers = ["CPUExecutionProvider"]
        if device == "GPU":
            if "CUDAExecutionProvider" not in ort.get_available_providers():
                raise DeployError("--device GPU: this onnxruntime has no CUDAExecutionProvider "
                                  "(install onnxruntime-gpu, or use --device CPU)")
            providers.insert(0, "CUDAExecutionProvider")
        options = ort.SessionOptions()
        options.intra_op_num_threads = int(cpu_threads)
        options.inter_op_num_threads = 1
        options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        options.log_severity_level = 3
        self.session = ort.InferenceSession(path, options, providers=providers)
        self.input_names = [i.name for i in self.session.get_inputs()]

    def __call__(self, inputs):
        bbox, bbox_num = self.session.run(None, {n: inputs[n] for n in self.input_names})
        return bbox, bbox_num


class Detector:
    """Predictor over an exported folder.

    Args:
        model_dir (str): folder with infer_cfg.yml and model.json/.pdmodel + .pdiparams (and
            model.onnx for ``backend="onnxruntime"``).
        device (str): "CPU" or "GPU".
        run_mode (str): "paddle" or "trt_fp32" / "trt_fp16" / "trt_int8" (Paddle-TensorRT, GPU).
        batch_size (int): images per inference call in :meth:`predict_batches` and the CLI.
        cpu_threads (int): CPU math threads (Paddle) / intra-op threads (ONNX Runtime).
        enable_mkldnn (bool): oneDNN kernels for Paddle on CPU.
        threshold (float): default score threshold of drawing and saving (not of :meth:`predict`).
        backend (str): "paddle" (Paddle Inference) or "onnxruntime".
        malloc_tuning ("auto"|bool): on CPU, :func:`keep_freed_memory_in_heap` (process-wide, cannot
            be undone). "auto": for fixed-shape exports only, where every run allocates the same
            buffers (~5 ms saved per 640x640 run). With varied image sizes either allocator
            setting fragments the heap; :class:`_HeapGuard` (always on, CPU) trims it back.
        max_side (int): dynamic-shape exports: images whose longer side exceeds it are scaled
            down to it first (boxes still in original pixels); 0: no cap. Default: 2048.
    """

    def __init__(self, model_dir, device="CPU", run_mode="paddle", batch_size=1, trt_min_shape=1,
                 trt_max_shape=1280, trt_opt_shape=640, trt_calib_mode=False, cpu_threads=1, enable_mkldnn=False,
                 threshold=0.5, output_dir="output", backend="paddle", malloc_tuning="auto", max_side=2048):
        device = str(device).upper()
        if device not in ("CPU", "GPU"):
            raise DeployError(f"--device {device!r} is not supported; allowed values: CPU, GPU")
        if run_mode not in RUN_MODES:
            raise DeployError(f"--run_mode {run_mode!r} is not supported; allowed values: {', '.join(RUN_MODES)}")
        if backend not in BACKENDS:
            raise DeployError(f"--backend {backend!r} is not supported; allowed values: {', '.join(BACKENDS)}")
        if int(batch_size) < 1:
            raise DeployError(f"--batch_size must be >= 1, got {batch_size}")
        self.model_dir = model_dir
        self.cfg = load_infer_cfg(model_dir)
        if malloc_tuning not in ("auto", True, False):
            raise DeployError(f"malloc_tuning={malloc_tuning!r} is not supported; allowed values: auto, True, False")
        fixed_shape = not self.cfg.get("use_dynamic_shape", True)
        self.malloc_tuned = device == "CPU" and (malloc_tuning is True or (malloc_tuning == "auto" and fixed_shape)) \
            and keep_freed_memory_in_heap()
        self._heap_guard = _HeapGuard() if device == "CPU" else (lambda shape: None)
        self.pipeline = Pipeline(self.cfg["Preprocess"], max_side=max_side)
        self.labels = list(self.cfg["label_list"])
        self.batch_size = int(batch_size)
        self.threshold = float(threshold)
        self.output_dir = output_dir
        self.backend = backend
        if backend == "paddle":
            self.runner = _PaddleRunner(model_dir, self.cfg, device, run_mode, self.batch_size, cpu_threads,
                                        enable_mkldnn, trt_min_shape, trt_max_shape, trt_opt_shape, trt_calib_mode)
        else:
            self.runner = _OrtRunner(model_dir, device, run_mode, cpu_threads)
        self.timer = StageTimer()

    def preprocess(self, images):
        """Decode (paths, bytes or BGR arrays), preprocess and pad a batch -> model inputs dict."""
        chws, shapes, scales = [], [], []
        for image in images:
            bgr = image if isinstance(image, np.ndarray) and image.ndim == 3 and image.shape[2] == 3 \
                and image.dtype == np.uint8 else decode_image(image)
            chw, info = self.pipeline(bgr)
            chws.append(chw)
            shapes.append(info["im_shape"])
            scales.append(info["scale_factor"])
        return {"image": pad_batch(chws), "im_shape": np.stack(shapes).astype(np.float32),
                "scale_factor": np.stack(scales).astype(np.float32)}

    @staticmethod
    def postprocess(bbox, bbox_num):
        """Split the model's ``bbox`` [N, 6] by ``bbox_num`` [B] into a list of [K_i, 6] arrays."""
        bbox = np.asarray(bbox, np.float32).reshape(-1, 6) if np.size(bbox) else np.zeros((0, 6), np.float32)
        counts = np.asarray(bbox_num).reshape(-1).astype(np.int64)
        out, start = [], 0
        for n in counts:
            out.append(bbox[start:start + n].copy())
            start += n
        return out

    def predict(self, images, threshold=None):
        """Detect faces in one batch.

        Args:
            images (list): image paths, encoded bytes or BGR uint8 arrays (any sizes; padded).
            threshold (float|None): drop boxes scoring below it; None keeps every model output.

        Returns:
            list[np.ndarray]: per image, [K, 6] rows ``class, score, x1, y1, x2, y2`` (original pixels).
        """
        if not isinstance(images, (list, tuple)):
            images = [images]
        if not images:
            return []
        t0 = time.perf_counter()
        inputs = self.preprocess(images)
        t1 = time.perf_counter()
        bbox, bbox_num = self.runner(inputs)
        t2 = time.perf_counter()
        results = self.postprocess(bbox, bbox_num)
        if threshold is not None:
            results = [r[r[:, 1] >= threshold] for r in results]
        self._heap_guard(inputs["image"].shape)
        t3 = time.perf_counter()
        self.timer.times["preprocess"].append((t1 - t0) * 1000)
        self.timer.times["inference"].append((t2 - t1) * 1000)
        self.timer.times["postprocess"].append((t3 - t2) * 1000)
        self.timer.images += len(images)
        return results


# --------------------------------------------------------------------------------------------
# Command line
# --------------------------------------------------------------------------------------------
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
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0], formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--model_dir", required=True, help="exported folder (infer_cfg.yml + model files)")
    p.add_argument("--image_file", default=None, help="one image")
    p.add_argument("--image_dir", default=None,
                   help="folder of images, subfolders included (e.g. WIDER_val/images/<event>/), in sorted\n"
                        "order of their path below it; visualised images keep that path under --output_dir")
    p.add_argument("--video_file", default=None, help="video file; writes an annotated video to --output_dir")
    p.add_argument("--camera_id", type=int, default=-1, help="camera index (-1: none)")
    p.add_argument("--batch_size", type=int, default=1)
    p.add_argument("--threshold", type=float, default=0.5, help="score threshold of drawn / saved boxes")
    p.add_argument("--output_dir", default="output")
    p.add_argument("--save_images", type=_str2bool, nargs="?", const=True, default=True,
                   help="save visualised images (True/False)")
    p.add_argument("--save_results", type=_str2bool, nargs="?", const=True, default=False,
                   help="save detections to <output_dir>/bbox.json")
    p.add_argument("--device", default="CPU", help="CPU or GPU")
    p.add_argument("--run_mode", default="paddle", help="paddle | trt_fp32 | trt_fp16 | trt_int8")
    p.add_argument("--backend", default="paddle", help="paddle | onnxruntime")
    p.add_argument("--enable_mkldnn", type=_str2bool, nargs="?", const=True, default=False,
                   help="oneDNN on CPU (True/False)")
    p.add_argument("--cpu_threads", type=int, default=1)
    p.add_argument("--malloc_tuning", type=_auto_or_bool, default="auto",
                   help="keep freed memory mapped (no page faults per run): auto (fixed-shape exports) | True | False")
    p.add_argument("--max_side", type=int, default=2048,
                   help="dynamic-shape models: scale images whose longer side is larger down to it first "
                        "(boxes stay in original pixels; 8000x8000 at full size needs ~7 GB); 0: no cap")
    p.add_argument("--trt_min_shape", type=int, default=1)
    p.add_argument("--trt_max_shape", type=int, default=1280)
    p.add_argument("--trt_opt_shape", type=int, default=640)
    p.add_argument("--trt_calib_mode", type=_str2bool, nargs="?", const=True, default=False)
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


def list_image_files(folder):
    """The image files below ``folder``, subfolders included, sorted by their path below it.

    Args:
        folder (str): the folder.

    Returns:
        list[str]: paths ``folder/<sub>/.../<name>`` of the files with an extension of ``IMAGE_EXTS``
        (any case), in sorted order of their path components (deterministic). Hidden files and
        folders (name starting with ``.``) are skipped; symlinked files count, symlinked folders are
        not entered.
    """
    found = []
    for dirpath, dirs, files in os.walk(folder):
        dirs[:] = [d for d in dirs if not d.startswith(".")]
        found += [os.path.join(dirpath, f) for f in files
                  if f.lower().endswith(IMAGE_EXTS) and not f.startswith(".")]
    found = [f for f in found if os.path.isfile(f)]
    return sorted(found, key=lambda f: os.path.relpath(f, folder).split(os.sep))


def _output_path(path, args):
    """Where the visualised image of ``path`` goes: its path below --image_dir, else its name."""
    if args.image_dir:
        rel = os.path.relpath(path, args.image_dir)
        if rel != os.pardir and not rel.startswith(os.pardir + os.sep):
            return os.path.join(args.output_dir, rel)
    return os.path.join(args.output_dir, os.path.basename(path))


def _collect_images(args):
    files = []
    if args.image_file:
        files.append(args.image_file)
    if args.image_dir:
        if not os.path.isdir(args.image_dir):
            raise DeployError(f"--image_dir {args.image_dir}: not a directory")
        found = list_image_files(args.image_dir)
        if not found:
            raise DeployError(f"--image_dir {args.image_dir}: no images ({', '.join(IMAGE_EXTS)})")
        files.extend(found)
    return files


def _result_record(path, boxes, labels, threshold, shape):
    keep = boxes[boxes[:, 1] >= threshold]
    return {"image_file": path, "height": int(shape[0]), "width": int(shape[1]),
            "detections": [{"class_id": int(c), "label": labels[int(c)] if 0 <= int(c) < len(labels) else str(int(c)),
                            "score": round(float(s), 6), "bbox": [round(float(v), 3) for v in (x1, y1, x2, y2)]}
                           for c, s, x1, y1, x2, y2 in keep]}


def predict_images(detector, files, args):
    """Detect on files batch by batch; per-file errors are reported and skipped. Returns #failures."""
    if args.save_images or args.save_results:
        os.makedirs(args.output_dir, exist_ok=True)
    failures, records = 0, []
    show_each = len(files) == 1
    bar = None
    if not show_each:
        from tqdm import tqdm

        bar = tqdm(total=len(files), desc="images", unit="img", file=sys.stderr)
    for start in range(0, len(files), detector.batch_size):
        if bar is not None and start:
            bar.update(detector.batch_size)
        batch = files[start:start + detector.batch_size]
        decoded, names = [], []
        for path in batch:
            try:
                decoded.append(decode_image(path))
                names.append(path)
            except DeployError as exc:
                failures += 1
                _report(f"error: {exc}", bar)
        if not decoded:
            continue
        results = detector.predict(decoded)
        for path, bgr, boxes in zip(names, decoded, results):
            shown = boxes[boxes[:, 1] >= args.threshold]
            if show_each:
                print(f"{path}: {len(shown)} faces (score >= {args.threshold})")
                for c, s, x1, y1, x2, y2 in shown:
                    print(f"  {detector.labels[int(c)] if int(c) < len(detector.labels) else int(c)} "
                          f"{s:.4f} [{x1:.1f}, {y1:.1f}, {x2:.1f}, {y2:.1f}]")
            if args.save_images:
                out = _output_path(path, args)
                os.makedirs(os.path.dirname(out), exist_ok=True)
                if not cv2.imwrite(out, draw_boxes(bgr, boxes, detector.labels, args.threshold)):
                    failures += 1
                    _report(f"error: {out}: could not write the visualised image", bar)
            if args.save_results:
                records.append(_result_record(path, boxes, detector.labels, args.threshold, bgr.shape))
    if bar is not None:
        bar.update(len(files) - bar.n)
        bar.close()
    if args.save_results:
        path = os.path.join(args.output_dir, "bbox.json")
        with open(path, "w", encoding="utf-8") as f:
            json.dump(records, f, indent=1)
        print(f"results saved to {path}")
    if args.save_images:
        print(f"visualised images saved to {args.output_dir}")
    if detector.pipeline.downscaled:
        print(f"{detector.pipeline.downscaled} image(s) larger than --max_side {detector.pipeline.max_side} px were "
              "scaled down to it before detection (boxes are in original pixels)")
    print(f"{len(files) - failures}/{len(files)} images processed" + (f", {failures} failed" if failures else ""))
    return failures


def _report(message, bar):
    if bar is not None:
        bar.write(message, file=sys.stderr)
    else:
        print(message, file=sys.stderr)


def predict_video(detector, args):
    """Annotate a video file or camera stream into <output_dir>/<name>.mp4. Returns #failures."""
    source = args.video_file if args.video_file else args.camera_id
    if args.video_file and not os.path.isfile(args.video_file):
        raise DeployError(f"--video_file {args.video_file}: file not found")
    cap = cv2.VideoCapture(source)
    if not cap.isOpened():
        raise DeployError(f"cannot open {'video ' + args.video_file if args.video_file else 'camera ' + str(source)}")
    fps = cap.get(cv2.CAP_PROP_FPS) or 25.0
    width, height = int(cap.get(cv2.CAP_PROP_FRAME_WIDTH)), int(cap.get(cv2.CAP_PROP_FRAME_HEIGHT))
    total = int(cap.get(cv2.CAP_PROP_FRAME_COUNT)) if args.video_file else 0
    os.makedirs(args.output_dir, exist_ok=True)
    name = os.path.splitext(os.path.basename(args.video_file))[0] if args.video_file else f"camera_{source}"
    out_path = os.path.join(args.output_dir, name + ".mp4")
    writer = cv2.VideoWriter(out_path, cv2.VideoWriter_fourcc(*"mp4v"), fps, (width, height))
    if not writer.isOpened():
        cap.release()
        raise DeployError(f"cannot write {out_path}")
    from tqdm import tqdm

    records, frame_id = [], 0
    bar = tqdm(total=total or None, desc="frames", unit="frame", file=sys.stderr)
    try:
        while True:
            frames = []
            while len(frames) < detector.batch_size:
                ok, frame = cap.read()
                if not ok:
                    break
                frames.append(frame)
            if not frames:
                break
            for frame, boxes in zip(frames, detector.predict(frames)):
                writer.write(draw_boxes(frame, boxes, detector.labels, args.threshold))
                if args.save_results:
                    records.append(_result_record(f"{name}#{frame_id}", boxes, detector.labels, args.threshold,
                                                  frame.shape))
                frame_id += 1
            bar.update(len(frames))
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
    finally:
        bar.close()
        cap.release()
        writer.release()
    if args.save_results:
        with open(os.path.join(args.output_dir, name + "_bbox.json"), "w", encoding="utf-8") as f:
            json.dump(records, f, indent=1)
    print(f"{frame_id} frames annotated into {out_path}")
    return 0 if frame_id else 1


def run_benchmark(detector, files, warmup=10, repeats=50, json_path=None):
    """Time preprocess / inference / postprocess over the images (decoded once, decode excluded).

    Returns:
        dict: per stage mean / p50 / p90 / p99 / min ms per batch, QPS (images/s), peak RSS (MiB).
    """
    images, failures = [], 0
    for path in files:
        try:
            images.append(decode_image(path))
        except DeployError as exc:
            failures += 1
            print(f"error: {exc}", file=sys.stderr)
    if not images:
        raise DeployError("no readable image to benchmark")
    batches = [images[i:i + detector.batch_size] for i in range(0, len(images), detector.batch_size)]
    for i in range(max(0, warmup)):
        detector.predict(batches[i % len(batches)])
    detector.timer.reset()
    for i in range(max(1, repeats)):
        detector.predict(batches[i % len(batches)])
    summary = detector.timer.summary()
    summary.update({"backend": detector.backend, "batch_size": detector.batch_size, "warmup": warmup,
                    "repeats": repeats, "model_dir": detector.model_dir, "peak_rss_mb": _peak_rss_mb(),
                    "input_shapes": sorted({f"{im.shape[0]}x{im.shape[1]}" for im in images}),
                    "failures": failures})
    print(f"benchmark: {detector.backend}, batch {detector.batch_size}, {warmup} warm-up + {repeats} timed runs "
          f"over {len(images)} images ({', '.join(summary['input_shapes'][:4])}); ms per batch, decode excluded")
    print(f"{'stage':<12} {'mean':>8} {'p50':>8} {'p90':>8} {'p99':>8}")
    for stage in StageTimer.STAGES + ("end_to_end",):
        s = summary[stage]
        print(f"{stage:<12} {s['mean']:8.2f} {s['p50']:8.2f} {s['p90']:8.2f} {s['p99']:8.2f}")
    print(f"QPS {summary['qps']:.1f} images/s, peak RSS {summary['peak_rss_mb']:.0f} MiB")
    if json_path:
        os.makedirs(os.path.dirname(os.path.abspath(json_path)), exist_ok=True)
        with open(json_path, "w", encoding="utf-8") as f:
            json.dump(summary, f, indent=1)
        print(f"benchmark saved to {json_path}")
    return summary


def main(argv=None):
    """CLI entry point; returns the process exit code (0: all inputs processed)."""
    args = parse_args(argv)
    try:
        detector = Detector(args.model_dir, device=args.device, run_mode=args.run_mode, batch_size=args.batch_size,
                            trt_min_shape=args.trt_min_shape, trt_max_shape=args.trt_max_shape,
                            trt_opt_shape=args.trt_opt_shape, trt_calib_mode=args.trt_calib_mode,
                            cpu_threads=args.cpu_threads, enable_mkldnn=args.enable_mkldnn, threshold=args.threshold,
                            output_dir=args.output_dir, backend=args.backend, malloc_tuning=args.malloc_tuning,
                            max_side=args.max_side)
        if args.video_file or args.camera_id >= 0:
            return 1 if predict_video(detector, args) else 0
        files = _collect_images(args)
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
