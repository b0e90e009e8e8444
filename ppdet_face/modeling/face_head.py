"""SSD-style face head and its anchor generator.

Anchors are computed with plain tensor ops (``arange``/``expand``), not the legacy
``prior_box`` op, so the head traces under ``paddle.jit.to_static(full_graph=True)`` and
exports to ONNX. They equal ``prior_box`` (checked in tests/modeling/test_anchors.py).
"""
import re

import numpy as np
import paddle
import paddle.nn as nn
from ppdet.core.workspace import register, serializable

from .box_coder import BoxCoder

__all__ = ["FaceAnchors", "FaceAnchorHead", "factorize_conv", "factorize_landmark_state"]


def _count(name, value):
    """``value`` as an int, or ValueError naming ``name`` unless it is an integer >= 0."""
    if int(value) != value or value < 0:
        raise ValueError(f"{name} must be an integer >= 0, got {value}")
    return int(value)


def build_landmark_branch(channels, outputs, kernel_size, rank, lr):
    """One level's landmark layers, ``[N, channels, H, W]`` -> ``[N, outputs, H, W]``: a ``kernel_size`` conv, or
    with ``rank`` > 0 the same conv factorised through ``rank`` channels (a ``kernel_size`` conv without bias, then a
    1x1 conv with the bias; :func:`factorize_conv` makes one from the other). ``lr`` multiplies their learning rate."""
    def attr():
        return paddle.ParamAttr(learning_rate=lr)

    if not rank:
        return nn.Conv2D(channels, outputs, kernel_size, padding=kernel_size // 2, weight_attr=attr(),
                         bias_attr=attr())
    return nn.Sequential(nn.Conv2D(channels, rank, kernel_size, padding=kernel_size // 2, weight_attr=attr(),
                                   bias_attr=False),
                         nn.Conv2D(rank, outputs, 1, weight_attr=attr(), bias_attr=attr()))


def factorize_conv(weight, rank):
    """The best rank-``rank`` factorisation (truncated SVD) of a conv weight ``[out, in, k, k]``: the weights of
    a ``[rank, in, k, k]`` conv and of the ``[out, rank, 1, 1]`` conv after it (numpy arrays)."""
    out_channels, in_channels, kh, kw = weight.shape
    if not 0 < rank < min(out_channels, in_channels * kh * kw):
        raise ValueError(f"rank must be in 1..{min(out_channels, in_channels * kh * kw) - 1}, got {rank}")
    u, s, vt = np.linalg.svd(np.asarray(weight, np.float64).reshape(out_channels, -1), full_matrices=False)
    root = np.sqrt(s[:rank])
    first = (root[:, None] * vt[:rank]).reshape(rank, in_channels, kh, kw)
    second = (u[:, :rank] * root[None]).reshape(out_channels, rank, 1, 1)
    return first.astype(weight.dtype), second.astype(weight.dtype)


def factorize_landmark_state(state, rank):
    """A copy of the detector state dict ``state`` whose full landmark convs (``...landmarks<i>.weight`` / ``.bias``
    of :class:`FaceAnchorHead`) are replaced by their rank-``rank`` factorisation (:func:`factorize_conv`), the
    weights of the same head built with ``landmark_rank=rank``; every other tensor unchanged.

    Raises:
        ValueError: ``state`` has no full landmark conv, or a rank its convs cannot take.
    """
    out, done = dict(state), 0
    for key, weight in state.items():
        prefix, _, leaf = key.rpartition(".")
        if leaf != "weight" or not re.fullmatch(r"landmarks\d+", prefix.rpartition(".")[2]) or weight.ndim != 4:
            continue
        first, second = factorize_conv(weight, rank)
        del out[key]
        out[f"{prefix}.0.weight"], out[f"{prefix}.1.weight"] = first, second
        out[f"{prefix}.1.bias"] = out.pop(f"{prefix}.bias")
        done += 1
    if not done:
        raise ValueError("no full landmark conv (<head>.landmarks<i>.weight) in these weights")
    return out


