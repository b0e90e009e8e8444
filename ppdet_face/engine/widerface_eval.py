"""WIDER FACE prediction: a fast single-scale path and a fast multi-scale path.

Both write the official prediction folder ``<pred_dir>/<event>/<name>.txt`` (image name, box count,
then ``left top width height score`` lines sorted by descending score) through
:mod:`eval_tools.wider_format`, so :func:`eval_tools.evaluate_widerface` scores them.

Modes (config key ``multi_scale_eval``, default ``False``; ``-o multi_scale_eval=True`` switches):

* **single-scale** (default): one network pass over the image at its original size. Images whose
  long side exceeds ``max_side`` (config ``eval_max_side``, default :data:`DEFAULT_MAX_SIDE` = 2048
  px, ``0`` disables the cap) are first downscaled so the long side is ``max_side``; boxes are mapped
  back to original pixels. The cap bounds the activation memory of that pass (at 2048 x 2048 about
  0.7 GB with the ``dygraph`` backend, 2.9 GB with ``inference``, which keeps every intermediate
  tensor); WIDER val images (1024 px wide) are below it, so they run at 1:1.
* **multi-scale**: the published recipe of PaddleDetection's ``ppdet/metrics/widerface_utils.py``
  (``face_eval_run(..., multi_scale=True)``), with the same results: the memory-bounded
  :func:`get_shrink`, detection at ``shrink`` plus its horizontal flip, ``multi_scale_test``
  (0.5 for large faces, up-scales up to ``max_shrink`` for small faces), ``multi_scale_test_pyramid``
  (0.25, 0.75, 1.25, 1.5, 1.75 with the same size filters), then :func:`bbox_vote` and the top 750
  boxes with score >= 0.01. What is faster than the stock code (``benchmarks/ms_eval_speed.py``):

  - the network runs in inference mode (no autograd tape) and, by default, through Paddle
    Inference with oneDNN (``backend``, below), which is several times faster on CPU than the
    dygraph kernels (Paddle's dygraph depthwise convolution alone takes ~60% of a dygraph pass);
    it uses ``cpu_threads`` threads (0: all cores; the stock dygraph path uses
    ``FLAGS_paddle_num_threads``, 1 by default), and :meth:`WiderFacePredictor.warmup` sizes the
    allocator once so that new input shapes do not page-fault fresh memory;
  - the flip pass runs together with the unflipped pass as one batch of 2;
  - a scale that the recipe requests twice (for example ``bt`` and a pyramid scale, or ``shrink``
    and a pyramid scale) runs once; its detections are reused with each caller's filter;
  - images are normalised with a lookup table (bit-identical to ppdet's ``NormalizeImage``);
  - NMS stays on the graph output per pass (the model's post-process), first on the best
    ``2 * keep_top_k`` candidates, which yields exactly the full run's boxes whenever it keeps
    ``keep_top_k`` of them (greedy NMS keeps boxes in score order), else on all ``nms_top_k``;
  - :func:`bbox_vote` keeps only the IoU step of the stock per-cluster loop (on an index array, no
    ``np.delete`` copies of the box table, no ``np.row_stack`` per cluster) and merges all
    clusters at once with ``np.add.reduceat``; per-pass results are concatenated once.

  Same semantics as the stock recipe in every detail that decides which boxes come out: float32 size
  filters, float32 flip arithmetic, the concatenation order, the (unstable) descending score sort of
  ``bbox_vote``, and its quirk of dropping single-box clusters except the last one.

Backends (config key ``eval_backend``): ``"inference"`` exports the network trunk once per
predictor (into a temporary folder, about 2 s) and runs it with Paddle Inference + oneDNN; anchors,
box decoding and NMS stay in dygraph, with the model's own post-process. A self-check against dygraph
on a random input guards the export (it falls back to dygraph with a warning under ``"auto"``).
``"dygraph"`` runs ``model.head_outputs`` under ``paddle.no_grad()`` and is bit-identical to the
model's plain eval forward. ``"auto"`` (default) picks ``inference`` on CPU builds with oneDNN.
The oneDNN kernels round differently from the dygraph ones (relative differences ~1e-6), so a box
whose score ties with a neighbour's can come out of NMS differently; the algorithm is the same.
"""
from __future__ import annotations

import os
import tempfile
import time
import warnings
from dataclasses import dataclass, field

import numpy as np

__all__ = [
    "DEFAULT_MAX_SIDE",
    "BACKENDS",
    "WiderImage",
    "PredictionRun",
    "WiderFacePredictor",
    "bbox_vote",
    "get_shrink",
    "list_wider_images",
    "multi_scale_eval_enabled",
    "normalization_from_config",
    "normalize_image",
    "predict_widerface",
    "to_wider_boxes",
]

