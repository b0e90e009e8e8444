"""Post-training int8 quantization of an exported folder (``tools/quantize.py``), with OpenVINO NNCF.

The exported ``model.onnx`` is converted by OpenVINO (BatchNorm folded into each convolution's weights and bias)
and its constant subgraphs folded (:func:`float_model`), calibrated on real images with ``nncf.quantize``
(min-max ranges per tensor / weight channel, fast bias correction) and saved as OpenVINO IR
(``model_int8.xml`` + ``.bin``) next to it; ``infer_cfg.yml`` gets a ``quantized`` entry that
``deploy/python`` reads for ``--backend openvino --precision int8``. Only the network is quantized:
the ops after the last convolutions (box decode, scores, NMS, clipping) stay float, and so do the ops
reading the stem's output (:func:`stem_readers`).

Why this route (measured on this machine, see ``deploy/README.md``): ONNX Runtime's ``quantize_static``
(QDQ, Conv only) runs 2.2-2.5x *slower* than ONNX Runtime f32 here, and NNCF on the ONNX model gives
an ONNX QDQ model no faster under OpenVINO than the IR route.
"""
import logging
import os
import time

import numpy as np

from eval_tools.wider_format import IMAGE_EXTENSIONS, is_image_name

__all__ = ["INT8_FILE", "QUANT_METHOD", "calibration_files", "default_calib_dir", "float_model", "float_tail",
           "fold_constants", "quantize_export", "quantize_folder", "record_quantized", "stem_readers"]

#: File name of the int8 model in the export folder (OpenVINO IR; ``.bin`` beside it).
INT8_FILE = "model_int8.xml"
QUANT_METHOD = ("nncf.quantize (OpenVINO IR, BatchNorm folded, post-training: min-max ranges, fast bias "
                "correction; the stem's output in float)")


def default_calib_dir():
    """The 1,100 real WIDER training images: ``<shared>/data/wider_face_real/WIDER_train/images``."""
    from ..utils.shared import shared_dir

    return str(shared_dir() / "data" / "wider_face_real" / "WIDER_train" / "images")


def quantize_folder(model_dir, calib_dir=None, num_images=300, seed=0, max_side=None):
    """Quantize an export folder, calibrating on a seeded sample of real images (``tools/quantize.py``).

    Calibration images go through the folder's own ``Preprocess`` (deploy's ``Pipeline``: the predictor's
    preprocessing, not a copy), at their own size like the predictor.

    Args:
        model_dir (str): an export folder with ``model.onnx`` and ``infer_cfg.yml``.
        calib_dir (str|None): calibration images, searched recursively; None: :func:`default_calib_dir`.
        num_images (int): calibration images (a seeded sample). Default: 300.
        seed (int): sampling seed. Default: 0.
        max_side (int|None): dynamic-shape exports: longer side cap (0: none); None: deploy's default.

    Returns:
        dict: the ``quantized`` entry written to ``infer_cfg.yml``.

    Raises:
        ValueError: a missing folder or file, no calibration image, or an unreadable one (one line).
    """
    from ppdet_face_deploy.detector import load_infer_cfg
    from ppdet_face_deploy.preprocess import DEFAULT_MAX_SIDE, DeployError, Pipeline

    calib_dir = calib_dir or default_calib_dir()
    if not os.path.isdir(calib_dir):
        raise ValueError(f"calibration folder {calib_dir} not found (pass --calib_dir or set PPDET_FACE_SHARED)")
    max_side = DEFAULT_MAX_SIDE if max_side is None else max_side
    try:
        pipeline = Pipeline(load_infer_cfg(model_dir).get("Preprocess", []), max_side=max_side)
        files = calibration_files(calib_dir, num_images, seed)
        return quantize_export(model_dir, files, pipeline,
                               {"dir": os.path.abspath(calib_dir), "seed": seed, "max_side": max_side})
    except DeployError as exc:
        raise ValueError(str(exc)) from None