@register
@serializable
class FaceAnchors:
    """Square SSD anchors at every cell of each feature level.

    Args:
        steps (list[float]): stride of each level in input pixels. Default: [8, 16].
        min_sizes (list[list[float]]): anchor side lengths (pixels) per level.
            Default: [[16, 24], [32, 48, 64, 80, 96, 128]].
        offset (float): cell-centre offset in units of ``step``. Default: 0.5.

    Calling it with the feature maps and the input image returns one ``[H_i*W_i*K_i, 4]``
    tensor per level of ``x1, y1, x2, y2`` normalised by the input width/height, ordered
    row, column, then size (the layout of the head's reshaped outputs).
    """

    def __init__(self, steps=(8.0, 16.0), min_sizes=((16.0, 24.0), (32.0, 48.0, 64.0, 80.0, 96.0, 128.0)),
                 offset=0.5):
        if len(steps) != len(min_sizes):
            raise ValueError(f"steps ({len(steps)} levels) and min_sizes ({len(min_sizes)} levels) differ in length")
        for sizes in min_sizes:
            if not sizes or any(float(s) <= 0 for s in sizes):
                raise ValueError(f"min_sizes must be non-empty lists of positive sizes, got {min_sizes}")
        self.steps = [float(s) for s in steps]
        self.min_sizes = [[float(s) for s in sizes] for sizes in min_sizes]
        self.offset = float(offset)

    @property
    def num_priors(self):
        """Anchors per cell, per level."""
        return [len(sizes) for sizes in self.min_sizes]

    def level_anchors(self, feat_h, feat_w, img_h, img_w, step, sizes):
        """Anchors of one level; arguments may be ints or 0-d/1-element tensors.

        Built with ``arange`` + ``expand`` (no ``meshgrid``): the same values, fewer and cheaper ops
        in an exported program.
        """
        k = len(sizes)
        xs = (paddle.arange(feat_w, dtype="float32") + self.offset) * step
        ys = (paddle.arange(feat_h, dtype="float32") + self.offset) * step
        cx = paddle.expand(xs.reshape([1, -1, 1]), [feat_h, feat_w, k])
        cy = paddle.expand(ys.reshape([-1, 1, 1]), [feat_h, feat_w, k])
        half = paddle.expand((paddle.to_tensor(sizes, dtype="float32") * 0.5).reshape([1, 1, k]), [feat_h, feat_w, k])
        img_w = paddle.cast(img_w, "float32")
        img_h = paddle.cast(img_h, "float32")
        boxes = paddle.stack([(cx - half) / img_w, (cy - half) / img_h, (cx + half) / img_w, (cy + half) / img_h],
                             axis=-1)
        return boxes.reshape([-1, 4])

    def from_shapes(self, feat_shapes, image_hw):
        """Anchors of each level for feature sizes ``feat_shapes`` (``(H_i, W_i)`` pairs of ints or
        int tensors) of an input of size ``image_hw`` (``(H, W)``); one ``[H_i*W_i*K_i, 4]`` per level."""
        return [self.level_anchors(shape[0], shape[1], image_hw[0], image_hw[1], step, sizes)
                for shape, step, sizes in zip(feat_shapes, self.steps, self.min_sizes)]

    def __call__(self, feats, image):
        return self.from_shapes([paddle.shape(f)[2:4] for f in feats], paddle.shape(image)[2:4])