DEFAULT_MAX_SIDE = 2048
"""Single-scale memory cap: the long side (pixels) above which an image is downscaled."""

BACKENDS = ("auto", "inference", "dygraph")
"""Network backends of :class:`WiderFacePredictor`."""

# The published multi-scale recipe (ppdet/metrics/widerface_utils.py).
_PYRAMID_SCALES = (0.75, 1.25, 1.5, 1.75)
_SMALL_FACE_MAX = 100  # enlarged passes keep faces whose shorter side (+1) is below this
_LARGE_FACE_MIN = 30  # shrunk passes keep faces whose longer side (+1) is above this
_VOTE_IOU = 0.3
_VOTE_TOP_K = 750
_VOTE_MIN_SCORE = 0.01


# --------------------------------------------------------------------------------------------------
# Configuration helpers
# --------------------------------------------------------------------------------------------------
def normalization_from_config(cfg, reader="EvalReader"):
    """``(mean, std, is_scale)`` of the ``NormalizeImage`` in ``cfg[reader].sample_transforms``.

    The mean is used in the order the config gives it, on RGB images (``Decode`` converts cv2's BGR
    to RGB), exactly as in training.

    Raises:
        ValueError: if the reader or its ``NormalizeImage`` is missing.
    """
    transforms = (cfg.get(reader) or {}).get("sample_transforms") or []
    for item in transforms:
        if isinstance(item, dict) and "NormalizeImage" in item:
            params = item["NormalizeImage"] or {}
            norm_type = params.get("norm_type", "mean_std")
            if norm_type != "mean_std":
                raise ValueError(f"{reader}.NormalizeImage: norm_type {norm_type!r} is not supported")
            mean = [float(v) for v in params.get("mean", [0.485, 0.456, 0.406])]
            std = [float(v) for v in params.get("std", [0.229, 0.224, 0.225])]
            return mean, std, bool(params.get("is_scale", True))
    raise ValueError(f"the config has no NormalizeImage in {reader}.sample_transforms")


def multi_scale_eval_enabled(cfg):
    """The ``multi_scale_eval`` config flag as a bool (default False).

    Raises:
        ValueError: for a value that is not a boolean (``True``/``False``).
    """
    value = cfg.get("multi_scale_eval", False)
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.strip().lower() in ("true", "false"):
        return value.strip().lower() == "true"
    raise ValueError(f"multi_scale_eval must be True or False, got {value!r}")


def normalize_image(rgb, mean, std, is_scale=False, out=None):
    """ppdet's ``NormalizeImage`` + ``Permute`` on one HWC image: float32 CHW, same bits.

    ``uint8`` images go through per-channel 256-entry lookup tables built with the very same float
    operations, which is bit-identical and several times faster than the float64 arithmetic.

    Args:
        out: optional float32 ``[3, H, W]`` array to write into (e.g. one slot of a batch).
    """
    rgb = np.asarray(rgb)
    if rgb.ndim != 3 or rgb.shape[2] != 3:
        raise ValueError(f"expected an H x W x 3 image, got shape {rgb.shape}")
    if out is None:
        out = np.empty((3,) + rgb.shape[:2], dtype=np.float32)
    if rgb.dtype == np.uint8:
        import cv2

        luts = _normalize_lut(tuple(mean), tuple(std), bool(is_scale))
        for c, plane in enumerate(cv2.split(np.ascontiguousarray(rgb))):
            cv2.LUT(plane, luts[c], dst=out[c])
        return out
    out[...] = _normalize_hwc(rgb, mean, std, is_scale).transpose(2, 0, 1)
    return out


def _normalize_hwc(im, mean, std, is_scale):
    # ppdet.data.transform.operators.NormalizeImage.apply, operation for operation.
    im = np.array(im, dtype=np.float32)
    if is_scale:
        im *= 1.0 / 255.0
    im -= np.array(mean)[np.newaxis, np.newaxis, :]
    im /= np.array(std)[np.newaxis, np.newaxis, :]
    return im


_LUT_CACHE = {}


def _normalize_lut(mean, std, is_scale):
    """Per channel, a ``[1, 256]`` float32 table: the normalised value of each uint8 level."""
    key = (mean, std, is_scale)
    if key not in _LUT_CACHE:
        ramp = np.repeat(np.arange(256, dtype=np.float32), 3).reshape(256, 1, 3)
        table = _normalize_hwc(ramp, mean, std, is_scale).reshape(256, 3)
        _LUT_CACHE[key] = [np.ascontiguousarray(table[:, c].reshape(1, 256)) for c in range(3)]
    return _LUT_CACHE[key]


