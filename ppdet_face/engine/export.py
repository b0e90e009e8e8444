"""Export a BlazeFace detector for deployment: Paddle Inference program and ONNX.

``export_model(model, cfg, output_dir)`` writes ``<output_dir>/<config name>/``:

* ``model.json`` (PIR program; ``model.pdmodel`` instead when Paddle runs with the old IR),
  ``model.pdiparams``: inputs ``image`` [B, 3, H, W] (normalised, RGB, CHW), ``im_shape`` [B, 2]
  (network-input H, W of each image *before batch padding*), ``scale_factor`` [B, 2]
  (``[scale_y, scale_x]`` of that input w.r.t. the original image); outputs ``bbox`` [N, 6]
  (``class, score, x1, y1, x2, y2`` in original-image pixels, images in batch order) and
  ``bbox_num`` [B] int32.
* ``model.onnx`` (``fmt="onnx"``): same inputs and outputs, names ``bbox`` / ``bbox_num``.
* ``infer_cfg.yml``: what a predictor needs (preprocessing, labels, thresholds, shapes).

Upstream breakage on Paddle 3.3 / paddle2onnx 2.1 that this module works around (nothing in
site-packages is touched; each point is checked by tests/engine/test_export.py):

1. PaddleDetection's ``Trainer.export`` traces with ``full_graph=False`` and old-graph
   ``prior_box`` / ``multiclass_nms``. We trace our own wrapper with ``full_graph=True``; the
   model's anchors are plain tensor ops, NMS is ``multiclass_nms3``.
2. ``leaky_relu`` is stored with a *double* ``negative_slope`` attribute in PIR programs; the
   oneDNN ``conv_activation_onednn_fuse_pass`` reads it as a float and Paddle Inference
   segfaults when oneDNN is on; paddle2onnx 2.1 writes the same double's bits as the float
   ``alpha`` of ONNX ``LeakyRelu`` (2.5e-43 instead of 0.01). While tracing we emit
   ``maximum(x, slope * x)`` instead (exact for 0 <= slope <= 1), and the ONNX graph gets a
   real ``LeakyRelu(alpha=slope)`` back by a graph rewrite (so ONNX Runtime can fuse it).
3. ``nearest_interp`` carries an (empty) ``scale`` attribute of type array<double> that the
   oneDNN executor cannot convert ("ConvertPirAttribute2RuntimeAttribute not support"), so
   every oneDNN run fails. While tracing, nearest resizing is emitted as two index gathers
   with exactly the index formula of Paddle's kernel (``floor(i * in / out)``).
4. paddle2onnx maps ``multiclass_nms3`` for batch size 1 only and passes ``nms_top_k`` as
   ONNX's *post*-NMS ``max_output_boxes_per_class`` (Paddle's is a *pre*-NMS candidate cap).
   We export the network up to decoded boxes and scores and append our own NMS subgraph
   (pre-NMS TopK, NonMaxSuppression, per-image counts) that matches Paddle for any batch.
5. The model's own clipping uses the (padded) network-input size; the exported graph also
   clips to ``im_shape / scale_factor`` so images padded inside a batch are clipped to their
   own original size (identical to the model when there is no padding), and gives zero-area
   boxes score 0 before NMS: Paddle's NMS suppresses them through a NaN IoU (0/0) but ONNX
   NonMaxSuppression keeps every one, so the two runtimes would disagree on padded batches.
"""
import contextlib
import json
import os
import shutil
import tempfile

import numpy as np
import paddle
import paddle.nn as nn
import paddle.nn.functional as F

from ppdet_face.utils.logging import get_logger

from .weights import load_weights  # noqa: F401  (the strict loader lives in weights.py; re-exported here)

__all__ = ["InferenceDetector", "export_safe_ops", "export_input_spec", "export_model", "export_paddle",
           "export_onnx", "build_infer_cfg", "load_weights", "init_random_weights", "program_ops",
           "fix_onnx_graph", "UNSAFE_PADDLE_OPS"]

logger = get_logger("export")

#: Ops that must not appear in an exported program (see the module docstring).
UNSAFE_PADDLE_OPS = ("leaky_relu", "nearest_interp", "prior_box", "multiclass_nms", "density_prior_box")

INPUT_NAMES = ("image", "im_shape", "scale_factor")
OUTPUT_NAMES = ("bbox", "bbox_num")

# PaddleDetection deploy's name for this family (its TRT_MIN_SUBGRAPH / SUPPORT_MODELS key).
_DEPLOY_ARCH = "Face"
_MIN_SUBGRAPH_SIZE = 3