def calibration_files(calib_dir, num_images, seed=0):
    """A seeded sample of the images below ``calib_dir`` (sorted first, so the choice is reproducible).

    Args:
        calib_dir (str): folder searched recursively (e.g. ``WIDER_train/images``).
        num_images (int): how many to take (all when fewer exist).
        seed (int): sampling seed. Default: 0.

    Returns:
        list[str]: image paths.

    Raises:
        ValueError: ``num_images`` < 1, or no image below ``calib_dir``.
    """
    if int(num_images) < 1:
        raise ValueError(f"--num_images must be >= 1, got {num_images}")
    files = sorted(os.path.join(root, f) for root, _, names in os.walk(calib_dir) for f in names
                   if is_image_name(f) and not f.startswith("."))
    if not files:
        raise ValueError(f"{calib_dir}: no calibration images ({', '.join(IMAGE_EXTENSIONS)}) found below it")
    if len(files) <= num_images:
        return files
    pick = np.random.RandomState(seed).choice(len(files), int(num_images), replace=False)
    return [files[i] for i in sorted(pick)]


def fold_constants(model):
    """``model`` with its constant subgraphs folded (in place; returned for chaining).

    The ONNX reader builds each depthwise convolution's weights as ``Reshape(weights, Concat(...))``: NNCF
    then quantizes the reshaped tensor along the wrong axes (ranges ``[C, 1, 1, 1, k]``, not one per
    channel), the CPU plugin cannot run such a convolution in int8 and falls back to float with
    conversions around it. Folded, the weights are one ``[C, 1, 1, k, k]`` constant with per-channel ranges.
    """
    from openvino import passes

    manager = passes.Manager()
    manager.register_pass(passes.ConstantFolding())
    manager.run_passes(model)
    return model


def float_model(onnx_path):
    """The exported network as NNCF quantizes it: ``onnx_path`` through OpenVINO's converter, then
    :func:`fold_constants`.

    The converter folds each BatchNorm into its convolution (scaled weights, then a bias ``Add``).
    ``Core.read_model`` keeps them apart (``Convolution -> BatchNormInference``): NNCF then finds a bias
    only on the head's convolutions, so its bias correction (which undoes the mean shift int8 rounding
    puts into each convolution's output) skips every other one, and the int8 model loses more AP
    (``deploy/README.md``).

    Args:
        onnx_path (str): the export's ``model.onnx``.

    Returns:
        openvino.Model: the float model.
    """
    import openvino as ov

    return fold_constants(ov.convert_model(onnx_path))


def float_tail(model):
    """Names of the OpenVINO ops that neither are convolutions nor feed one: the decode / NMS tail.

    Args:
        model (openvino.Model): the float model.

    Returns:
        list[str]: friendly names of the ops to keep in float (NNCF ``IgnoredScope(names=...)``).
    """
    conv_types = {"Convolution", "GroupConvolution"}
    feeds_conv = set()
    stack = [op for op in model.get_ordered_ops() if op.get_type_name() in conv_types]
    while stack:
        for port in stack.pop().inputs():
            src = port.get_source_output().get_node()
            if src.get_friendly_name() not in feeds_conv:
                feeds_conv.add(src.get_friendly_name())
                stack.append(src)
    skip = conv_types | {"Parameter", "Constant", "Result"}
    return [op.get_friendly_name() for op in model.get_ordered_ops()
            if op.get_type_name() not in skip and op.get_friendly_name() not in feeds_conv]


#: Element-wise ops between the stem convolution and its activation's output (bias, scale, activation).
_STEM_EPILOGUE = frozenset({"Add", "Multiply", "Relu", "Clamp", "HSwish", "Swish", "HSigmoid", "Sigmoid", "PRelu"})