# --------------------------------------------------------------------------------------------------
# The multi-scale recipe's pieces
# --------------------------------------------------------------------------------------------------
def _truncate(x, digits=2):
    """The recipe's ``get_round``: cut (not round) ``str(x)`` to ``digits`` decimals."""
    text = str(x)
    if "." in text and "e" not in text.lower():
        before, after = text.split(".")
        if len(after) >= 3:
            return float(before + "." + after[:digits])
    return x  # stock returns None without a '.', and garbage in exponent notation (huge images only)


def get_shrink(height, width):
    """``(shrink, max_shrink)`` of the published recipe, bit-identical to ppdet's ``get_shrink``.

    ``max_shrink`` bounds the largest up-scale by the pixel count (``~2.78e6`` pixels after the
    ``- 0.3 ...`` margins); ``shrink = min(max_shrink, 1)`` is the base detection scale.
    """
    max_shrink_v1 = (0x7FFFFFFF / 577.0 / (height * width)) ** 0.5
    max_shrink_v2 = ((678 * 1024 * 2.0 * 2.0) / (height * width)) ** 0.5
    max_shrink = _truncate(min(max_shrink_v1, max_shrink_v2), 2) - 0.3
    if 1.5 <= max_shrink < 2:
        max_shrink = max_shrink - 0.1
    elif 2 <= max_shrink < 3:
        max_shrink = max_shrink - 0.2
    elif 3 <= max_shrink < 4:
        max_shrink = max_shrink - 0.3
    elif 4 <= max_shrink < 5:
        max_shrink = max_shrink - 0.4
    elif max_shrink >= 5:
        max_shrink = max_shrink - 0.5
    elif max_shrink <= 0.1:
        max_shrink = 0.1
    shrink = max_shrink if max_shrink < 1 else 1
    return shrink, max_shrink


def _keep_large(det):
    """Shrunk passes: faces whose longer side (``+ 1``) exceeds 30 px (float32 like the recipe)."""
    return det[np.maximum(det[:, 2] - det[:, 0] + 1, det[:, 3] - det[:, 1] + 1) > _LARGE_FACE_MIN]


def _keep_small(det):
    """Enlarged passes: faces whose shorter side (``+ 1``) is below 100 px."""
    return det[np.minimum(det[:, 2] - det[:, 0] + 1, det[:, 3] - det[:, 1] + 1) < _SMALL_FACE_MAX]


def bbox_vote(det, iou_thresh=_VOTE_IOU, top_k=_VOTE_TOP_K, score_thresh=_VOTE_MIN_SCORE):
    """The recipe's box voting, as arrays; same clusters and values as ppdet's ``bbox_vote``.

    Boxes are taken in descending score order (``argsort()[::-1]``, as the recipe); the best
    remaining box and every remaining box with IoU >= ``iou_thresh`` to it (``+ 1`` pixel
    convention) form a cluster, merged to the score-weighted mean box with the maximum score.
    As in the recipe, a single-box cluster is dropped unless it is the last cluster. The first
    ``top_k`` clusters with score >= ``score_thresh`` are returned.

    Args:
        det: ``[N, 5]`` ``x1, y1, x2, y2, score``.

    Returns:
        float64 ``[K, 5]`` in cluster order (descending score).
    """
    det = np.asarray(det, dtype=np.float64).reshape(-1, 5)
    if det.shape[0] == 0:
        return np.zeros((0, 5))
    det = det[det[:, 4].ravel().argsort()[::-1]]
    x1, y1, x2, y2 = (np.ascontiguousarray(det[:, k]) for k in range(4))
    area = (x2 - x1 + 1) * (y2 - y1 + 1)
    labels = np.empty(det.shape[0], dtype=np.int64)
    remaining = np.arange(det.shape[0])
    n_clusters = 0
    while remaining.size:
        head = remaining[0]
        # The recipe's IoU, operation for operation (so the same boxes pass the threshold).
        w = np.maximum(0.0, np.minimum(x2[head], x2[remaining]) - np.maximum(x1[head], x1[remaining]) + 1)
        h = np.maximum(0.0, np.minimum(y2[head], y2[remaining]) - np.maximum(y1[head], y1[remaining]) + 1)
        inter = w * h
        member = inter / (area[head] + area[remaining] - inter) >= iou_thresh
        labels[remaining[member]] = n_clusters
        n_clusters += 1
        remaining = remaining[~member]
    counts = np.bincount(labels, minlength=n_clusters)
    order = np.argsort(labels, kind="stable")  # members in score order within each cluster
    starts = np.concatenate([[0], np.cumsum(counts)[:-1]])
    grouped = det[order]
    scores = grouped[:, 4:5]
    out = np.empty((n_clusters, 5))
    out[:, :4] = np.add.reduceat(grouped[:, :4] * scores, starts, axis=0) / np.add.reduceat(scores, starts, axis=0)
    out[:, 4] = np.maximum.reduceat(grouped[:, 4], starts)
    keep = counts >= 2
    if counts[-1] == 1:  # the recipe appends a last single box unchanged
        out[-1] = grouped[-1]
    keep[-1] = True
    out = out[keep][:top_k]
    return out[out[:, 4] >= score_thresh]


