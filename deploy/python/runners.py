"""Inference backends (``--backend``): one runner interface, a registry of the allowed backends.

A runner is built from the exported folder and called on one padded batch::

    runner = create_runner(model_dir, cfg, DetectorOptions(backend="onnxruntime", cpu_threads=2))
    bbox, bbox_num = runner({"image": ..., "im_shape": ..., "scale_factor": ...})

To add a backend, subclass :class:`Runner` and add it to :data:`RUNNERS` under its ``--backend``
name; ``--backend`` accepts exactly the keys of :data:`RUNNERS` (:data:`BACKENDS`), and every
other value is one error line listing them.
"""
import abc
import dataclasses
import os
from collections import OrderedDict
from dataclasses import dataclass
from typing import Optional, Union

import numpy as np

from .preprocess import DEFAULT_MAX_SIDE, DeployError
from .record import RecordLayout

__all__ = ["AUTO_ORDER", "BACKEND_PACKAGES", "BACKENDS", "installed_backends", "DEVICES", "PRECISIONS", "RUNNERS",
           "RUN_MODES", "OpenVinoRunner", "OrtRunner", "PaddleRunner", "Runner", "DetectorOptions", "check_choice",
           "check_options", "create_runner", "openvino_model_file"]

DEVICES = ("CPU", "GPU")
RUN_MODES = ("paddle", "trt_fp32", "trt_fp16", "trt_int8")
#: ``--precision`` (OpenVINO): f32 (accurate mode), bf16 (inference precision hint), int8 (tools/quantize.py's model).
PRECISIONS = ("f32", "bf16", "int8")


@dataclass(frozen=True)
class DetectorOptions:
    """How a :class:`~ppdet_face_deploy.detector.Detector` runs: one object, declared once; each field is the
    ``deploy/python/infer.py`` flag of the same name (:meth:`from_args`).

    Args:
        backend (str): a key of :data:`RUNNERS`: "paddle" (Paddle Inference), "onnxruntime" or "openvino".
            Default: "paddle".
        precision (str): ``backend="openvino"`` only: "f32" (accurate mode, boxes as the f32 model), "bf16"
            (fastest on bf16 CPUs) or "int8" (the model of ``tools/quantize.py``); tolerances in
            deploy/README.md. Default: "f32".
        device (str): "CPU" or "GPU". Default: "CPU".
        run_mode (str): "paddle" or "trt_fp32" / "trt_fp16" / "trt_int8" (Paddle-TensorRT, GPU).
            Default: "paddle".
        batch_size (int): images per inference call in the CLI (TensorRT's max batch). Default: 1.
        cpu_threads (int): CPU math threads (Paddle) / intra-op threads (ONNX Runtime, OpenVINO). Default: 1.
        enable_mkldnn (bool): oneDNN kernels for Paddle on CPU. Default: False.
        trt_min_shape (int): TensorRT dynamic-shape minimum image side. Default: 1.
        trt_max_shape (int): TensorRT dynamic-shape maximum image side. Default: 1280.
        trt_opt_shape (int): TensorRT dynamic-shape optimal image side. Default: 640.
        trt_calib_mode (bool): TensorRT int8 calibration. Default: False.
        threshold (float|None): score threshold of what is drawn and saved (not of ``predict``); None:
            infer_cfg.yml's ``draw_threshold`` (``DEFAULT_DRAW_THRESHOLD`` when it has none). Default: None.
        malloc_tuning ("auto"|bool): on CPU, ``memory.keep_freed_memory_in_heap`` (process-wide, cannot be
            undone). "auto": for fixed-shape exports only, where every run allocates the same buffers (~5 ms
            saved per 640x640 run); with varied image sizes ``memory.HeapGuard`` (always on, CPU) trims the
            heap back. Default: "auto".
        max_side (int): dynamic-shape exports: images whose longer side exceeds it are scaled down to it
            first (boxes still in original pixels); 0: no cap. Default: ``DEFAULT_MAX_SIDE`` (2048).
    """

    backend: str = "paddle"
    precision: str = "f32"
    device: str = "CPU"
    run_mode: str = "paddle"
    batch_size: int = 1
    cpu_threads: int = 1
    enable_mkldnn: bool = False
    trt_min_shape: int = 1
    trt_max_shape: int = 1280
    trt_opt_shape: int = 640
    trt_calib_mode: bool = False
    threshold: Optional[float] = None
    malloc_tuning: Union[str, bool] = "auto"
    max_side: int = DEFAULT_MAX_SIDE

    @classmethod
    def from_args(cls, args):
        """The options of parsed CLI flags (an ``argparse.Namespace`` with the fields as attributes)."""
        return cls(**{f.name: getattr(args, f.name) for f in dataclasses.fields(cls)})

    def replace(self, **changes):
        """A copy with ``changes`` applied, checked (:func:`check_options`).

        Raises:
            DeployError: an unknown option name (the message lists them) or a value outside its set.
        """
        names = [f.name for f in dataclasses.fields(self)]
        unknown = [k for k in changes if k not in names]
        if unknown:
            raise DeployError(f"unknown detector option {unknown[0]!r}; allowed: {', '.join(names)}")
        options = dataclasses.replace(self, **changes)
        options = dataclasses.replace(options, device=str(options.device).upper(), batch_size=int(options.batch_size))
        check_options(options)
        return options


