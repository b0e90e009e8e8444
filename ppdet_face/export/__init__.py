"""Export a face detector for deployment: Paddle Inference program, ONNX, ``infer_cfg.yml``.

``export_model(model, cfg, output_dir)`` writes ``<output_dir>/<config name>/``:

* ``model.json`` (PIR program), ``model.pdiparams``: inputs ``image`` [B, 3, H, W] (normalised, RGB,
  CHW), ``im_shape`` [B, 2] (network-input H, W of each image *before batch padding*), ``scale_factor``
  [B, 2] (``[scale_y, scale_x]`` of that input w.r.t. the original image); outputs ``bbox`` [N, 6]
  (``class, score, x1, y1, x2, y2`` in original-image pixels, images in batch order) and ``bbox_num``
  [B] int32. The graph is the detector's own :meth:`~ppdet_face.modeling.detector.FaceDetector.detect`.
* ``model.onnx`` (``fmt="onnx"``): same inputs and outputs.
* ``infer_cfg.yml``: what a predictor needs (preprocessing, labels, thresholds, shapes).

Modules: :mod:`.program` (tracing, the one export function), :mod:`.ops` (op rewrites while tracing,
and why), :mod:`.onnx` / :mod:`.onnx_nms` (ONNX), :mod:`.infer_cfg`, :mod:`.calibration` (seeded
random weights for ``--allow_random_weights``), :mod:`.quantize` (post-training int8 of an export folder,
``tools/quantize.py``; imports openvino and nncf when called, so it is not imported here).
"""
import os
import shutil

from ppdet_face.utils.logging import get_logger
from ppdet_face_deploy.cards import CARD_FILE

from .calibration import init_random_weights
from .infer_cfg import build_infer_cfg, write_infer_cfg
from .onnx import export_onnx, fix_onnx_graph
from .program import (
    IR_KINDS,
    UNSAFE_PADDLE_OPS,
    InferenceDetector,
    export_input_spec,
    export_paddle,
    export_program,
    program_ops,
)

__all__ = ["EXPORT_FORMATS", "IR_KINDS", "UNSAFE_PADDLE_OPS", "InferenceDetector", "build_infer_cfg",
           "export_input_spec",
           "export_model", "export_onnx", "export_paddle", "export_program", "fix_onnx_graph", "init_random_weights",
           "program_ops", "write_infer_cfg"]

logger = get_logger("export")

#: Formats of :func:`export_model`.
EXPORT_FORMATS = ("paddle", "onnx")


def export_model(model, cfg, output_dir="output_inference", fmt="paddle", fixed_shape=None, random_weights=False,
                 name=None, card=None):
    """Export ``model`` (eval mode, weights loaded) to ``<output_dir>/<name or cfg.filename>/``.

    Args:
        model: a :class:`~ppdet_face.modeling.detector.FaceDetector`.
        cfg (dict): its config (reader section, names).
        output_dir (str): parent folder. Default: "output_inference".
        fmt (str): one of :data:`EXPORT_FORMATS`; ``onnx`` also writes ``model.onnx``. Default: "paddle".
        fixed_shape (int|list|None): fixed network input H x W (adds a Resize to Preprocess);
            None keeps H and W dynamic (images at their original size, as the TestReader). Default: None.
        random_weights (bool): recorded in ``infer_cfg.yml``. Default: False.
        name (str|None): folder name. Default: the config's name.
        card (str|None): a model card (``pretrained/<name>.md``) to copy into the folder as ``model_card.md``
            (``infer_cfg.yml``'s ``model_card`` names it). Default: None.

    Returns:
        str: the export directory.
    """
    if fmt not in EXPORT_FORMATS:
        raise ValueError(f"format={fmt!r} is not supported; allowed values: {', '.join(EXPORT_FORMATS)}")
    model.eval()
    save_dir = os.path.join(output_dir, name or cfg.get("filename") or "model")
    os.makedirs(save_dir, exist_ok=True)
    files = export_paddle(model, save_dir, fixed_shape)
    if fmt == "onnx":
        export_onnx(model, save_dir, fixed_shape)
        files.append("model.onnx")
    content = build_infer_cfg(cfg, model, fixed_shape, random_weights, files)
    if card:
        shutil.copyfile(card, os.path.join(save_dir, CARD_FILE))
        content["model_card"] = CARD_FILE
    write_infer_cfg(os.path.join(save_dir, "infer_cfg.yml"), content)
    logger.info("exported %s to %s (%s)", cfg.get("architecture", "model"), save_dir, ", ".join(files))
    return save_dir