def to_wider_boxes(det):
    """``[N, 5]`` ``x1, y1, x2, y2, score`` -> ``[N, 5]`` ``left, top, width, height, score`` float32,
    sorted by descending score (the official order; same convention as the trainer's metric:
    ``width = x2 - x1``)."""
    from .trainer import detections_to_wider

    det = np.asarray(det, dtype=np.float32).reshape(-1, 5)
    bbox = np.concatenate([np.zeros((len(det), 1), np.float32), det[:, 4:5], det[:, :4]], axis=1)
    return detections_to_wider(bbox, [len(det)])[0]


# --------------------------------------------------------------------------------------------------
# Network backends
# --------------------------------------------------------------------------------------------------
def _trunk_layer(model):
    import paddle

    class _Trunk(paddle.nn.Layer):
        """backbone -> neck -> head convs; returns deltas, logits and each level's feature H, W."""

        def __init__(self, detector):
            super().__init__()
            self.detector = detector

        def forward(self, image):
            det = self.detector
            feats = det.backbone({"image": image})
            if det.neck is not None:
                feats = det.neck(feats)
            deltas, logits, _ = det.blaze_head(feats, image)  # anchors are computed outside
            return list(deltas) + list(logits) + [paddle.shape(f)[2:4] for f in feats]

    return _Trunk(model)


class _DygraphNet:
    """``model.head_outputs`` under ``no_grad``: bit-identical to the eval forward."""

    name = "dygraph"

    def __init__(self, model):
        self.model = model

    def __call__(self, image):
        import paddle

        with paddle.no_grad():
            return self.model.head_outputs(image)


class _InferenceNet:
    """The trunk exported once and run by Paddle Inference with oneDNN; anchors in dygraph.

    The export uses the legacy program format: Paddle 3.3's PIR oneDNN kernels crash on this
    network (pool2d / batch_norm segfault, nearest_interp attribute error). Its
    ``conv_bn_fuse_pass`` produces wrong outputs for it (so do conv-bias fusions of a BN-folded
    copy), so that pass is disabled; :meth:`self_check` compares against dygraph before use.
    Needs a BlazeFace-style model (``backbone``, ``neck``, ``blaze_head`` with its anchor generator).
    """

    name = "inference"

    def __init__(self, model, num_threads=None):
        import paddle
        from paddle import inference
        from paddle.static import InputSpec

        self.model = model
        self.anchor_generator = model.blaze_head.anchor_generator
        self.num_levels = len(self.anchor_generator.steps)
        self._anchors = {}
        threads = int(num_threads or 0) or _available_cores()
        with tempfile.TemporaryDirectory(prefix="ppdet_face_infer_") as tmp:
            path = os.path.join(tmp, "trunk")
            trunk = _trunk_layer(model)  # built in dynamic mode; OldIrGuard switches to static
            with paddle.pir_utils.OldIrGuard():
                static = paddle.jit.to_static(trunk, full_graph=True)
                paddle.jit.save(static, path, input_spec=[InputSpec([None, 3, None, None], "float32", "image")])
            config = inference.Config(path + ".pdmodel", path + ".pdiparams")
            config.disable_gpu()
            config.set_cpu_math_library_num_threads(threads)
            config.enable_new_ir(False)
            config.enable_onednn()
            config.delete_pass("conv_bn_fuse_pass")  # wrong results on this network (Paddle 3.3.1)
            config.disable_glog_info()
            self.predictor = inference.create_predictor(config)

    def __call__(self, image):
        import paddle

        outs = self.predictor.run([image])
        n = self.num_levels
        deltas, logits, shapes = outs[:n], outs[n:2 * n], outs[2 * n:]
        key = tuple(image.shape[2:4]) + tuple(int(v) for s in shapes for v in s.numpy())
        anchors = self._anchors.get(key)
        if anchors is None:
            gen = self.anchor_generator
            img_shape = paddle.shape(image)
            with paddle.no_grad():
                anchors = [gen.level_anchors(s[0], s[1], img_shape[2], img_shape[3], step, sizes)
                           for s, step, sizes in zip(shapes, gen.steps, gen.min_sizes)]
            self._anchors[key] = anchors
        return deltas, logits, anchors

    def self_check(self, rtol=1e-3):
        """Compare with dygraph on a seeded random input; raise RuntimeError on a mismatch."""
        import paddle

        x = paddle.to_tensor(np.random.default_rng(0).standard_normal((1, 3, 72, 104)).astype(np.float32))
        got = self(x)
        ref = _DygraphNet(self.model)(x)
        for name, a, b in zip(("deltas", "logits", "anchors"), got, ref):
            for ta, tb in zip(a, b):
                ta, tb = ta.numpy(), tb.numpy()
                scale = max(1.0, float(np.abs(tb).max()))
                if ta.shape != tb.shape or float(np.abs(ta - tb).max()) > rtol * scale:
                    raise RuntimeError(f"Paddle Inference {name} differ from dygraph "
                                       f"(shape {ta.shape} vs {tb.shape})")