class Runner(abc.ABC):
    """One inference backend over an exported folder.

    Args:
        model_dir (str): the exported folder.
        cfg (dict): its ``infer_cfg.yml``.
        options (DetectorOptions): how to run.

    Raises:
        DeployError: the backend's package, model file, device or run mode is not available.
    """

    @abc.abstractmethod
    def __init__(self, model_dir, cfg, options):
        """Load the model of ``model_dir`` for ``options``."""

    @abc.abstractmethod
    def __call__(self, inputs):
        """Run one batch.

        Args:
            inputs (dict[str, np.ndarray]): ``image`` [B, 3, H, W] float32 (normalised; [B, H, W, 3] uint8
                RGB after :meth:`take_pixels`), ``im_shape`` and ``scale_factor`` [B, 2] float32.

        Returns:
            tuple: (bbox [N, 6] rows ``class, score, x1, y1, x2, y2``, bbox_num [B]).
        """

    def take_pixels(self, mean_rgb, std):
        """Normalise inside the model from now on, if this backend can: ``image`` then comes as
        [B, H, W, 3] uint8 RGB, and the model computes ``(image - mean_rgb) / std`` itself.

        Args:
            mean_rgb (tuple[float]): the per-channel mean in pixel units, RGB order.
            std (float): the std in pixel units.

        Returns:
            bool: whether it does (the base class: no).
        """
        return False


class PaddleRunner(Runner):
    """Paddle Inference predictor on ``model.json`` / ``model.pdmodel`` + ``model.pdiparams``."""

    def __init__(self, model_dir, cfg, options):
        paddle, paddle_infer = _import_paddle()
        model_file = next((os.path.join(model_dir, f) for f in ("model.json", "model.pdmodel")
                           if os.path.isfile(os.path.join(model_dir, f))), None)
        params_file = os.path.join(model_dir, "model.pdiparams")
        if model_file is None or not os.path.isfile(params_file):
            raise DeployError(f"{model_dir}: no model.json/model.pdmodel + model.pdiparams (export with "
                              "tools/export_model.py)")
        if options.run_mode != "paddle" and options.device != "GPU":
            raise DeployError(f"--run_mode {options.run_mode} runs TensorRT, which needs --device GPU "
                              "(and a PaddlePaddle build with CUDA and TensorRT)")
        config = paddle_infer.Config(model_file, params_file)
        if options.device == "GPU":
            if not paddle.is_compiled_with_cuda():
                raise DeployError("--device GPU: this PaddlePaddle build has no CUDA support "
                                  "(install paddlepaddle-gpu, or use --device CPU)")
            config.enable_use_gpu(200, 0)
            if options.run_mode != "paddle":
                _enable_trt(paddle_infer, config, cfg, options)
        else:
            _configure_cpu(config, options)
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

    def __call__(self, inputs):
        for name, handle in self._inputs:
            handle.reshape(inputs[name].shape)
            handle.copy_from_cpu(inputs[name])
        self.predictor.run()
        outs = [h.copy_to_cpu() for h in self._outputs]
        return outs[0], outs[1]


def _import_paddle():
    """(paddle, paddle.inference), or a DeployError naming the alternative backend."""
    try:
        import warnings

        with warnings.catch_warnings():  # paddle warns about ccache (its C++ extension builder) on import
            warnings.filterwarnings("ignore", message=".*ccache.*")
            import paddle
            import paddle.inference as paddle_infer
    except ImportError as exc:
        raise DeployError(f"--backend paddle needs paddlepaddle ({exc}); or use --backend onnxruntime") from None
    return paddle, paddle_infer


