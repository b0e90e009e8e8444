"""SSH: Single Stage Headless face detector (Najibi et al., ICCV 2017, https://arxiv.org/abs/1708.03979).

Three detection modules on a stride 8 / 16 / 32 backbone (``vision_backbones``):

* M1 (stride 8, anchors 16 and 32) on the fusion of the stride-8 map and the upsampled stride-16 map,
  each reduced by a 1x1 conv, summed, then a 3x3 conv (paper section 3.2);
* M2 (stride 16, anchors 64 and 128) on the stride-16 map; M3 (stride 32, anchors 256 and 512) on the
  stride-32 map (VGG16: max-pooled conv5_3).

A detection module (:class:`SSHModule`) is a 3x3 conv branch plus the context module (a shared
dimension-reducing 3x3 conv feeding a 3x3 branch, ~5x5 receptive field, and a 3x3 -> 3x3 branch,
~7x7), concatenated and ReLU'd. The modules live in :class:`SSHNeck`; the per-anchor 2-way classifier
and 4-value regressor are 1x1 convs of :class:`~ppdet_face.modeling.face_head.FaceAnchorHead`
(``kernel_size: 1``) with square :class:`~ppdet_face.modeling.face_head.FaceAnchors`.
The loss (:class:`SSHLoss`) samples 256 anchors per module and image, hardest first.

Differences from the Caffe release, all for export: the M1 upsampling is nearest (the release uses a
fixed bilinear deconvolution), anchors are centred on cells (offset 0.5) rather than py-faster-rcnn's
``(16 - 1) / 2`` origin.
"""
import paddle
import paddle.nn as nn
import paddle.nn.functional as F
from ppdet.core.workspace import create, register, serializable
from ppdet.modeling.shape_spec import ShapeSpec

from .detector import FaceDetector
from .face_loss import landmark_loss, match_anchors, with_landmarks
from .layers import ConvAct, check_choice

__all__ = ["SSHModule", "SSHNeck", "SSHLoss", "SSHDetector", "MODULE_SAMPLING", "sample_hardest"]

#: :class:`SSHLoss` ``module_sampling``: every module each step, or one random module per step.
MODULE_SAMPLING = ("all", "random")


class SSHModule(nn.Layer):
    """SSH detection module without its output convs: 3x3 branch + context module, concatenated, ReLU.

    The ReLU is applied to each branch before the concatenation (the same values as after it): Paddle
    Inference's oneDNN ``conv_concat_activation_onednn_fuse_pass`` (Paddle 3.3) fails to build a predictor
    for conv -> concat -> relu ("drr attr [fuse_activation] is not found").

    Args:
        in_channels (int): input channels.
        channels (int): output channels of the 3x3 branch (X in the paper).
        context_channels (int): channels of the context module's convs (X/2 in the paper).

    ``forward(x)`` returns ``[N, channels + 2 * context_channels, H, W]``.
    """

    def __init__(self, in_channels, channels, context_channels):
        super().__init__()
        self.conv3x3 = ConvAct(in_channels, channels, 3)
        self.context_reduce = ConvAct(in_channels, context_channels, 3)
        self.context5x5 = ConvAct(context_channels, context_channels, 3)
        self.context7x7_1 = ConvAct(context_channels, context_channels, 3)
        self.context7x7 = ConvAct(context_channels, context_channels, 3)
        self.out_channels = channels + 2 * context_channels

    def forward(self, x):
        context = self.context_reduce(x)
        branches = [self.conv3x3(x), self.context5x5(context), self.context7x7(self.context7x7_1(context))]
        return paddle.concat(branches, axis=1)


def _three(name, values):
    values = [int(v) for v in values]
    if len(values) != 3 or min(values) <= 0:
        raise ValueError(f"{name} needs 3 positive values (M1, M2, M3), got {values}")
    return values


@register
@serializable
class SSHNeck(nn.Layer):
    """M1's input fusion and the three SSH detection modules.

    Args:
        in_channels (list[int]): channels of the stride 8, 16, 32 inputs; filled in by
            :meth:`from_config` from the backbone's ``out_shape``.
        module_channels (list[int]): 3x3-branch channels of M1, M2, M3. Default: [128, 256, 256]
            (the paper's VGG16 values).
        context_channels (list[int]): context-module channels of M1, M2, M3. Default: [64, 128, 128]
            (half the module width, as the paper's Fig. 4 and the Caffe release).
        fuse_channels (int): M1's input: 1x1 reduction of the stride 8 and 16 maps and the 3x3 conv
            after their sum. Default: 128 (the paper's VGG16 value).

    ``forward([c8, c16, c32])`` returns the three module outputs (``out_shape``).
    """

    def __init__(self, in_channels=(512, 512, 512), module_channels=(128, 256, 256),
                 context_channels=(64, 128, 128), fuse_channels=128):
        super().__init__()
        in_channels = _three("in_channels", in_channels)
        module_channels = _three("module_channels", module_channels)
        context_channels = _three("context_channels", context_channels)
        if int(fuse_channels) <= 0:
            raise ValueError(f"fuse_channels must be positive, got {fuse_channels}")
        self.reduce8 = ConvAct(in_channels[0], fuse_channels, 1)
        self.reduce16 = ConvAct(in_channels[1], fuse_channels, 1)
        self.fuse = ConvAct(fuse_channels, fuse_channels, 3)
        inputs = [fuse_channels, in_channels[1], in_channels[2]]
        self.m1, self.m2, self.m3 = (SSHModule(c, m, x) for c, m, x in zip(inputs, module_channels, context_channels))

    @classmethod
    def from_config(cls, cfg, input_shape):
        return {"in_channels": [s.channels for s in input_shape]}

    @property
    def out_shape(self):
        return [ShapeSpec(channels=m.out_channels, stride=s) for m, s in zip((self.m1, self.m2, self.m3), (8, 16, 32))]

    def forward(self, feats):
        c8, c16, c32 = feats
        fine = self.reduce8(c8)
        up = F.interpolate(self.reduce16(c16), size=paddle.shape(fine)[-2:], mode="nearest")
        return [self.m1(self.fuse(fine + up)), self.m2(c16), self.m3(c32)]