def _available_cores():
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:
        return max(1, os.cpu_count() or 1)


def _make_net(model, backend, num_threads):
    import paddle

    if backend not in BACKENDS:
        raise ValueError(f"backend must be one of {', '.join(BACKENDS)}, got {backend!r}")
    if backend == "dygraph":
        return _DygraphNet(model)
    usable = (paddle.get_device() == "cpu" and getattr(paddle.base.core, "is_compiled_with_onednn", lambda: False)()
              and hasattr(paddle, "pir_utils") and hasattr(paddle.pir_utils, "OldIrGuard"))
    if backend == "auto" and not usable:
        return _DygraphNet(model)
    try:
        net = _InferenceNet(model, num_threads)
        net.self_check()
        return net
    except Exception as exc:  # export / predictor / self-check failure
        reason = f"{type(exc).__name__}: {str(exc).strip().splitlines()[0][:200] if str(exc).strip() else ''}"
        if backend == "inference":
            raise RuntimeError(f"Paddle Inference backend unavailable ({reason})") from exc
        warnings.warn(f"Paddle Inference backend unavailable ({reason}); using dygraph",
                      RuntimeWarning, stacklevel=3)
        return _DygraphNet(model)


# --------------------------------------------------------------------------------------------------
# The predictor
# --------------------------------------------------------------------------------------------------
class WiderFacePredictor:
    """Single- and multi-scale face prediction with a ``BlazeFaceDetector`` (or any model with
    ``head_outputs(image)`` and a ``post_process`` like :class:`BlazeFacePostProcess`).

    Args:
        model: the detector; put in eval mode. Create the predictor after loading the weights
            (the ``inference`` backend exports the weights it sees at construction).
        mean, std, is_scale: the ``NormalizeImage`` parameters (see
            :func:`normalization_from_config`); images are RGB.
        backend: ``"auto"`` (default), ``"inference"`` or ``"dygraph"`` (see the module doc).
        max_side: single-scale memory cap on the long side; ``0``/``None`` disables it.
        num_threads: CPU threads of the ``inference`` backend (default: all available cores).

    Detections are ``[N, 5]`` arrays ``x1, y1, x2, y2, score`` in original-image pixels.
    ``last_scales`` lists the ``(scale, batch)`` network passes of the latest call.
    """

    def __init__(self, model, mean, std, is_scale=False, backend="auto", max_side=DEFAULT_MAX_SIDE,
                 num_threads=None):
        model.eval()
        self.model = model
        self.post_process = model.post_process
        pp = self.post_process
        # The prefix NMS shortcut (see _nms) relies on BlazeFacePostProcess's exact NMS call and on a
        # single foreground class; anything else runs the post-process as is.
        self._prefix_nms = (type(pp).__name__ == "BlazeFacePostProcess" and hasattr(pp, "decode")
                            and int(getattr(getattr(model, "blaze_head", None), "num_classes", 0)) == 2
                            and pp.keep_top_k > 0)
        self.mean = [float(v) for v in mean]
        self.std = [float(v) for v in std]
        self.is_scale = bool(is_scale)
        self.max_side = int(max_side or 0)
        if self.max_side < 0:
            raise ValueError(f"max_side must be >= 0, got {max_side}")
        t0 = time.perf_counter()
        self.net = _make_net(model, backend, num_threads)
        self.setup_seconds = time.perf_counter() - t0
        self.backend = self.net.name
        self.last_scales = []

    @classmethod
    def from_config(cls, cfg, model, **overrides):
        """Build from a loaded config: normalisation from ``EvalReader``, ``eval_max_side``,
        ``eval_backend`` and ``cpu_threads``; keyword ``overrides`` win."""
        mean, std, is_scale = normalization_from_config(cfg)
        kwargs = {
            "backend": cfg.get("eval_backend", "auto") or "auto",
            "max_side": cfg.get("eval_max_side", DEFAULT_MAX_SIDE),
            "num_threads": int(cfg.get("cpu_threads", 0) or 0) or None,
        }
        kwargs.update(overrides)
        return cls(model, mean, std, is_scale, **kwargs)

    # -- one network pass ---------------------------------------------------------------------------
    def detect(self, images, scale):
        """Run one pass over same-sized RGB images at ``scale``; returns float32 ``[n_i, 5]`` each.

        Like the recipe's ``detect_face``: resized with ``cv2.resize`` (bilinear) to
        ``(int(w * scale), int(h * scale))`` unless ``scale == 1``, ``scale_factor = [scale, scale]``.
        """
        import cv2

        if scale != 1:
            h, w = images[0].shape[:2]
            size = (int(w * scale), int(h * scale))
            images = [cv2.resize(im, size) for im in images]
        batch = np.empty((len(images), 3) + images[0].shape[:2], dtype=np.float32)
        for i, im in enumerate(images):
            normalize_image(im, self.mean, self.std, self.is_scale, out=batch[i])
        return self._run(batch, scale)

    def _run(self, batch, scale):
        """Network + decode + NMS on a normalised ``[B, 3, H, W]`` batch; per image float32 ``[n, 5]``."""
        import paddle

        self.last_scales.append((float(scale), len(batch)))
        image = paddle.to_tensor(batch)
        scale_factor = paddle.to_tensor(np.full((len(batch), 2), scale, dtype=np.float32))
        with paddle.no_grad():
            deltas, logits, anchors = self.net(image)
            if self._prefix_nms:
                bbox, bbox_num = self._nms(*self.post_process.decode(deltas, logits, anchors, image, scale_factor))
            else:
                bbox, bbox_num = self.post_process(deltas, logits, anchors, image, scale_factor)
        bbox = bbox.numpy().reshape(-1, 6)
        out, start = [], 0
        for n in bbox_num.numpy().reshape(-1).astype(int):
            d = bbox[start:start + n]
            start += n
            out.append(np.stack([d[:, 2], d[:, 3], d[:, 4], d[:, 5], d[:, 1]], axis=1))  # float32
        return out

    def _nms(self, boxes, scores):
        """The post-process's ``multiclass_nms3``, run on a score-sorted prefix of the candidates
        first: greedy NMS keeps boxes in score order, so when the first ``2 * keep_top_k``
        candidates already yield ``keep_top_k`` boxes, those are exactly the boxes the full run
        returns (in the same order); otherwise it reruns on all ``nms_top_k`` candidates."""
        import paddle

        pp = self.post_process

        def nms(top_k):
            bbox, _, num = paddle._C_ops.multiclass_nms3(boxes, scores, None, pp.score_threshold, top_k, pp.keep_top_k,
                                                         pp.nms_threshold, True, 1.0, -1)
            return bbox, num

        prefix = 2 * pp.keep_top_k
        if not 0 < prefix < pp.nms_top_k:
            return nms(pp.nms_top_k)
        bbox, num = nms(prefix)
        short = num.numpy() < pp.keep_top_k
        if short.any():
            candidates = (scores > pp.score_threshold).astype("int32").sum(axis=[1, 2]).numpy()
            if (candidates[short] > prefix).any():
                bbox, num = nms(pp.nms_top_k)
        return bbox, num

    # -- single scale -----------------------------------------------------------------------------
    def predict_single_scale(self, rgb):
        """One pass at the original size (downscaled to ``max_side`` if larger); float32 ``[N, 5]``."""
        self.last_scales = []
        h, w = rgb.shape[:2]
        scale = 1
        if self.max_side and max(h, w) > self.max_side:
            scale = self.max_side / float(max(h, w))
        return self.detect([rgb], scale)[0]

    # -- multi scale ------------------------------------------------------------------------------
    def predict_multi_scale(self, rgb):
        """The published multi-scale recipe (see the module doc); float64 ``[N, 5]``."""
        import cv2

        self.last_scales = []
        height, width = rgb.shape[:2]
        shrink, max_shrink = get_shrink(height, width)
        cache = {}

        def at(scale):
            if scale not in cache:
                cache[scale] = self.detect([rgb], scale)[0]
            return cache[scale]

        # det0 + det1: the shrink pass and its flip, one batch of 2.
        if shrink == 1:  # flipping commutes with the per-pixel normalisation: flip the planes
            batch = np.empty((2, 3, height, width), dtype=np.float32)
            normalize_image(rgb, self.mean, self.std, self.is_scale, out=batch[0])
            for c in range(3):
                cv2.flip(batch[0, c], 1, dst=batch[1, c])
            det0, det_f = self._run(batch, shrink)
        else:
            det0, det_f = self.detect([rgb, cv2.flip(rgb, 1)], shrink)
        cache[shrink] = det0
        det1 = np.zeros(det_f.shape)  # float64, float32 arithmetic: as the recipe's flip_test
        det1[:, 0] = width - det_f[:, 2]
        det1[:, 1] = det_f[:, 1]
        det1[:, 2] = width - det_f[:, 0]
        det1[:, 3] = det_f[:, 3]
        det1[:, 4] = det_f[:, 4]

        # multi_scale_test: a shrunk pass for big faces, enlarged passes for small faces.
        st = 0.5 if max_shrink >= 0.75 else 0.5 * max_shrink
        det_s = _keep_large(at(st))
        bt = min(2, max_shrink) if max_shrink > 1 else (st + max_shrink) / 2
        det_b = [at(bt)]
        if max_shrink > 2:
            bt *= 2
            while bt < max_shrink:
                det_b.append(at(bt))
                bt *= 2
            det_b.append(at(max_shrink))
        det_b = np.concatenate(det_b)
        det_b = _keep_small(det_b) if bt > 1 else _keep_large(det_b)

        # multi_scale_test_pyramid
        pyramid = [_keep_large(at(0.25))]
        for scale in _PYRAMID_SCALES:
            if scale <= max_shrink:
                pyramid.append(_keep_small(at(scale)) if scale > 1 else _keep_large(at(scale)))

        det = np.concatenate([det0, det1, det_s, det_b] + pyramid).astype(np.float64)
        return bbox_vote(det)

    def warmup(self, multi_scale=False):
        """One throw-away pass at the largest input the mode normally needs (``inference`` only).

        Paddle's allocator then holds chunks big enough for the later passes; without it, every
        larger input size page-faults fresh memory (about 40% extra time on a new shape, and every
        image brings new shapes). Multi-scale warms at the recipe's per-pass bound of ~2.8e6 pixels
        (1 x 1664 x 1664), single-scale at 1 x 1536 x 1024. Memory: the predictor keeps the
        intermediate tensors of its largest pass, about 700 bytes per input pixel (~1.9 GB at the
        multi-scale bound, about what the stock recipe's autograd tape takes for the same pass).
        Returns the seconds spent.
        """
        import paddle

        if self.backend != "inference":
            return 0.0
        shape = (1, 3, 1664, 1664) if multi_scale else (1, 3, 1536, 1024)
        t0 = time.perf_counter()
        with paddle.no_grad():
            self.net(paddle.zeros(shape, dtype="float32"))
        return time.perf_counter() - t0

    def predict(self, rgb, multi_scale=False):
        """:meth:`predict_multi_scale` or :meth:`predict_single_scale`."""
        return self.predict_multi_scale(rgb) if multi_scale else self.predict_single_scale(rgb)


