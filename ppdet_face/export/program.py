"""Tracing a detector (or its trunk) into a saved Paddle program: the one export function.

:func:`export_program` serves deployment (:func:`export_paddle`, the ONNX export) and the WIDER
evaluation's Paddle Inference backend; their different needs are its named options.
"""
import contextlib
import json
import os

import paddle
import paddle.nn as nn

from .ops import export_safe_ops, upsampling_is_2x

__all__ = ["InferenceDetector", "IR_KINDS", "UNSAFE_PADDLE_OPS", "export_input_spec", "export_paddle",
           "export_program", "program_ops"]

#: Ops that must not appear in an exported PIR program (see :mod:`ppdet_face.export.ops`).
UNSAFE_PADDLE_OPS = ("leaky_relu", "nearest_interp", "prior_box", "multiclass_nms", "density_prior_box")

#: Program formats of :func:`export_program`.
IR_KINDS = ("pir", "legacy")


def _hw(fixed_shape):
    return (fixed_shape, fixed_shape) if isinstance(fixed_shape, int) else tuple(fixed_shape)


class InferenceDetector(nn.Layer):
    """The exported computation: :meth:`FaceDetector.detect` on the inputs of the deploy contract.

    ``forward({'image', 'im_shape', 'scale_factor'})`` returns ``(bbox [N, W], bbox_num [B])`` (the detector's
    record) with ``with_nms=True``, else ``(boxes [B, A, 4], scores [B, C, A][, extras [B, A, E]])`` (what the
    ONNX export feeds to its own NMS subgraph). With ``fixed_shape`` the anchors are computed once by the
    detector and stored as constants in the parameters file.
    """

    def __init__(self, model, with_nms=True, fixed_shape=None):
        super().__init__()
        if not hasattr(model, "detect"):
            raise TypeError(f"cannot export {type(model).__name__}: it is not a FaceDetector (no detect())")
        self.model = model
        self.with_nms = with_nms
        self._fixed_anchors = False
        if fixed_shape:
            h, w = _hw(fixed_shape)
            image = paddle.zeros([1, 3, int(h), int(w)], "float32")
            with paddle.no_grad():
                anchors = model.anchors(model.raw_outputs(image)[2], image)
            self.register_buffer("anchors", anchors, persistable=True)
            self._fixed_anchors = True
        self.eval()

    def forward(self, inputs):
        image, im_shape, scale_factor = inputs["image"], inputs["im_shape"], inputs["scale_factor"]
        anchors = self.anchors if self._fixed_anchors else None
        out = self.model.detect(image, im_shape, scale_factor, anchors=anchors, with_nms=self.with_nms)
        if self.with_nms or self.model.post_process.clip == "before_nms":
            return out
        boxes, *rest = out  # keep im_shape a used input (the feed list of the contract is fixed)
        return (boxes + paddle.zeros_like(im_shape[:, :1]).unsqueeze(-1), *rest)


def export_input_spec(fixed_shape=None):
    """The InputSpec of the exported program: dynamic H x W unless ``fixed_shape`` (int or [h, w])."""
    from paddle.static import InputSpec

    image = [None, 3, *map(int, _hw(fixed_shape))] if fixed_shape else [None, 3, None, None]
    return [{"image": InputSpec(image, "float32", "image"),
             "im_shape": InputSpec([None, 2], "float32", "im_shape"),
             "scale_factor": InputSpec([None, 2], "float32", "scale_factor")}]


def program_ops(save_dir):
    """Op names (without dialect prefix) in a saved PIR ``model.json``; empty list if not PIR."""
    path = os.path.join(save_dir, "model.json")
    if not os.path.isfile(path):
        return []
    with open(path, "r", encoding="utf-8") as f:
        program = json.load(f)
    ops = []

    def walk(node):
        if isinstance(node, dict):
            tag = node.get("#")
            if isinstance(tag, str) and "." in tag and "A" in node and "O" in node:
                ops.append(tag.split(".", 1)[1])
            for v in node.values():
                walk(v)
        elif isinstance(node, list):
            for v in node:
                walk(v)

    walk(program.get("program", program))
    return ops


def export_program(layer, save_dir, input_spec, target="paddle", ir="pir", fixed_shape=None):
    """Trace ``layer`` with ``full_graph=True`` and save ``save_dir/model.*``. Returns the file names.

    Args:
        layer (nn.Layer): what to trace (:class:`InferenceDetector`, or a detector trunk).
        save_dir (str): output folder (created).
        input_spec (list): the InputSpec of ``layer.forward``.
        target (str|None): op forms while tracing (:func:`export_safe_ops`): ``"paddle"`` (stay inside
            oneDNN), ``"onnx"`` (portable), or None (no rewrite). Default: "paddle".
        ir (str): one of :data:`IR_KINDS`. ``"pir"`` (``model.json``): deployment. ``"legacy"``
            (``model.pdmodel``): the WIDER evaluation backend, because Paddle 3.3's PIR oneDNN kernels
            crash on this network without the deployment rewrites (pool2d / batch_norm segfault,
            nearest_interp attribute error). Default: "pir".
        fixed_shape (int|list|None): the input size ``upsampling_is_2x`` probes. Default: None.

    Raises:
        ValueError: an unknown ``target`` or ``ir``.
        RuntimeError: a PIR program still contains one of :data:`UNSAFE_PADDLE_OPS`.
    """
    if ir not in IR_KINDS:
        raise ValueError(f"ir={ir!r} is not supported; allowed values: {', '.join(IR_KINDS)}")
    os.makedirs(save_dir, exist_ok=True)
    path = os.path.join(save_dir, "model")
    if ir == "legacy":
        with paddle.pir_utils.OldIrGuard():
            static = paddle.jit.to_static(layer, full_graph=True)
            paddle.jit.save(static, path, input_spec=input_spec)
    else:
        up2 = target == "paddle" and upsampling_is_2x(layer, fixed_shape)
        with export_safe_ops(target, upsample_2x=up2) if target else contextlib.nullcontext():
            static = paddle.jit.to_static(layer, input_spec=input_spec, full_graph=True)
            paddle.jit.save(static, path)
        bad = sorted(set(program_ops(save_dir)) & set(UNSAFE_PADDLE_OPS)) if target else []
        if bad:
            raise RuntimeError(f"exported program still contains {bad}, which break Paddle Inference with oneDNN "
                               "or paddle2onnx; see ppdet_face/export/ops.py")
    return [f for f in ("model.json", "model.pdmodel", "model.pdiparams") if os.path.isfile(os.path.join(save_dir, f))]


def export_paddle(model, save_dir, fixed_shape=None):
    """Trace ``model`` (with decode + NMS) to ``save_dir/model.{json,pdiparams}``. Returns the file names."""
    return export_program(InferenceDetector(model, with_nms=True, fixed_shape=fixed_shape), save_dir,
                          export_input_spec(fixed_shape), target="paddle", fixed_shape=fixed_shape)