def _configure_cpu(config, options):
    """CPU threads and oneDNN of a Paddle Inference config."""
    config.disable_gpu()
    config.set_cpu_math_library_num_threads(int(options.cpu_threads))
    if options.enable_mkldnn:
        config.enable_onednn()
        # Paddle's oneDNN cache keyed by input shape: 1 shape. 0 would mean unbounded (a leak
        # with varied image sizes); 10 (PaddleDetection's choice) measured no faster here, also
        # when shapes alternate (oneDNN's own primitive cache recreates kernels cheaply), and
        # holds ~0.5 GB more at batch 4 with images up to 800 px (benchmarks/deploy_soak.py).
        config.set_onednn_cache_capacity(1)
    else:
        config.disable_onednn()


def _enable_trt(paddle_infer, config, cfg, options):
    """Paddle-TensorRT at the precision of ``options.run_mode``, with dynamic shapes unless fixed."""
    version = tuple(paddle_infer.get_trt_compile_version()) if hasattr(paddle_infer, "get_trt_compile_version") \
        else (0,)
    if not any(version):
        raise DeployError(f"--run_mode {options.run_mode}: this PaddlePaddle build has no TensorRT support")
    precision = {"trt_fp32": paddle_infer.PrecisionType.Float32, "trt_fp16": paddle_infer.PrecisionType.Half,
                 "trt_int8": paddle_infer.PrecisionType.Int8}[options.run_mode]
    batch_size = options.batch_size
    config.enable_tensorrt_engine(workspace_size=1 << 30, max_batch_size=batch_size,
                                  min_subgraph_size=int(cfg.get("min_subgraph_size", 3)),
                                  precision_mode=precision, use_static=False,
                                  use_calib_mode=bool(options.trt_calib_mode))
    if cfg.get("use_dynamic_shape", True):
        shapes = []
        for side in (options.trt_min_shape, options.trt_max_shape, options.trt_opt_shape):
            shapes.append({"image": [batch_size, 3, side, side], "im_shape": [batch_size, 2],
                           "scale_factor": [batch_size, 2]})
        config.set_trt_dynamic_shape_info(*shapes)


class OrtRunner(Runner):
    """ONNX Runtime session on ``model.onnx``."""

    def __init__(self, model_dir, cfg, options):
        try:
            import onnxruntime as ort
        except ImportError as exc:
            raise DeployError(f"--backend onnxruntime needs the onnxruntime package ({exc})") from None
        path = os.path.join(model_dir, "model.onnx")
        if not os.path.isfile(path):
            raise DeployError(f"{path} not found: export with tools/export_model.py --format onnx")
        if options.run_mode != "paddle":
            raise DeployError(f"--run_mode {options.run_mode} is for --backend paddle (Paddle-TensorRT)")
        providers = ["CPUExecutionProvider"]
        if options.device == "GPU":
            if "CUDAExecutionProvider" not in ort.get_available_providers():
                raise DeployError("--device GPU: this onnxruntime has no CUDAExecutionProvider "
                                  "(install onnxruntime-gpu, or use --device CPU)")
            providers.insert(0, "CUDAExecutionProvider")
        session_options = ort.SessionOptions()
        session_options.intra_op_num_threads = int(options.cpu_threads)
        session_options.inter_op_num_threads = 1
        session_options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        session_options.log_severity_level = 3
        self.session = ort.InferenceSession(path, session_options, providers=providers)
        self.input_names = [i.name for i in self.session.get_inputs()]

    def __call__(self, inputs):
        bbox, bbox_num = self.session.run(None, {n: inputs[n] for n in self.input_names})
        return bbox, bbox_num