# --------------------------------------------------------------------------------------------------
# Dataset walking and prediction folders
# --------------------------------------------------------------------------------------------------
@dataclass
class WiderImage:
    """One image of a WIDER layout: ``key`` is ``"<event>/<name>"`` (no extension, see
    :func:`eval_tools.wider_format.image_key`)."""

    key: str
    path: str

    @property
    def file_name(self):
        return os.path.basename(self.path)


def list_wider_images(dataset_dir, image_dir="WIDER_val/images",
                      anno_path="wider_face_split/wider_face_val_bbx_gt.txt"):
    """The images of a WIDER layout, in annotation order (or sorted ``<event>/<image>`` without one).

    Args:
        dataset_dir (str): dataset root.
        image_dir (str): images, relative to ``dataset_dir``. Default: "WIDER_val/images".
        anno_path (str): annotation file, relative to ``dataset_dir`` (falsy: list the folder).
            Default: "wider_face_split/wider_face_val_bbx_gt.txt".

    Returns:
        ``(images, anno_file)``: a list of :class:`WiderImage` and the annotation file used
        (``None`` when it does not exist and the image folder was listed instead).

    An image listed by the annotations but absent from disk stays in the list: prediction reports
    it (one warning) and counts it as an image without detections, like any unreadable image.

    Raises:
        FileNotFoundError: a missing image folder, or none of the annotated images exists
            (a wrong ``dataset_dir`` / ``image_dir``).
        ValueError: a malformed annotation file (:class:`eval_tools.wider_format.WiderFormatError`,
            also for an image path without event folder), or no image at all.

    Images in the folder are those with an extension of
    :data:`eval_tools.wider_format.IMAGE_EXTENSIONS` (any case).
    """
    from eval_tools.wider_format import image_key, is_image_name, read_gt_txt

    root = os.path.join(dataset_dir, image_dir)
    anno = os.path.join(dataset_dir, anno_path) if anno_path else None
    images = []
    if anno and os.path.isfile(anno):
        for rec in read_gt_txt(anno):
            key = image_key(rec.name, f"{anno}:{rec.line}")
            images.append(WiderImage(key, os.path.join(root, rec.name.replace("\\", "/"))))
        if images and not any(os.path.isfile(im.path) for im in images):
            raise FileNotFoundError(f"none of the {len(images)} images listed in {anno} exists under {root} "
                                    f"(first: {images[0].path})")
    else:
        if not os.path.isdir(root):
            raise FileNotFoundError(f"image folder not found: {root}")
        anno = None
        for event in sorted(os.listdir(root)):
            folder = os.path.join(root, event)
            if not os.path.isdir(folder):
                continue
            for fname in sorted(os.listdir(folder)):
                if is_image_name(fname):
                    images.append(WiderImage(image_key(f"{event}/{fname}"), os.path.join(folder, fname)))
    if not images:
        raise ValueError(f"no images found under {root}")
    return images, anno