# --------------------------------------------------------------------------------------------
# Weights
# --------------------------------------------------------------------------------------------
def _synthetic_batch(seed, size=320, num=4):
    """Smooth random colour images, normalised like the TestReader (for weight calibration)."""
    import cv2

    rng = np.random.RandomState(seed)
    images = []
    for _ in range(num):
        small = rng.rand(size // 16, size // 16, 3).astype("float32") * 255.0
        img = cv2.resize(small, (size, size), interpolation=cv2.INTER_CUBIC)
        img += rng.randn(size, size, 3).astype("float32") * 8.0
        images.append((img - np.array([123.0, 117.0, 104.0], "float32")) / 127.502231)
    return np.stack(images).transpose(0, 3, 1, 2).astype("float32")


def init_random_weights(model, seed=0, face_logit_bias=-8.0, logit_std=1.5, delta_std=0.5, images=None):
    """Seeded random weights that give a *meaningful* detector output (for tests and benchmarks).

    Conv weights come from ``paddle.seed(seed)`` re-initialisation; every BatchNorm gets the
    mean/variance of its input on a synthetic batch (so activations stay O(1) through the
    depth); the head convs are rescaled so face-vs-background logits have std ``logit_std``
    around ``face_logit_bias`` and box deltas have std ``delta_std``. With the defaults a few
    percent of the anchors pass a 0.01 score threshold, so NMS and the exported graph are
    exercised with many boxes. The model is left in eval mode.

    Args:
        model: a BlazeFaceDetector (needs ``backbone``, ``neck``, ``blaze_head``).
        seed (int): seed of the weights and of the calibration images.
        images (np.ndarray|None): [B, 3, H, W] normalised calibration batch; synthetic if None.
    """
    paddle.seed(seed)
    model.eval()
    with paddle.no_grad():
        for layer in model.sublayers():
            if isinstance(layer, nn.Conv2D):
                fan_in = int(np.prod(layer.weight.shape[1:]))
                w = paddle.randn(layer.weight.shape, "float32") * float(np.sqrt(2.0 / fan_in))
                layer.weight.set_value(w)
                if layer.bias is not None:
                    layer.bias.set_value(paddle.zeros(layer.bias.shape, "float32"))
            elif isinstance(layer, nn.BatchNorm2D):
                layer.weight.set_value(paddle.ones(layer.weight.shape, "float32"))
                layer.bias.set_value(paddle.zeros(layer.bias.shape, "float32"))

    x = paddle.to_tensor(_synthetic_batch(seed) if images is None else images)

    def set_stats(layer, inputs):
        t = inputs[0]
        layer._mean.set_value(t.mean(axis=[0, 2, 3]))
        layer._variance.set_value(t.var(axis=[0, 2, 3], unbiased=False) + 1e-3)

    hooks = [bn.register_forward_pre_hook(set_stats) for bn in model.sublayers() if isinstance(bn, nn.BatchNorm2D)]
    try:
        with paddle.no_grad():
            feats = model.backbone({"image": x})
            if getattr(model, "neck", None) is not None:
                feats = model.neck(feats)
    finally:
        for h in hooks:
            h.remove()
    head = model.blaze_head
    ncls = head.num_classes  # foreground classes + background (last)
    with paddle.no_grad():
        for feat, conv in zip(feats, head.score_convs):
            out = conv(feat).numpy()
            out = out.reshape(out.shape[0], -1, ncls, *out.shape[2:])
            diff = out[:, :, :-1] - out[:, :, -1:]
            conv.weight.set_value(conv.weight * float(logit_std / (diff.std() + 1e-6)))
            bias = np.zeros(conv.bias.shape, "float32").reshape(-1, ncls)
            bias[:, :-1] = face_logit_bias
            conv.bias.set_value(bias.reshape(-1))
        for feat, conv in zip(feats, head.box_convs):
            out = conv(feat).numpy()
            conv.weight.set_value(conv.weight * float(delta_std / (out.std() + 1e-6)))
    model.eval()
    return model


# --------------------------------------------------------------------------------------------
# Tracing
# --------------------------------------------------------------------------------------------
def _leaky_relu_as_maximum(x, negative_slope=0.01, name=None):
    """leaky_relu without the ``leaky_relu`` op (whose double attribute breaks oneDNN and paddle2onnx)."""
    slope = float(negative_slope)
    if 0.0 <= slope <= 1.0:
        return paddle.maximum(x, x * slope)
    return paddle.minimum(x, x * slope)


def _leaky_relu_as_relus(x, negative_slope=0.01, name=None):
    """leaky_relu as ``relu(x) - relu(x * -slope)``: oneDNN kernels only (Paddle program).

    Exact: for x > 0 it is ``x - 0``; for x < 0 it is ``0 - (x * -slope)``, and IEEE rounding is
    symmetric in the sign, so both equal ``x * slope`` bit for bit. ``maximum`` (the portable
    form) has no oneDNN kernel: each one costs two layout conversions around a plain kernel.
    """
    slope = float(negative_slope)
    if not 0.0 <= slope <= 1.0:
        return _leaky_relu_as_maximum(x, slope)
    return F.relu(x) - F.relu(x * -slope)


def _nearest_index(in_size, out_size):
    """Source indices of nearest resizing, ``floor(i * in / out)`` in float32 (Paddle's kernel)."""
    ratio = paddle.cast(in_size, "float32") / paddle.cast(out_size, "float32")
    idx = paddle.floor(paddle.arange(out_size, dtype="float32") * ratio)
    return paddle.cast(idx, "int64")


def _nearest_up2(x, out_h, out_w):
    """Nearest resizing to ``out`` when ``out`` is ``2 * in`` or ``2 * in - 1`` (both axes).

    For those sizes Paddle's ``floor(i * in / out)`` is ``floor(i / 2)``, i.e. every pixel
    repeated 2 x 2 (then cropped): a stride-2 2x2 transposed convolution with identity weights,
    one oneDNN op (exact: each output is ``x * 1`` plus zeros) instead of two plain gathers and
    their layout conversions. Only used when ``_upsampling_is_2x`` proved the sizes.
    """
    c = x.shape[1]
    weight = paddle.eye(c, dtype=x.dtype).reshape([c, c, 1, 1]).tile([1, 1, 2, 2])  # constant-folded
    y = F.conv2d_transpose(x, weight, stride=2)
    return y[:, :, :out_h, :out_w]


@contextlib.contextmanager
def export_safe_ops(target="onnx", upsample_2x=False):
    """Within the block, ``F.leaky_relu`` and nearest ``F.interpolate`` emit export-safe ops.

    Every replacement computes the same values as the original (see the module docstring,
    points 2 and 3); anything else is passed to the original functions.

    Args:
        target (str): ``"onnx"``: portable forms (``maximum(x, slope * x)``, which the ONNX
            rewrite turns back into ``LeakyRelu``, and index gathers). ``"paddle"``: forms that
            stay inside oneDNN in Paddle Inference (``relu(x) - relu(-x) * slope``, and the
            transposed convolution of ``_nearest_up2`` when ``upsample_2x``).
        upsample_2x (bool): every nearest resize of the traced model goes to ``2 * in`` or
            ``2 * in - 1`` (checked by ``_upsampling_is_2x``); only used with ``"paddle"``.
    """
    if target not in ("onnx", "paddle"):
        raise ValueError(f"target={target!r} is not supported; allowed values: 'onnx', 'paddle'")
    orig_leaky, orig_interp = F.leaky_relu, F.interpolate
    up2 = upsample_2x and target == "paddle"

    def interpolate(x, size=None, scale_factor=None, mode="nearest", align_corners=False, align_mode=0,
                    data_format=None, recompute_scale_factor=None, name=None):
        simple = (mode == "nearest" and size is not None and not align_corners and data_format in (None, "NCHW")
                  and len(x.shape) == 4)
        if not simple:
            return orig_interp(x, size=size, scale_factor=scale_factor, mode=mode, align_corners=align_corners,
                               align_mode=align_mode, data_format=data_format,
                               recompute_scale_factor=recompute_scale_factor, name=name)
        out_h, out_w = size[0], size[1]
        if up2 and x.shape[1] is not None and x.shape[1] > 0:
            return _nearest_up2(x, out_h, out_w)
        shape = paddle.shape(x)
        x = paddle.gather(x, _nearest_index(shape[2], out_h), axis=2)
        return paddle.gather(x, _nearest_index(shape[3], out_w), axis=3)

    F.leaky_relu = _leaky_relu_as_relus if target == "paddle" else _leaky_relu_as_maximum
    F.interpolate = interpolate
    try:
        yield
    finally:
        F.leaky_relu, F.interpolate = orig_leaky, orig_interp


#: Input sizes (H, W) at which ``_upsampling_is_2x`` checks a dynamic-shape model: odd and even,
#: so every stride-2 stage meets both parities.
_PROBE_SIZES = ((64, 64), (97, 131), (161, 95), (33, 250), (200, 333))


def _upsampling_is_2x(layer, fixed_shape=None):
    """True when every nearest ``F.interpolate`` of ``layer``'s forward resizes to ``2 * in`` or
    ``2 * in - 1`` at the probe sizes (the fixed shape, else ``_PROBE_SIZES``), and at least one
    resize happens. Runs the layer in dygraph on zero images."""
    orig_interp = F.interpolate
    seen, ok = [], [True]

    def record(x, size=None, scale_factor=None, mode="nearest", **kwargs):
        out = orig_interp(x, size=size, scale_factor=scale_factor, mode=mode, **kwargs)
        if mode != "nearest" or size is None:
            ok[0] = False
        else:
            for i, o in zip(x.shape[2:], out.shape[2:]):
                ok[0] = ok[0] and int(o) in (2 * int(i), 2 * int(i) - 1)
        seen.append(1)
        return out

    if fixed_shape:
        sizes = [(fixed_shape, fixed_shape) if isinstance(fixed_shape, int) else tuple(fixed_shape)]
    else:
        sizes = _PROBE_SIZES
    F.interpolate = record
    try:
        with paddle.no_grad():
            for h, w in sizes:
                layer({"image": paddle.zeros([1, 3, int(h), int(w)], "float32"),
                       "im_shape": paddle.to_tensor([[float(h), float(w)]]), "scale_factor": paddle.ones([1, 2])})
    except Exception:  # noqa: BLE001  (any failure: keep the portable gathers)
        return False
    finally:
        F.interpolate = orig_interp
    return bool(seen) and ok[0]


def _post_process_of(model):
    pp = getattr(model, "post_process", None)
    needed = ("decode", "nms", "score_threshold", "nms_top_k", "keep_top_k", "nms_threshold")
    if not (hasattr(model, "head_outputs") and pp is not None and all(hasattr(pp, a) for a in needed)):
        raise TypeError(f"cannot export {type(model).__name__}: export needs a BlazeFaceDetector-style model "
                        "(head_outputs() and a BlazeFacePostProcess with decode())")
    return pp


def _fast_decode_spec(model):
    """(steps, min_sizes, offset, variances) when the export can decode in input pixels, else None.

    Needs the BlazeFace layout: ``backbone`` / optional ``neck`` / ``blaze_head`` whose
    ``anchor_generator`` has ``steps``, ``min_sizes`` and ``offset`` (square anchors).
    """
    head = getattr(model, "blaze_head", None)
    gen = getattr(head, "anchor_generator", None)
    post = getattr(model, "post_process", None)
    if head is None or getattr(model, "backbone", None) is None or gen is None:
        return None
    if not all(hasattr(gen, a) for a in ("steps", "min_sizes", "offset")):
        return None
    variances = [float(v) for v in getattr(post, "prior_box_var", ())]
    if len(variances) != 4:
        return None
    return ([float(s) for s in gen.steps], [[float(v) for v in sizes] for sizes in gen.min_sizes], float(gen.offset),
            variances)


def _anchor_arrays(feat_sizes, steps, min_sizes, offset):
    """Anchor centres and half sides in network-input pixels, [A, 2] each, in the head's order
    (level, row, column, size): the values the runtime ops of ``_runtime_anchors`` compute."""
    ctrs, halves = [], []
    for (h, w), step, sizes in zip(feat_sizes, steps, min_sizes):
        k = len(sizes)
        xs = (np.arange(w, dtype=np.float32) + np.float32(offset)) * np.float32(step)
        ys = (np.arange(h, dtype=np.float32) + np.float32(offset)) * np.float32(step)
        cx = np.broadcast_to(xs.reshape(1, w, 1), (h, w, k))
        cy = np.broadcast_to(ys.reshape(h, 1, 1), (h, w, k))
        ctrs.append(np.stack([cx, cy], axis=-1).reshape(-1, 2))
        half = np.asarray(sizes, np.float32) * np.float32(0.5)
        halves.append(np.broadcast_to(half.reshape(1, 1, k, 1), (h, w, k, 2)).reshape(-1, 2))
    return np.concatenate(ctrs).astype(np.float32), np.concatenate(halves).astype(np.float32)


class InferenceDetector(nn.Layer):
    """The exported computation: network, decode, clip to each image, optional NMS.

    ``forward({'image', 'im_shape', 'scale_factor'})`` returns ``(bbox [N, 6], bbox_num [B])``
    with ``with_nms=True``, else ``(boxes [B, A, 4], scores [B, C, A])`` (what the ONNX export
    feeds to its own NMS subgraph).

    With a BlazeFace layout (see ``_fast_decode_spec``) the anchors and the decode are
    rewritten for deployment speed, with the values of ``BlazeFacePostProcess.decode`` (up to
    float rounding): anchors are centre / half-side pairs in network-input pixels (constants
    in the parameters file when ``fixed_shape`` is given, a few ``arange``/``expand`` ops
    otherwise) instead of normalised corners rebuilt from ``meshgrid``/``stack`` every call,
    and the decode works on ``[B, A, 2]`` (x, y) pairs with no per-coordinate slicing, so
    Paddle Inference runs ~30 ops instead of ~120 after the network and none of oneDNN's
    slow reference broadcasting kernels (both operands broadcast). ``fast_decode=False``
    keeps the model's own decode.
    """

    def __init__(self, model, with_nms=True, fixed_shape=None, fast_decode=True):
        super().__init__()
        self.model = model
        self.post = _post_process_of(model)
        self.with_nms = with_nms
        self._spec = _fast_decode_spec(model) if fast_decode else None
        self._fixed_anchors = False
        if self._spec is not None and fixed_shape:
            h, w = (fixed_shape, fixed_shape) if isinstance(fixed_shape, int) else fixed_shape
            with paddle.no_grad():
                feats = self._features(paddle.zeros([1, 3, int(h), int(w)], "float32"))
            ctr, half = _anchor_arrays([f.shape[2:4] for f in feats], *self._spec[:3])
            self.register_buffer("anchor_ctr", paddle.to_tensor(ctr), persistable=True)
            self.register_buffer("anchor_half", paddle.to_tensor(half), persistable=True)
            self._fixed_anchors = True
        self.eval()

    def _features(self, image):
        feats = self.model.backbone({"image": image})
        if getattr(self.model, "neck", None) is not None:
            feats = self.model.neck(feats)
        return feats

    def _runtime_anchors(self, feats):
        steps, min_sizes, offset, _ = self._spec
        ctrs, halves = [], []
        for feat, step, sizes in zip(feats, steps, min_sizes):
            shape = paddle.shape(feat)
            h, w, k = shape[2], shape[3], len(sizes)
            xs = (paddle.arange(w, dtype="float32") + offset) * step
            ys = (paddle.arange(h, dtype="float32") + offset) * step
            cx = paddle.expand(xs.reshape([1, -1, 1]), [h, w, k])
            cy = paddle.expand(ys.reshape([-1, 1, 1]), [h, w, k])
            ctrs.append(paddle.stack([cx, cy], axis=-1).reshape([-1, 2]))
            half = paddle.to_tensor([[v * 0.5, v * 0.5] for v in sizes], dtype="float32").reshape([1, 1, k, 2])
            halves.append(paddle.expand(half, [h, w, k, 2]).reshape([-1, 2]))
        return paddle.concat(ctrs, axis=0), paddle.concat(halves, axis=0)

    def _fast_decode(self, image, im_shape, scale_factor):
        feats = self._features(image)
        deltas, logits, _ = self.model.blaze_head(feats, image)  # its anchors are unused (pruned)
        if self._fixed_anchors:
            a_ctr, a_half = self.anchor_ctr, self.anchor_half
        else:
            a_ctr, a_half = self._runtime_anchors(feats)
        v = self._spec[3]
        d_xy, d_wh = paddle.split(paddle.concat(deltas, axis=1), 2, axis=-1)      # [B, A, 2] each
        var_xy = paddle.to_tensor([2.0 * v[0], 2.0 * v[1]], dtype="float32")
        var_wh = paddle.to_tensor([v[2], v[3]], dtype="float32")
        ctr = a_ctr + d_xy * (a_half * var_xy)                                      # centre + d * var * side
        half = paddle.exp(d_wh * var_wh) * a_half                                   # exp(d * var) * side / 2
        scale = paddle.concat([scale_factor[:, 1:2], scale_factor[:, 0:1]], axis=1).unsqueeze(1)  # [B, 1, 2] x, y
        x1y1 = (ctr - half) / scale                                                 # original-image pixels
        x2y2 = (ctr + half) / scale
        if getattr(self.post, "clip", True):  # to each image's own size (im_shape / scale_factor)
            orig = im_shape / scale_factor
            limit = paddle.concat([orig[:, 1:2], orig[:, 0:1]], axis=1).unsqueeze(1)
            x1y1 = paddle.minimum(F.relu(x1y1), limit)
            x2y2 = paddle.minimum(F.relu(x2y2), limit)
        else:  # keep im_shape a used input (the feed list is fixed)
            x1y1 = x1y1 + paddle.zeros_like(im_shape[:, :1]).unsqueeze(-1)
        boxes = paddle.concat([x1y1, x2y2], axis=-1)                                # [B, A, 4]
        probs = F.softmax(paddle.concat(logits, axis=1), axis=-1)[:, :, :-1]        # [B, A, C], background last
        if probs.shape[-1] == 1:
            scores = probs.reshape([0, 1, -1])
        else:
            scores = probs.transpose([0, 2, 1])
        # Paddle's NMS drops zero-area boxes (NaN IoU), ONNX's keeps them: make both drop them.
        valid = paddle.cast(paddle.min(x2y2 - x1y1, axis=-1) > 0, scores.dtype)    # [B, A]
        return boxes, scores * valid.unsqueeze(1)

    def forward(self, inputs):
        image, im_shape, scale_factor = inputs["image"], inputs["im_shape"], inputs["scale_factor"]
        if self._spec is not None:
            boxes, scores = self._fast_decode(image, im_shape, scale_factor)
        else:
            deltas, logits, anchors = self.model.head_outputs(image)
            boxes, scores = self.post.decode(deltas, logits, anchors, image, scale_factor, im_shape)
            if not getattr(self.post, "clip", True):  # keep im_shape a used input (the feed list is fixed)
                boxes = boxes + paddle.zeros_like(im_shape[:, :1]).unsqueeze(-1)
        if not self.with_nms:
            return boxes, scores
        return self.post.nms(boxes, scores)


def export_input_spec(fixed_shape=None):
    """The InputSpec of the exported program: dynamic H x W unless ``fixed_shape`` (int or [h, w])."""
    from paddle.static import InputSpec

    if fixed_shape:
        h, w = (fixed_shape, fixed_shape) if isinstance(fixed_shape, int) else fixed_shape
        image = [None, 3, int(h), int(w)]
    else:
        image = [None, 3, None, None]
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


def _save_program(layer, save_dir, input_spec, target="onnx", fixed_shape=None):
    os.makedirs(save_dir, exist_ok=True)
    up2 = target == "paddle" and _upsampling_is_2x(layer, fixed_shape)
    with export_safe_ops(target, upsample_2x=up2):
        static = paddle.jit.to_static(layer, input_spec=input_spec, full_graph=True)
        paddle.jit.save(static, os.path.join(save_dir, "model"))
    bad = sorted(set(program_ops(save_dir)) & set(UNSAFE_PADDLE_OPS))
    if bad:
        raise RuntimeError(f"exported program still contains {bad}, which break Paddle Inference with oneDNN "
                           "or paddle2onnx; see ppdet_face/engine/export.py")
    return [f for f in ("model.json", "model.pdmodel", "model.pdiparams") if os.path.isfile(os.path.join(save_dir, f))]


def export_paddle(model, save_dir, fixed_shape=None):
    """Trace ``model`` (with NMS) to ``save_dir/model.{json|pdmodel,pdiparams}``. Returns the file names."""
    return _save_program(InferenceDetector(model, with_nms=True, fixed_shape=fixed_shape), save_dir,
                         export_input_spec(fixed_shape), target="paddle", fixed_shape=fixed_shape)


# --------------------------------------------------------------------------------------------
# ONNX
# --------------------------------------------------------------------------------------------
def fix_onnx_graph(onnx_model):
    """Rewrite ``Max(x, Mul(x, a))`` (``0 < a < 1`` scalar) into ``LeakyRelu(x, alpha=a)``.

    Returns the number of rewrites. Also raises if the graph has a ``LeakyRelu`` whose alpha
    is not a sane slope (the paddle2onnx double-as-float bug), which we never expect here.
    """
    from onnx import helper, numpy_helper

    graph = onnx_model.graph
    consts = {init.name: init for init in graph.initializer}
    for node in graph.node:
        if node.op_type == "Constant":
            for attr in node.attribute:
                if attr.name == "value":
                    consts[node.output[0]] = attr.t
    producers = {out: node for node in graph.node for out in node.output}
    consumers = {}
    for node in graph.node:
        for name in node.input:
            consumers.setdefault(name, []).append(node)
    graph_outputs = {o.name for o in graph.output}

    def scalar(name):
        if name not in consts:
            return None
        arr = numpy_helper.to_array(consts[name])
        return float(arr.reshape(-1)[0]) if arr.size == 1 else None

    def zero(name):
        value = scalar(name)
        return value is not None and value == 0.0

    def through(name):
        """Walk back from ``name`` over Identity and ``+ 0`` nodes: (source name, nodes passed)."""
        chain = []
        while name in producers and name not in graph_outputs and len(consumers.get(name, [])) == 1:
            node = producers[name]
            if node.op_type == "Identity":
                chain.append(node)
                name = node.input[0]
            elif node.op_type == "Add" and len(node.input) == 2 and (zero(node.input[0]) or zero(node.input[1])):
                chain.append(node)
                name = node.input[1] if zero(node.input[0]) else node.input[0]
            else:
                break
        return name, chain

    def source(name):
        while name in producers and producers[name].op_type == "Identity":
            name = producers[name].input[0]
        return name

    rewrites, drop = [], set()
    for node in graph.node:
        if node.op_type != "Max" or len(node.input) != 2:
            continue
        for x_name, m_name in (node.input, node.input[::-1]):
            m_name, chain = through(m_name)
            mul = producers.get(m_name)
            if mul is None or mul.op_type != "Mul" or len(consumers.get(m_name, [])) != 1 or m_name in graph_outputs:
                continue
            srcs = [source(i) for i in mul.input]
            if source(x_name) not in srcs:
                continue
            other = mul.input[1] if srcs[0] == source(x_name) else mul.input[0]
            alpha = scalar(other) if scalar(other) is not None else scalar(source(other))  # Identity(Constant)
            if alpha is None or not 0.0 < alpha < 1.0:
                continue
            rewrites.append((node, [mul] + chain, x_name, alpha))
            break
    new_nodes = {}
    for node, dead, x_name, alpha in rewrites:
        drop.update(id(n) for n in dead)
        new_nodes[id(node)] = helper.make_node("LeakyRelu", [x_name], list(node.output), name=node.name + "_leaky",
                                               alpha=alpha)
    kept = []
    for node in graph.node:
        if id(node) in drop:
            continue
        kept.append(new_nodes.get(id(node), node))
    # Drop nodes left without consumers (e.g. the Identity that fed the removed Mul).
    while True:
        used = {name for node in kept for name in node.input} | graph_outputs
        alive = [node for node in kept if any(out in used for out in node.output)]
        if len(alive) == len(kept):
            break
        kept = alive
    del graph.node[:]
    graph.node.extend(kept)
    used = {name for node in kept for name in node.input}
    unused = [init for init in graph.initializer if init.name not in used]
    for init in unused:
        graph.initializer.remove(init)
    for node in graph.node:
        if node.op_type == "LeakyRelu":
            alpha = next((a.f for a in node.attribute if a.name == "alpha"), 0.01)
            if not 1e-6 < alpha < 1.0:
                raise RuntimeError(f"ONNX LeakyRelu {node.name} has alpha={alpha!r} (paddle2onnx attribute bug)")
    return len(rewrites)


def _append_nms(onnx_model, boxes_name, scores_name, post, num_classes):
    """Append Paddle-equivalent NMS (see module docstring, point 4) producing ``bbox`` and ``bbox_num``."""
    from onnx import TensorProto, helper

    if num_classes != 1:
        raise NotImplementedError(f"ONNX export supports one foreground class (got {num_classes}); "
                                  "export with --format paddle")
    g = onnx_model.graph
    nodes = []
    inits = []

    def const(name, value, dtype):
        arr = np.array(value, dtype=dtype)
        inits.append(helper.make_tensor("nms." + name, {np.int64: TensorProto.INT64,
                                                        np.float32: TensorProto.FLOAT}[dtype],
                                        arr.shape, arr.reshape(-1).tolist()))
        return "nms." + name

    def node(op, inputs, outputs=None, **attrs):
        outputs = outputs or [f"nms.{op.lower()}_{len(nodes)}"]
        nodes.append(helper.make_node(op, inputs, outputs, name=f"nms.{op}_{len(nodes)}", **attrs))
        return outputs if len(outputs) > 1 else outputs[0]

    c0, c1, c2, c4 = (const(n, [v], np.int64) for n, v in (("zero", 0), ("one", 1), ("two", 2), ("four", 4)))
    top_k = const("nms_top_k", [post.nms_top_k if post.nms_top_k > 0 else 2 ** 31 - 1], np.int64)
    keep = const("keep_top_k", [post.keep_top_k if post.keep_top_k > 0 else 2 ** 31 - 1], np.int64)
    iou = const("iou", [post.nms_threshold], np.float32)
    thr = const("score_threshold", [post.score_threshold], np.float32)

    # Pre-NMS candidates: the nms_top_k highest scores of each image (Paddle's nms_top_k).
    s2 = node("Squeeze", [scores_name], axes=[1])                                   # [B, A]
    shape_s = node("Shape", [s2])
    n_anchor = node("Gather", [shape_s, c1], axis=0)                                # [1]
    k = node("ReduceMin", [node("Concat", [n_anchor, top_k], axis=0)], axes=[0], keepdims=1)  # int64 Min needs opset 12
    top_v, top_i = node("TopK", [s2, k], ["nms.top_v", "nms.top_i"], axis=1, largest=1, sorted=1)
    idx3 = node("Unsqueeze", [top_i], axes=[2])                                    # [B, k, 1]
    shape_i = node("Shape", [top_i])
    idx_shape = node("Concat", [shape_i, c4], axis=0)
    idx4 = node("Expand", [idx3, idx_shape])                                       # [B, k, 4]
    cand_boxes = node("GatherElements", [boxes_name, idx4], axis=1)                # [B, k, 4]
    cand_scores = node("Unsqueeze", [top_v], axes=[1])                             # [B, 1, k]
    sel = node("NonMaxSuppression", [cand_boxes, cand_scores, keep, iou, thr], center_point_box=0)  # [K, 3]
    b_col = node("Gather", [sel, c0], axis=1)                                      # [K, 1]
    i_col = node("Gather", [sel, c2], axis=1)
    bi = node("Concat", [b_col, i_col], axis=1)                                    # [K, 2]
    sel_boxes = node("GatherND", [cand_boxes, bi])                                 # [K, 4]
    sel_scores = node("GatherND", [top_v, bi])                                     # [K]
    # Order: image, then score descending (TopK is stable, so sort by score, then by image).
    n_sel = node("Shape", [sel_scores])
    _, by_score = node("TopK", [sel_scores, n_sel], ["nms.s_v", "nms.s_i"], axis=0, largest=1, sorted=1)
    b_flat = node("Squeeze", [b_col], axes=[1])
    b_sorted = node("Gather", [b_flat, by_score], axis=0)
    neg_b = node("Neg", [node("Cast", [b_sorted], to=TensorProto.FLOAT)])
    _, by_image = node("TopK", [neg_b, n_sel], ["nms.b_v", "nms.b_i"], axis=0, largest=1, sorted=1)
    order = node("Gather", [by_score, by_image], axis=0)
    out_scores = node("Unsqueeze", [node("Gather", [sel_scores, order], axis=0)], axes=[1])
    out_boxes = node("Gather", [sel_boxes, order], axis=0)
    out_class = node("Cast", [node("Mul", [out_scores, const("fzero", [0.0], np.float32)])], to=TensorProto.FLOAT)
    node("Concat", [out_class, out_scores, out_boxes], ["bbox"], axis=1)
    # Per-image counts.
    batch = node("Gather", [node("Shape", [boxes_name]), c0], axis=0)             # [1]
    img_ids = node("Range", [node("Squeeze", [c0], axes=[0]), node("Squeeze", [batch], axes=[0]),
                             node("Squeeze", [c1], axes=[0])])                     # [B]
    eq = node("Equal", [b_col, node("Unsqueeze", [img_ids], axes=[0])])            # [K, B]
    counts = node("ReduceSum", [node("Cast", [eq], to=TensorProto.INT32)], axes=[0], keepdims=0)
    node("Identity", [counts], ["bbox_num"])

    g.node.extend(nodes)
    g.initializer.extend(inits)
    del g.output[:]
    g.output.extend([helper.make_tensor_value_info("bbox", TensorProto.FLOAT, [None, 6]),
                     helper.make_tensor_value_info("bbox_num", TensorProto.INT32, [None])])


def export_onnx(model, save_dir, fixed_shape=None, opset=11, check=True):
    """Write ``save_dir/model.onnx`` (inputs/outputs as the Paddle program). Returns its path.

    The network up to decoded, clipped boxes and scores goes through paddle2onnx; NMS is our
    own ONNX subgraph; ``Max(x, a*x)`` is folded back into ``LeakyRelu``.
    """
    import onnx
    import paddle2onnx

    os.makedirs(save_dir, exist_ok=True)
    tmp = tempfile.mkdtemp(prefix="ppdet_face_onnx_")
    try:
        # The model's own decode (not InferenceDetector's fast one): its speed does not matter to
        # ONNX Runtime (within 0.5 ms), and ORT's float noise (~4e-5 on scores) decides the NMS order
        # of near-tied boxes; with this graph the runtimes keep their checked agreement with dygraph.
        _save_program(InferenceDetector(model, with_nms=False, fixed_shape=fixed_shape, fast_decode=False), tmp,
                      export_input_spec(fixed_shape))
        program = os.path.join(tmp, "model.json")
        if not os.path.isfile(program):
            program = os.path.join(tmp, "model.pdmodel")
        raw = os.path.join(tmp, "raw.onnx")
        os.environ.setdefault("POLYGRAPHY_AUTOINSTALL_DEPS", "0")
        paddle2onnx.export(program, os.path.join(tmp, "model.pdiparams"), raw, opset_version=opset,
                           enable_onnx_checker=True, enable_optimize=False, verbose=False)
        onnx_model = onnx.load(raw)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    version = max((o.version for o in onnx_model.opset_import if o.domain in ("", "ai.onnx")), default=opset)
    if version > 12:  # our NMS subgraph uses the opset-11/12 forms of Squeeze, Unsqueeze and ReduceSum
        raise RuntimeError(f"paddle2onnx raised the opset to {version}; the appended NMS needs opset <= 12")
    outputs = [o.name for o in onnx_model.graph.output]
    if len(outputs) != 2:
        raise RuntimeError(f"unexpected paddle2onnx outputs {outputs}")
    fixed = fix_onnx_graph(onnx_model)
    post = _post_process_of(model)
    num_classes = int(model.blaze_head.num_classes) - 1
    _append_nms(onnx_model, outputs[0], outputs[1], post, num_classes)
    onnx_model.producer_name = "ppdet_face"
    if check:
        onnx.checker.check_model(onnx_model)
    path = os.path.join(save_dir, "model.onnx")
    onnx.save(onnx_model, path)
    logger.info("ONNX model written to %s (%d LeakyRelu restored, NMS appended)", path, fixed)
    return path


# --------------------------------------------------------------------------------------------
# infer_cfg.yml
# --------------------------------------------------------------------------------------------
def _preprocess_from_reader(cfg, fixed_shape):
    reader = cfg.get("TestReader") or cfg.get("EvalReader") or {}
    ops = []
    for item in reader.get("sample_transforms", []) or []:
        (name, args), = item.items()
        args = dict(args or {})
        if name == "Decode":
            continue
        if name == "NormalizeImage":
            ops.append({"type": "NormalizeImage", "mean": [float(v) for v in args.get("mean", [0.485, 0.456, 0.406])],
                        "std": [float(v) for v in args.get("std", [0.229, 0.224, 0.225])],
                        "is_scale": bool(args.get("is_scale", True)),
                        "norm_type": args.get("norm_type", "mean_std")})
        elif name == "Resize":
            if fixed_shape:
                continue  # replaced below
            ops.append({"type": "Resize", "target_size": [int(v) for v in args["target_size"]],
                        "keep_ratio": bool(args.get("keep_ratio", True)), "interp": int(args.get("interp", 1))})
        elif name == "Permute":
            ops.append({"type": "Permute"})
        elif name in ("PadStride",):
            ops.append({"type": name, **args})
        else:
            raise ValueError(f"TestReader transform {name} has no deploy equivalent; "
                             "supported: Decode, Resize, NormalizeImage, Permute, PadStride")
    if fixed_shape:
        h, w = (fixed_shape, fixed_shape) if isinstance(fixed_shape, int) else fixed_shape
        ops.insert(0, {"type": "Resize", "target_size": [int(h), int(w)], "keep_ratio": False, "interp": 1})
    if not any(op["type"] == "Permute" for op in ops):
        ops.append({"type": "Permute"})
    return ops


def build_infer_cfg(cfg, model, fixed_shape=None, random_weights=False, files=()):
    """The ``infer_cfg.yml`` content (a dict) for ``model`` exported from ``cfg``."""
    post = _post_process_of(model)
    h, w = ((fixed_shape, fixed_shape) if isinstance(fixed_shape, int) else fixed_shape) if fixed_shape else (-1, -1)
    label_list = ["face"] if int(cfg.get("num_classes", 1)) == 1 else [str(i) for i in range(cfg.num_classes)]
    return {
        "mode": "paddle",
        "arch": _DEPLOY_ARCH,
        "architecture": cfg.get("architecture", "BlazeFaceDetector"),
        "config_name": cfg.get("filename", ""),
        "min_subgraph_size": _MIN_SUBGRAPH_SIZE,
        "draw_threshold": 0.5,
        "metric": cfg.get("metric", "WiderFace"),
        "use_dynamic_shape": not fixed_shape,
        "input_shape": [-1, 3, int(h), int(w)],
        "channel_order": "RGB",
        "Preprocess": _preprocess_from_reader(cfg, fixed_shape),
        "label_list": label_list,
        "inputs": list(INPUT_NAMES),
        "outputs": list(OUTPUT_NAMES),
        "NMS": {"score_threshold": post.score_threshold, "nms_threshold": post.nms_threshold,
                "nms_top_k": post.nms_top_k, "keep_top_k": post.keep_top_k},
        "batch_padding": {"value": 0.0, "where": "bottom/right, after NormalizeImage"},
        "random_weights": bool(random_weights),
        "files": list(files),
    }


_INFER_CFG_HEADER = """\
# Written by tools/export_model.py (ppdet_face). Deploy contract of this folder:
#   image: decode to RGB (channel_order), apply Preprocess in order, HWC -> CHW (Permute),
#          pad a batch bottom/right with 0.0 (after normalisation) to its largest H, W.
#   NormalizeImage: x = (x / 255 if is_scale else x); x = (x - mean) / std, mean/std in RGB order
#                   (mean[0] is R); [123, 117, 104] is the pixel mean, not ImageNet's [0-1] one.
#   im_shape: [H, W] of each image after Resize, before padding; scale_factor: [H/H0, W/W0].
#   outputs: bbox [N, 6] = class, score, x1, y1, x2, y2 in original pixels; bbox_num [B] int32.
"""


def write_infer_cfg(path, content):
    import yaml

    with open(path, "w", encoding="utf-8") as f:
        f.write(_INFER_CFG_HEADER)
        yaml.safe_dump(content, f, sort_keys=False, default_flow_style=None)
    return path


def export_model(model, cfg, output_dir="output_inference", fmt="paddle", fixed_shape=None, random_weights=False,
                 name=None):
    """Export ``model`` (eval mode, weights loaded) to ``<output_dir>/<name or cfg.filename>/``.

    Args:
        fmt (str): ``paddle`` (Paddle Inference program) or ``onnx`` (also writes ``model.onnx``).
        fixed_shape (int|list|None): fixed network input H x W (adds a Resize to Preprocess);
            None keeps H and W dynamic (images at their original size, as the TestReader).

    Returns:
        str: the export directory.
    """
    if fmt not in ("paddle", "onnx"):
        raise ValueError(f"format={fmt!r} is not supported; allowed values: 'paddle', 'onnx'")
    model.eval()
    save_dir = os.path.join(output_dir, name or cfg.get("filename") or "model")
    os.makedirs(save_dir, exist_ok=True)
    files = export_paddle(model, save_dir, fixed_shape)
    if fmt == "onnx":
        export_onnx(model, save_dir, fixed_shape)
        files.append("model.onnx")
    infer_cfg = build_infer_cfg(cfg, model, fixed_shape, random_weights, files)
    write_infer_cfg(os.path.join(save_dir, "infer_cfg.yml"), infer_cfg)
    logger.info("exported %s to %s (%s)", cfg.get("architecture", "model"), save_dir, ", ".join(files))
    return save_dir