@register
class FaceAnchorHead(nn.Layer):
    """Per level, a 3x3 conv for box deltas and one for class logits (face + background), and with
    ``num_landmarks`` one for landmark offsets (SSHA / RetinaFace style).

    Args:
        in_channels (list[int]): channels of each level; filled in by :meth:`from_config`
            from the neck's (or backbone's) ``out_shape``.
        num_classes (int): foreground classes (shared key). Default: 1.
        anchor_generator (FaceAnchors): anchors. Default: the BlazeFace anchors.
        kernel_size (int): conv kernel size. Default: 3.
        prior_box_var (list[float]): variances of the box encoding; the head's :attr:`box_coder`, which the
            detector hands to the loss and the post-process. Default: [0.1, 0.1, 0.2, 0.2] (SSD's).
        num_landmarks (int): points per face (0: boxes only; 5: eyes, nose, mouth corners), encoded w.r.t. the
            anchors by the box coder (:meth:`BoxCoder.encode_points`); they make the detection record's
            ``landmarks`` field (:attr:`extra_fields`). Default: 0.
        landmark_lr (float): learning-rate multiplier of the landmark convs (a new branch on a trained detector
            learns faster than its fine-tuned rest). Default: 1.0.
        landmark_rank (int): 0: one landmark conv per level (``kernel_size``, like the box and score convs);
            r > 0: that conv factorised through r channels (:func:`build_landmark_branch`), r * (in * k^2 + out)
            multiply-adds per position instead of out * in * k^2. Default: 0.

    ``forward(feats, image)`` returns ``(box_deltas, logits, anchors)``: lists per level of
    ``[N, A_i, 4]``, ``[N, A_i, num_classes + 1]`` (background last) and ``[A_i, 4]``;
    :meth:`landmark_deltas` the landmark offsets.
    """

    __shared__ = ["num_classes"]
    __inject__ = ["anchor_generator"]

    def __init__(self, in_channels=(48, 48), num_classes=1, anchor_generator=None, kernel_size=3,
                 prior_box_var=(0.1, 0.1, 0.2, 0.2), num_landmarks=0, landmark_lr=1.0, landmark_rank=0):
        super().__init__()
        if not landmark_lr > 0:
            raise ValueError(f"landmark_lr must be > 0, got {landmark_lr}")
        self.num_landmarks = _count("num_landmarks", num_landmarks)
        landmark_rank = _count("landmark_rank", landmark_rank)
        #: The detection-record fields this head adds after class, score and box (name -> columns).
        self.extra_fields = {"landmarks": 2 * self.num_landmarks} if self.num_landmarks else {}
        self.num_classes = num_classes + 1
        self.box_coder = BoxCoder(prior_box_var)
        self.anchor_generator = anchor_generator or FaceAnchors()
        if isinstance(self.anchor_generator, dict):
            self.anchor_generator = FaceAnchors(**self.anchor_generator)
        num_priors = self.anchor_generator.num_priors
        if len(in_channels) != len(num_priors):
            raise ValueError(f"{len(in_channels)} feature levels but anchors for {len(num_priors)}")
        self.box_convs, self.score_convs, self.landmark_convs = [], [], []
        for i, (channels, k) in enumerate(zip(in_channels, num_priors)):
            box = nn.Conv2D(channels, k * 4, kernel_size, padding=kernel_size // 2)
            score = nn.Conv2D(channels, k * self.num_classes, kernel_size, padding=kernel_size // 2)
            self.box_convs.append(self.add_sublayer(f"boxes{i}", box))
            self.score_convs.append(self.add_sublayer(f"scores{i}", score))
            if self.num_landmarks:
                points = build_landmark_branch(channels, k * 2 * self.num_landmarks, kernel_size, landmark_rank,
                                               float(landmark_lr))
                self.landmark_convs.append(self.add_sublayer(f"landmarks{i}", points))

    @classmethod
    def from_config(cls, cfg, input_shape):
        return {"in_channels": [s.channels for s in input_shape]}

    def forward(self, feats, image):
        deltas, logits = [], []
        for feat, box_conv, score_conv in zip(feats, self.box_convs, self.score_convs):
            deltas.append(paddle.transpose(box_conv(feat), [0, 2, 3, 1]).reshape([0, -1, 4]))
            logits.append(paddle.transpose(score_conv(feat), [0, 2, 3, 1]).reshape([0, -1, self.num_classes]))
        return deltas, logits, self.anchor_generator(feats, image)

    def landmark_deltas(self, feats):
        """Per level ``[N, A_i, 2 * num_landmarks]`` encoded landmark offsets, or None without landmarks."""
        if not self.num_landmarks:
            return None
        width = 2 * self.num_landmarks
        return [paddle.transpose(conv(feat), [0, 2, 3, 1]).reshape([0, -1, width])
                for feat, conv in zip(feats, self.landmark_convs)]