def _top_k_mask(hardness, mask, k):
    """``mask`` restricted, per row, to its ``k`` (``[B, 1]``) entries of highest ``hardness`` (ties: lower index)."""
    key = paddle.where(mask, hardness, paddle.full_like(hardness, float("-inf")))
    rank = paddle.argsort(paddle.argsort(key, axis=1, descending=True, stable=True), axis=1, stable=True)
    return paddle.logical_and(mask, rank.astype(k.dtype) < k)


def sample_hardest(hardness, positive, negative, num_samples=256, fg_fraction=0.25):
    """Per image, ``num_samples`` anchors with at most ``fg_fraction`` of them positive, hardest first.

    As py-faster-rcnn's anchor sampler (``num_fg = min(#pos, fg_fraction * num_samples)``, negatives
    fill the rest), but choosing the hardest instead of random ones (SSH's OHEM): the positives and
    negatives with the highest ``hardness`` (the classification loss: lowest-scoring positives,
    highest-scoring negatives).

    Args:
        hardness (Tensor): [B, A] per-anchor loss (no gradient needed).
        positive (Tensor): [B, A] bool.
        negative (Tensor): [B, A] bool (disjoint from ``positive``; the rest is ignored).
        num_samples (int): anchors per image. Default: 256.
        fg_fraction (float): maximum positive fraction. Default: 0.25.

    Returns:
        tuple: ``(sampled_positive, sampled_negative)``, [B, A] bool each.
    """
    hardness = hardness.detach()
    max_fg = float(int(num_samples * fg_fraction))
    num_fg = paddle.minimum(positive.astype("float32").sum(axis=1, keepdim=True), paddle.to_tensor(max_fg))
    num_bg = paddle.minimum(negative.astype("float32").sum(axis=1, keepdim=True), float(num_samples) - num_fg)
    return _top_k_mask(hardness, positive, num_fg), _top_k_mask(hardness, negative, num_bg)