class OpenVinoRunner(Runner):
    """OpenVINO (CPU) on ``model.onnx`` (f32, bf16) or on the int8 model recorded in ``infer_cfg.yml``.

    The model is compiled once with dynamic shapes (any batch and H x W), on the first call (so that
    :meth:`take_pixels` does not make it compile twice). An input shape that comes
    :attr:`STATIC_AFTER` calls in a row also gets its own static-shape compilation, which runs faster
    than the dynamic one but takes ~1 s to compile; the last :attr:`STATIC_CACHE` such shapes are kept
    and used whenever they come again. A video, a camera or a fixed-size export thus runs static from
    its third frame (which pays the compilation), while a folder of varied sizes, where a size seldom
    repeats in a row, stays on the dynamic model (counting repeats anywhere compiled for sizes that
    came back too seldom to repay it: deploy/README.md).
    """

    STATIC_AFTER = 3
    STATIC_CACHE = 2

    def __init__(self, model_dir, cfg, options):
        try:
            import openvino as ov
        except ImportError as exc:
            raise DeployError(f"--backend openvino needs the openvino package ({exc})") from None
        if options.device != "CPU":
            raise DeployError("--backend openvino runs on --device CPU only (use --backend paddle or onnxruntime "
                              "for GPU)")
        if options.run_mode != "paddle":
            raise DeployError(f"--run_mode {options.run_mode} is for --backend paddle (Paddle-TensorRT)")
        self.core = ov.Core()
        self.layout = RecordLayout.from_infer_cfg(cfg)
        self.precision = options.precision
        self.model_file = openvino_model_file(model_dir, cfg, options.precision)
        self.config = self._compile_config(options)
        self.model = self.core.read_model(self.model_file)
        self.input_names = [i.get_any_name() for i in self.model.inputs]
        self._dynamic = None  # (compiled model, infer request), compiled on the first call (after take_pixels)
        self._static = OrderedDict()  # shape key -> (compiled model, infer request)
        self._last_key, self._streak = None, 0  # the previous call's shapes, and how many calls in a row had them

    def take_pixels(self, mean_rgb, std):
        """OpenVINO's preprocessing steps (uint8 NHWC -> f32, mean, scale, NCHW) become the model's first
        ops, fused with its input layout change; a cv2 normalisation and the f32 input reorder are gone
        (deploy/README.md)."""
        import openvino as ov
        from openvino.preprocess import PrePostProcessor

        ppp = PrePostProcessor(self.model)
        image = ppp.input("image")
        image.tensor().set_element_type(ov.Type.u8).set_layout(ov.Layout("NHWC"))
        image.model().set_layout(ov.Layout("NCHW"))
        image.preprocess().convert_element_type(ov.Type.f32).mean(list(mean_rgb)).scale(float(std))
        self.model = ppp.build()
        self._dynamic = None
        self._static.clear()
        return True

    def _compile_config(self, options):
        """OpenVINO CPU properties of ``options``: threads, latency, precision."""
        config = {"INFERENCE_NUM_THREADS": int(options.cpu_threads), "PERFORMANCE_HINT": "LATENCY"}
        if options.precision == "bf16":
            caps = self.core.get_property("CPU", "OPTIMIZATION_CAPABILITIES")
            if "BF16" not in caps:
                raise DeployError(f"--precision bf16: this CPU has no bf16 support (OpenVINO capabilities: "
                                  f"{', '.join(caps)}); use --precision f32")
            config["INFERENCE_PRECISION_HINT"] = "bf16"
        else:  # f32, and the float parts of the int8 model: OpenVINO's accurate mode, no bf16 downcast
            config.update(INFERENCE_PRECISION_HINT="f32", EXECUTION_MODE_HINT="ACCURACY")
        return config

    def _compile(self, model):
        compiled = self.core.compile_model(model, "CPU", self.config)
        return compiled, compiled.create_infer_request()

    def _compiled_for(self, shapes):
        """The (compiled model, request) for these input shapes: a static one when cached or due, else dynamic."""
        key = tuple(shapes.items())
        self._streak = self._streak + 1 if key == self._last_key else 1
        self._last_key = key
        if key in self._static:
            self._static.move_to_end(key)
            return self._static[key]
        if self._streak < self.STATIC_AFTER:
            if self._dynamic is None:
                self._dynamic = self._compile(self.model)
            return self._dynamic
        model = self.model.clone()
        model.reshape({name: list(shape) for name, shape in shapes.items()})
        self._static[key] = self._compile(model)
        while len(self._static) > self.STATIC_CACHE:
            self._static.popitem(last=False)
        return self._static[key]

    def __call__(self, inputs):
        feeds = {n: inputs[n] for n in self.input_names}
        compiled, request = self._compiled_for({n: tuple(v.shape) for n, v in feeds.items()})
        out = request.infer(feeds)
        # Copies: the request reuses its output buffers on the next call.
        bbox, bbox_num = np.array(out[compiled.output("bbox")]), np.array(out[compiled.output("bbox_num")])
        if len(bbox) > 1:  # OpenVINO's TopK is not stable on ties: restore score order within each image
            image = np.repeat(np.arange(bbox_num.size), bbox_num.reshape(-1).astype(np.int64))
            bbox = bbox[np.lexsort((-self.layout.scores(bbox), image))]
        return bbox, bbox_num