def stem_readers(model):
    """Names of the ops that read the stem's output (the first convolution's, after its bias and activation).

    They are kept in float: int8 rounding of that one activation costs the published BlazeFace-FPN-SSH most of
    its int8 AP loss. NNCF's accuracy control, validating on held-out training images, reverted exactly these
    ops first (``deploy/README.md``).

    Args:
        model (openvino.Model): the float model (:func:`float_model`).

    Returns:
        list[str]: friendly names (NNCF ``IgnoredScope(names=...)``); empty without a convolution.
    """
    node = next((op for op in model.get_ordered_ops() if op.get_type_name() == "Convolution"), None)
    if node is None:
        return []
    while True:
        readers = [port.get_node() for port in node.output(0).get_target_inputs()]
        if len(readers) != 1 or readers[0].get_type_name() not in _STEM_EPILOGUE:
            return [op.get_friendly_name() for op in readers]
        node = readers[0]


def _calibration_inputs(files, preprocess):
    """One model-input dict per image (batch of one), preprocessed by ``preprocess``."""
    import cv2

    for path in files:
        bgr = cv2.imread(path, cv2.IMREAD_COLOR)
        if bgr is None:
            raise ValueError(f"{path}: not a readable image")
        chw, info = preprocess(bgr)
        yield {"image": chw[None].astype(np.float32), "im_shape": info["im_shape"][None].astype(np.float32),
               "scale_factor": info["scale_factor"][None].astype(np.float32)}


def quantize_export(model_dir, files, preprocess, calibration=None):
    """Quantize ``<model_dir>/model.onnx`` to int8 and record it in ``infer_cfg.yml``.

    Args:
        model_dir (str): an export folder with ``model.onnx`` (``tools/export_model.py --format onnx``).
        files (list[str]): calibration images (see :func:`calibration_files`).
        preprocess (callable): BGR uint8 image -> (CHW float32, {"im_shape", "scale_factor"}), the
            folder's ``Preprocess`` (``deploy/python/preprocess.py``'s ``Pipeline``).
        calibration (dict|None): extra facts recorded under ``quantized.calibration`` (source folder,
            seed, ...). Default: None.

    Returns:
        dict: the ``quantized`` entry written to ``infer_cfg.yml``.

    Raises:
        ValueError: no ``model.onnx``, no calibration image, or an unreadable one.
    """
    import nncf
    import openvino as ov

    onnx_path = os.path.join(model_dir, "model.onnx")
    if not os.path.isfile(onnx_path):
        raise ValueError(f"{onnx_path} not found: export with tools/export_model.py --format onnx")
    if not files:
        raise ValueError("no calibration images")
    nncf.set_log_level(logging.WARNING)
    model = float_model(onnx_path)
    tail, stem = float_tail(model), stem_readers(model)
    t0 = time.perf_counter()
    data = list(_calibration_inputs(files, preprocess))
    quantized = nncf.quantize(model, nncf.Dataset(data), subset_size=len(data),
                              ignored_scope=nncf.IgnoredScope(names=tail + stem, validate=False))
    ov.save_model(quantized, os.path.join(model_dir, INT8_FILE))
    entry = {"file": INT8_FILE, "precision": "int8", "method": QUANT_METHOD,
             "float_ops": f"{len(tail)} ops after the last convolutions (decode, NMS); the {len(stem)} ops "
                          "reading the stem's output",
             "calibration": dict(calibration or {}, num_images=len(data),
                                 seconds=round(time.perf_counter() - t0, 1))}
    record_quantized(model_dir, entry)
    return entry


def record_quantized(model_dir, entry):
    """Set the ``quantized`` entry of ``<model_dir>/infer_cfg.yml``; every other key, and the header
    comment, stay as they are (in their order).

    Args:
        model_dir (str): the export folder.
        entry (dict): the ``quantized`` value.

    Returns:
        str: the path of ``infer_cfg.yml``.
    """
    import yaml

    path = os.path.join(model_dir, "infer_cfg.yml")
    with open(path, "r", encoding="utf-8") as f:
        text = f.read()
    header = "".join(line for line in text.splitlines(keepends=True) if line.startswith("#"))
    cfg = yaml.safe_load(text) or {}
    cfg["quantized"] = entry
    with open(path, "w", encoding="utf-8") as f:
        f.write(header)
        yaml.safe_dump(cfg, f, sort_keys=False, default_flow_style=None)
    return path