@register
@serializable
class SSHLoss(nn.Layer):
    """SSH's loss: per module and image, 256 sampled anchors, softmax CE + smooth-L1 on the positives.

    Anchors are matched to faces over all modules at once (:func:`match_anchors`): IoU >=
    ``positive_overlap`` is positive, < ``negative_overlap`` negative, in between ignored, and every face
    is also positive on its best anchor (of any module). Each module then keeps
    :func:`sample_hardest` anchors of each image; its classification loss is the mean CE over them,
    its box loss the smooth-L1 summed over coordinates and averaged over its sampled positives.

    Args:
        positive_overlap (float): IoU of a positive anchor. Default: 0.5 (paper section 3.4).
        negative_overlap (float): IoU below which an anchor is negative. Default: 0.3 (paper section 3.4).
        num_samples (int): anchors sampled per module and image. Default: 256.
        fg_fraction (float): maximum positive fraction of the samples. Default: 0.25.
        module_sampling (str): one of :data:`MODULE_SAMPLING`. Default: "all".
        loc_loss_weight (float): weight of the box loss. Default: 1.0.
        conf_loss_weight (float): weight of the class loss. Default: 1.0.
        landmark_loss_weight (float): weight of the landmark loss (SSHA's: :func:`landmark_loss` over every
            positive anchor whose face has landmarks, averaged), used when the head predicts landmarks. Default: 1.0.

    ``forward(deltas, logits, gt_bbox, gt_class, anchors, box_coder, landmarks=None, gt_landmarks=None)``
    (per-module lists as the head returns them, the head's box coder, and with landmarks as
    :class:`~ppdet_face.modeling.face_loss.BlazeFaceSSDLoss`) returns ``loss``, ``loss_loc``, ``loss_conf`` (sums
    over the modules used), ``num_pos``, and with landmarks ``loss_landmarks``.
    """

    def __init__(self, positive_overlap=0.5, negative_overlap=0.3, num_samples=256, fg_fraction=0.25,
                 module_sampling="all", loc_loss_weight=1.0, conf_loss_weight=1.0, landmark_loss_weight=1.0):
        super().__init__()
        if not 0.0 <= negative_overlap <= positive_overlap <= 1.0:
            raise ValueError(f"need 0 <= negative_overlap <= positive_overlap <= 1, got {negative_overlap}, "
                             f"{positive_overlap}")
        if int(num_samples) <= 0 or not 0.0 < fg_fraction <= 1.0:
            raise ValueError(f"need num_samples > 0 and fg_fraction in (0, 1], got {num_samples}, {fg_fraction}")
        self.module_sampling = check_choice("module_sampling", module_sampling, MODULE_SAMPLING)
        self.positive_overlap, self.negative_overlap = float(positive_overlap), float(negative_overlap)
        self.num_samples, self.fg_fraction = int(num_samples), float(fg_fraction)
        self.loc_loss_weight, self.conf_loss_weight = float(loc_loss_weight), float(conf_loss_weight)
        self.landmark_loss_weight = float(landmark_loss_weight)

    def _modules_used(self, num_levels):
        if self.module_sampling == "all":
            return list(range(num_levels))
        return [int(paddle.randint(0, num_levels, [1]).item())]

    def forward(self, deltas, logits, gt_bbox, gt_class, anchors, box_coder, landmarks=None, gt_landmarks=None):
        all_anchors = paddle.concat(anchors, axis=0)
        with paddle.no_grad():
            matched_box, matched_class, best_iou = match_anchors(with_landmarks(gt_bbox, gt_landmarks), gt_class,
                                                                 all_anchors)
            target_delta = box_coder.encode(matched_box[..., :4], all_anchors.unsqueeze(0))
        sizes = [a.shape[0] for a in anchors]
        splits = [paddle.split(t, sizes, axis=1) for t in (target_delta, matched_class, best_iou)]
        loss_loc = loss_conf = num_pos = paddle.zeros([], "float32")
        for i in self._modules_used(len(anchors)):
            loc, conf, pos = self._module_loss(deltas[i], logits[i], *(s[i] for s in splits))
            loss_loc, loss_conf, num_pos = loss_loc + loc, loss_conf + conf, num_pos + pos
        loss_loc, loss_conf = loss_loc * self.loc_loss_weight, loss_conf * self.conf_loss_weight
        out = {"loss": loss_loc + loss_conf, "loss_loc": loss_loc, "loss_conf": loss_conf, "num_pos": num_pos}
        if landmarks is not None:
            out["loss_landmarks"] = self.landmark_loss_weight * landmark_loss(
                landmarks, matched_box[..., 4:], all_anchors, box_coder, best_iou >= self.positive_overlap)
            out["loss"] = out["loss"] + out["loss_landmarks"]
        return out

    def _module_loss(self, deltas, logits, target_delta, matched_class, best_iou):
        """``(box loss, class loss, sampled positives)`` of one module."""
        positive = best_iou >= self.positive_overlap
        negative = best_iou < self.negative_overlap
        target_class = paddle.where(positive, matched_class, paddle.full_like(matched_class, logits.shape[-1] - 1))
        ce = F.cross_entropy(logits, target_class.unsqueeze(-1), reduction="none").squeeze(-1)
        pos, neg = sample_hardest(ce, positive, negative, self.num_samples, self.fg_fraction)
        pos_f = pos.astype(ce.dtype)
        selected = pos_f + neg.astype(ce.dtype)
        loss_conf = (ce * selected).sum() / selected.sum().clip(min=1.0)
        loc = F.smooth_l1_loss(deltas, target_delta, reduction="none").sum(axis=-1)
        num_pos = pos_f.sum()
        return (loc * pos_f).sum() / num_pos.clip(min=1.0), loss_conf, num_pos


@register
class SSHDetector(FaceDetector):
    """SSH: backbone (stride 8/16/32) -> :class:`SSHNeck` -> 1x1 classifier / regressor head.

    Channel counts flow through ``out_shape`` in :meth:`from_config`. Geometry, decode and NMS: see
    :class:`~ppdet_face.modeling.detector.FaceDetector`.

    Args:
        backbone (nn.Layer): e.g. ``VisionVGG16``.
        neck (nn.Layer): ``SSHNeck``.
        head (nn.Layer): ``FaceAnchorHead`` with 1x1 convs and the SSH anchors.
        loss (nn.Layer): ``SSHLoss``. Default: "SSHLoss".
        post_process (object): ``FacePostProcess``. Default: "FacePostProcess".
    """

    head_attr = "ssh_head"

    def __init__(self, backbone, neck, ssh_head, loss="SSHLoss", post_process="FacePostProcess"):
        super().__init__(backbone, ssh_head, neck=neck, loss=loss, post_process=post_process)

    @classmethod
    def from_config(cls, cfg, *args, **kwargs):
        backbone = create(cfg["backbone"])
        neck = create(cfg["neck"], input_shape=backbone.out_shape)
        return {"backbone": backbone, "neck": neck, "ssh_head": create(cfg["ssh_head"], input_shape=neck.out_shape)}