def openvino_model_file(model_dir, cfg, precision):
    """The model file ``--backend openvino`` loads for ``precision``.

    Args:
        model_dir (str): the exported folder.
        cfg (dict): its ``infer_cfg.yml``.
        precision (str): one of :data:`PRECISIONS`.

    Returns:
        str: ``model.onnx`` for f32 and bf16; for int8 the ``quantized.file`` of ``infer_cfg.yml``.

    Raises:
        DeployError: the file is missing, or int8 is asked of a folder without a quantized model.
    """
    if precision != "int8":
        path = os.path.join(model_dir, "model.onnx")
        if not os.path.isfile(path):
            raise DeployError(f"{path} not found: export with tools/export_model.py --format onnx")
        return path
    quantized = cfg.get("quantized")
    if not isinstance(quantized, dict) or not quantized.get("file"):
        raise DeployError(f"{model_dir}: --precision int8 needs an int8 model recorded in infer_cfg.yml "
                          f"(run tools/quantize.py --model_dir {model_dir})")
    path = os.path.join(model_dir, str(quantized["file"]))
    if not os.path.isfile(path):
        raise DeployError(f"{path} not found (infer_cfg.yml quantized.file): run tools/quantize.py again")
    return path


#: ``--backend`` name -> runner class; the closed set of backends.
RUNNERS = {"paddle": PaddleRunner, "onnxruntime": OrtRunner, "openvino": OpenVinoRunner}
BACKENDS = tuple(RUNNERS)
#: The Python package each backend needs.
BACKEND_PACKAGES = {"paddle": "paddle", "onnxruntime": "onnxruntime", "openvino": "openvino"}
#: ``backend="auto"``'s order of preference for f32: ONNX Runtime (a dependency of the package; on real photos of
#: varied sizes as fast as OpenVINO f32 and smaller: deploy/README.md), OpenVINO, Paddle Inference. bf16 and int8
#: run on OpenVINO only.
AUTO_ORDER = ("onnxruntime", "openvino", "paddle")


def installed_backends():
    """The backends whose package is installed, in :data:`AUTO_ORDER`."""
    import importlib.util

    return tuple(b for b in AUTO_ORDER if importlib.util.find_spec(BACKEND_PACKAGES[b]) is not None)


def check_choice(flag, value, allowed):
    """Raise one clear error unless ``value`` is one of ``allowed``.

    Args:
        flag (str): the CLI flag, e.g. ``"--backend"``.
        value: the given value.
        allowed (tuple): the closed set of values.

    Raises:
        DeployError: ``value`` is not in ``allowed`` (the message lists them).
    """
    if value not in allowed:
        raise DeployError(f"{flag} {value!r} is not supported; allowed values: {', '.join(allowed)}")


def check_options(options):
    """Check the closed sets before anything is loaded: device, run mode, backend, precision, batch size,
    malloc tuning.

    Args:
        options (DetectorOptions): how to run.

    Raises:
        DeployError: the first value outside its set, in the order above.
    """
    backend = options.backend
    check_choice("--device", options.device, DEVICES)
    check_choice("--run_mode", options.run_mode, RUN_MODES)
    check_choice("--backend", backend, BACKENDS)
    check_choice("--precision", options.precision, PRECISIONS)
    if backend != "openvino" and options.precision != "f32":
        raise DeployError(f"--precision {options.precision} is for --backend openvino (--backend {backend} runs f32; "
                          "Paddle-TensorRT precisions are --run_mode trt_fp16 / trt_int8)")
    if int(options.batch_size) < 1:
        raise DeployError(f"--batch_size must be >= 1, got {options.batch_size}")
    if options.malloc_tuning not in ("auto", True, False):
        raise DeployError(f"--malloc_tuning {options.malloc_tuning!r} is not supported; allowed values: auto, True, "
                          "False")


def create_runner(model_dir, cfg, options):
    """Build the runner of ``options.backend`` (a key of :data:`RUNNERS`: "paddle", "onnxruntime", "openvino").

    Args:
        model_dir (str): the exported folder.
        cfg (dict): its ``infer_cfg.yml``.
        options (DetectorOptions): how to run.

    Returns:
        Runner: ready to be called on a batch.

    Raises:
        DeployError: an unknown backend, or one that cannot run here (see :class:`Runner`).
    """
    check_choice("--backend", options.backend, BACKENDS)
    return RUNNERS[options.backend](model_dir, cfg, options)