@dataclass
class PredictionRun:
    """Result of :func:`predict_widerface`."""

    predictions: dict = field(default_factory=dict)  # key -> [K, 5] left top width height score
    seconds: list = field(default_factory=list)  # per image: read + predict + write
    passes: int = 0  # network passes (a batch of 2 counts once)
    failed: dict = field(default_factory=dict)  # key -> why the image could not be used (empty prediction file)
    multi_scale: bool = False
    pred_dir: str = ""
    warmup_seconds: float = 0.0

    @property
    def total_seconds(self):
        return float(sum(self.seconds))

    @property
    def seconds_per_image(self):
        return self.total_seconds / max(len(self.seconds), 1)


def predict_widerface(predictor, images, pred_dir, multi_scale=False, progress=True, warmup="auto"):
    """Predict every image and write ``<pred_dir>/<event>/<name>.txt`` (official format).

    Args:
        predictor: a :class:`WiderFacePredictor`.
        images: :class:`WiderImage` list (see :func:`list_wider_images`).
        pred_dir: output folder.
        multi_scale: the multi-scale recipe instead of one pass.
        progress: show a tqdm bar (images/s).
        warmup: call :meth:`WiderFacePredictor.warmup` first (not counted in ``seconds``);
            ``"auto"``: only for 10 images or more, where it pays for itself.

    Images are read with :func:`ppdet_face.data.image_io.read_image_rgb` (grayscale, RGBA and 16-bit
    files are converted to 8-bit RGB). An unusable image (missing, empty, truncated, not an image,
    smaller than 8 px, larger than 100 Mpx) gets one ``warning:`` line on stderr, an empty prediction
    file (it counts as an image without detections) and an entry in ``run.failed``; the run continues.

    Returns:
        :class:`PredictionRun`.
    """
    import sys

    from eval_tools.wider_format import pred_file_path, write_pred_file

    from ..data.image_io import BadImageError, read_image_rgb

    run = PredictionRun(multi_scale=bool(multi_scale), pred_dir=str(pred_dir))
    if warmup is True or (warmup == "auto" and len(images) >= 10):
        run.warmup_seconds = predictor.warmup(multi_scale)
    bar = None
    if progress:
        from tqdm import tqdm

        bar = tqdm(total=len(images), unit="img", desc="multi-scale" if multi_scale else "single-scale",
                   dynamic_ncols=True)
    try:
        for item in images:
            t0 = time.perf_counter()
            out_file = pred_file_path(pred_dir, item.key)
            try:
                rgb = read_image_rgb(item.path)
            except BadImageError as exc:
                message = f"warning: {exc}; counted as no detections"
                if bar is not None:
                    bar.write(message, file=sys.stderr)
                else:
                    print(message, file=sys.stderr, flush=True)
                write_pred_file(out_file, item.file_name, np.zeros((0, 5), np.float32))
                run.predictions[item.key] = np.zeros((0, 5), np.float32)
                run.failed[item.key] = str(exc)
                if bar is not None:
                    bar.update(1)
                continue
            boxes = to_wider_boxes(predictor.predict(rgb, multi_scale=multi_scale))
            write_pred_file(out_file, item.file_name, boxes)
            run.predictions[item.key] = boxes
            run.seconds.append(time.perf_counter() - t0)
            run.passes += len(predictor.last_scales)
            if bar is not None:
                bar.update(1)
    finally:
        if bar is not None:
            bar.close()
    return run

