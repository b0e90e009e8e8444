"""SSD loss for face detection with batched (vectorised) target assignment and mining.

Compared with PaddleDetection's ``SSDLoss``: no Python loop over images, no device->host
sync per image, and the IoU matrix is built only over the real ground-truth boxes of the
batch (padding added by ``PadBox`` / ``PadGT`` is trimmed first), so the cost does not grow with
the reader's ``num_max_boxes``, and it is built in blocks of at most :data:`MAX_IOU_ELEMENTS`, so
memory does not grow with the most crowded image either.
"""
import paddle
import paddle.nn as nn
import paddle.nn.functional as F
from ppdet.core.workspace import register, serializable

#: Elements of one IoU block in target assignment (16 Mi float32 = 64 MiB): 8 images x 93 faces x
#: 22,400 anchors at 640x640. A batch with more faces is matched block by block.
MAX_IOU_ELEMENTS = 1 << 24

__all__ = ["MAX_IOU_ELEMENTS", "BlazeFaceSSDLoss", "pairwise_iou", "match_anchors",
           "assign_targets", "mine_hard_negatives", "with_landmarks", "landmark_loss"]


def pairwise_iou(boxes1, boxes2, eps=1e-10):
    """IoU between ``boxes1`` [B, G, 4] and ``boxes2`` [A, 4] (x1, y1, x2, y2); returns [B, G, A]."""
    b1 = boxes1.unsqueeze(2)
    b2 = boxes2.unsqueeze(0).unsqueeze(0)
    ix1 = paddle.maximum(b1[..., 0], b2[..., 0])
    iy1 = paddle.maximum(b1[..., 1], b2[..., 1])
    ix2 = paddle.minimum(b1[..., 2], b2[..., 2])
    iy2 = paddle.minimum(b1[..., 3], b2[..., 3])
    inter = (ix2 - ix1).clip(min=0) * (iy2 - iy1).clip(min=0)
    area1 = (b1[..., 2] - b1[..., 0]) * (b1[..., 3] - b1[..., 1])
    area2 = (b2[..., 2] - b2[..., 0]) * (b2[..., 3] - b2[..., 1])
    return inter / (area1 + area2 - inter + eps)


def _best_matches(gt_bbox, valid, anchors, max_elements):
    """Best ground truth of every anchor and best anchor of every ground truth, over chunks of boxes.

    The IoU matrix is built ``chunk`` ground-truth boxes at a time (``batch * chunk * A`` at most
    ``max_elements``), so memory does not grow with the most crowded image of the batch. Ties go to
    the lower box index, as one ``argmax`` over all boxes would.

    Returns:
        tuple: ``(best_iou [B, A], best_gt [B, A] int64, forced_anchor [B, G] int64)``; invalid
        (padding) boxes have IoU -1.
    """
    batch, num_gt, num_anchors = gt_bbox.shape[0], gt_bbox.shape[1], anchors.shape[0]
    chunk = max(1, int(max_elements) // max(batch * num_anchors, 1))
    best_iou = best_gt = None
    forced = []
    for start in range(0, num_gt, chunk):
        iou = pairwise_iou(gt_bbox[:, start:start + chunk], anchors)
        iou = paddle.where(valid[:, start:start + chunk].unsqueeze(-1), iou, paddle.full_like(iou, -1.0))
        chunk_best, chunk_arg = iou.max(axis=1), iou.argmax(axis=1) + start
        forced.append(iou.argmax(axis=2))
        if best_iou is None:
            best_iou, best_gt = chunk_best, chunk_arg
        else:
            better = chunk_best > best_iou
            best_iou = paddle.where(better, chunk_best, best_iou)
            best_gt = paddle.where(better, chunk_arg, best_gt)
    return best_iou, best_gt, paddle.concat(forced, axis=1)


def match_anchors(gt_bbox, gt_class, anchors, max_iou_elements=MAX_IOU_ELEMENTS):
    """Best ground-truth box of every anchor, for the whole batch at once, each box forced onto its best anchor.

    Padding boxes (zero width or height) never match.

    Args:
        gt_bbox (Tensor): [B, G, 4 + E] normalised x1, y1, x2, y2 (padding rows allowed), then E columns that
            travel with their box (e.g. its landmarks).
        gt_class (Tensor): [B, G] or [B, G, 1] integer class ids (0-based foreground).
        anchors (Tensor): [A, 4] normalised anchors.
        max_iou_elements (int): bound of one IoU block (batch x boxes x anchors); crowded images
            are matched in several blocks. Default: :data:`MAX_IOU_ELEMENTS`.

    Returns:
        tuple: ``(matched_box [B, A, 4 + E], matched_class [B, A] int64, best_iou [B, A])``; ``best_iou``
        is 2 on the anchor a box was forced onto and -1 in an image without boxes.
    """
    batch, num_anchors, width = gt_bbox.shape[0], anchors.shape[0], gt_bbox.shape[-1]
    gt_class = gt_class.reshape([batch, -1]).astype("int64")
    valid = paddle.logical_and(gt_bbox[..., 2] > gt_bbox[..., 0], gt_bbox[..., 3] > gt_bbox[..., 1])
    counts = valid.astype("int64").sum(axis=1)
    num_real = int(counts.max()) if gt_bbox.shape[1] else 0
    if num_real == 0:
        return (paddle.zeros([batch, num_anchors, width], anchors.dtype), paddle.zeros([batch, num_anchors], "int64"),
                paddle.full([batch, num_anchors], -1.0, anchors.dtype))
    # PadBox / PadGT put real boxes first; trim the padding so the IoU matrix is [B, G_real, A].
    order = paddle.argsort(valid.astype("int32"), axis=1, descending=True, stable=True)[:, :num_real]
    gt_bbox = paddle.take_along_axis(gt_bbox, order.unsqueeze(-1).expand([batch, num_real, width]), axis=1)
    gt_class = paddle.take_along_axis(gt_class, order, axis=1)
    valid = paddle.arange(num_real, dtype="int64").unsqueeze(0) < counts.unsqueeze(1)

    best_iou, best_gt, forced_anchor = _best_matches(gt_bbox[..., :4], valid, anchors, max_iou_elements)
    # Force each real GT onto its best anchor (IoU set to 2 so it is positive whatever the threshold).
    batch_offset = paddle.arange(batch, dtype="int64").unsqueeze(-1) * num_anchors
    flat_idx = paddle.masked_select(forced_anchor + batch_offset, valid)
    gt_idx = paddle.masked_select(paddle.arange(num_real, dtype="int64").unsqueeze(0).expand([batch, num_real]),
                                  valid)
    best_gt = paddle.scatter(best_gt.reshape([-1]), flat_idx, gt_idx, overwrite=True).reshape([batch, num_anchors])
    best_iou = paddle.scatter(best_iou.reshape([-1]), flat_idx, paddle.full(flat_idx.shape, 2.0, best_iou.dtype),
                              overwrite=True).reshape([batch, num_anchors])
    matched_box = paddle.take_along_axis(gt_bbox, best_gt.unsqueeze(-1).expand([batch, num_anchors, width]), axis=1)
    matched_class = paddle.take_along_axis(gt_class, best_gt, axis=1)
    return matched_box, matched_class, best_iou


def assign_targets(gt_bbox, gt_class, anchors, overlap_threshold, max_iou_elements=MAX_IOU_ELEMENTS):
    """Match every anchor to a ground-truth box (:func:`match_anchors`); positive when the best IoU is
    >= ``overlap_threshold`` or the anchor is a box's best anchor (so no face is left unmatched).

    Args:
        gt_bbox (Tensor): [B, G, 4] normalised x1, y1, x2, y2 (padding rows allowed).
        gt_class (Tensor): [B, G] or [B, G, 1] integer class ids (0-based foreground).
        anchors (Tensor): [A, 4] normalised anchors.
        overlap_threshold (float): positive IoU threshold.
        max_iou_elements (int): bound of one IoU block. Default: :data:`MAX_IOU_ELEMENTS`.

    Returns:
        tuple: ``(matched_box [B, A, 4], matched_class [B, A] int64, positive [B, A] bool)``.
    """
    matched_box, matched_class, best_iou = match_anchors(gt_bbox, gt_class, anchors, max_iou_elements)
    return matched_box, matched_class, best_iou >= overlap_threshold


def mine_hard_negatives(conf_loss, positive, neg_pos_ratio, empty_neg_fraction):
    """Select, per image, the ``neg_pos_ratio * num_pos`` negatives with the highest loss.

    Images without positives keep ``ceil(empty_neg_fraction * A)`` negatives, so
    face-free images still teach the background class.

    Args:
        conf_loss (Tensor): [B, A] per-anchor classification loss (no gradient needed).
        positive (Tensor): [B, A] bool.
        neg_pos_ratio (float): negatives per positive.
        empty_neg_fraction (float): fraction of anchors used as negatives when an image has no positive.

    Returns:
        Tensor: [B, A] bool mask of the selected negatives.
    """
    num_anchors = conf_loss.shape[1]
    neg_loss = paddle.where(positive, paddle.full_like(conf_loss, -1.0), conf_loss.detach())
    rank = paddle.argsort(paddle.argsort(neg_loss, axis=1, descending=True), axis=1)
    num_pos = positive.astype("float32").sum(axis=1, keepdim=True)
    num_neg = paddle.where(num_pos > 0, num_pos * neg_pos_ratio,
                           paddle.full_like(num_pos, float(-(-empty_neg_fraction * num_anchors // 1))))
    num_neg = paddle.minimum(num_neg, num_anchors - num_pos)
    return paddle.logical_and(rank.astype("float32") < num_neg, paddle.logical_not(positive))


def with_landmarks(gt_bbox, gt_landmarks):
    """``gt_bbox`` [B, G, 4] with each face's landmarks [B, G, 2P] appended (matched with their box by
    :func:`match_anchors`), or ``gt_bbox`` alone when ``gt_landmarks`` is None."""
    gt_bbox = gt_bbox.astype("float32")
    return gt_bbox if gt_landmarks is None else paddle.concat([gt_bbox, gt_landmarks.astype("float32")], axis=-1)


def landmark_loss(pred, matched_points, anchors, box_coder, positive):
    """Smooth-L1 between predicted and target landmark offsets, averaged over the positive anchors whose face has
    landmarks (the others are masked out).

    Args:
        pred (list[Tensor]): per level ``[B, A_i, 2P]`` predicted offsets (the head's ``landmark_deltas``).
        matched_points (Tensor): ``[B, A, 2P]`` normalised points of each anchor's matched face; NaN for a face
            without landmarks (masked out).
        anchors (Tensor): ``[A, 4]`` normalised anchors.
        box_coder (BoxCoder): the head's box coder (:meth:`~BoxCoder.encode_points`).
        positive (Tensor): ``[B, A]`` bool.

    Returns:
        Tensor: the scalar loss (0 without such anchors).
    """
    with paddle.no_grad():
        known = paddle.logical_not(paddle.isnan(matched_points).any(axis=-1))
        mask = paddle.logical_and(positive, known)
        points = paddle.where(paddle.isnan(matched_points), paddle.zeros_like(matched_points), matched_points)
        target = box_coder.encode_points(points, anchors.unsqueeze(0))
    pred = paddle.concat(pred, axis=1)
    mask_f = mask.astype(pred.dtype)
    loss = F.smooth_l1_loss(pred, target, reduction="none").sum(axis=-1)
    return (loss * mask_f).sum() / mask_f.sum().clip(min=1.0)


@register
@serializable
class BlazeFaceSSDLoss(nn.Layer):
    """SSD multibox loss: smooth-L1 on positive anchors + softmax cross-entropy on positives
    and hard-mined negatives, divided by the number of positives in the batch.

    Args:
        overlap_threshold (float): IoU for a positive anchor. Default: 0.35.
        neg_pos_ratio (float): hard negatives per positive. Default: 3.0.
        empty_neg_fraction (float): negatives (as a fraction of anchors) for images with no face.
            Default: 0.01 (PaddleDetection's value).
        loc_loss_weight (float): weight of the box loss. Default: 1.0.
        conf_loss_weight (float): weight of the class loss. Default: 1.0.
        landmark_loss_weight (float): weight of the landmark loss (:func:`landmark_loss`, divided by the
            positives with landmarks), used when the head predicts landmarks. Default: 1.0.

    ``forward(deltas, logits, gt_bbox, gt_class, anchors, box_coder, landmarks=None, gt_landmarks=None)``
    (per-level lists as the head returns them, the head's :class:`~ppdet_face.modeling.box_coder.BoxCoder`,
    and with landmarks the head's per-level ``landmark_deltas`` and ``[B, G, 2P]`` normalised points, NaN
    where a face has none) returns a dict with ``loss``, ``loss_loc``, ``loss_conf`` (scalars), ``num_pos``,
    and with landmarks ``loss_landmarks``.
    """

    def __init__(self, overlap_threshold=0.35, neg_pos_ratio=3.0, empty_neg_fraction=0.01, loc_loss_weight=1.0,
                 conf_loss_weight=1.0, landmark_loss_weight=1.0):
        super().__init__()
        if not 0.0 < overlap_threshold <= 1.0:
            raise ValueError(f"overlap_threshold must be in (0, 1], got {overlap_threshold}")
        self.overlap_threshold = float(overlap_threshold)
        self.neg_pos_ratio = float(neg_pos_ratio)
        self.empty_neg_fraction = float(empty_neg_fraction)
        self.loc_loss_weight = float(loc_loss_weight)
        self.conf_loss_weight = float(conf_loss_weight)
        self.landmark_loss_weight = float(landmark_loss_weight)

    def forward(self, deltas, logits, gt_bbox, gt_class, anchors, box_coder, landmarks=None, gt_landmarks=None):
        deltas = paddle.concat(deltas, axis=1)
        logits = paddle.concat(logits, axis=1)
        anchors = paddle.concat(anchors, axis=0)
        bg_index = logits.shape[-1] - 1
        with paddle.no_grad():
            matched_box, matched_class, positive = assign_targets(
                with_landmarks(gt_bbox, gt_landmarks), gt_class, anchors, self.overlap_threshold)
            target_delta = box_coder.encode(matched_box[..., :4], anchors.unsqueeze(0))
            target_class = paddle.where(positive, matched_class, paddle.full_like(matched_class, bg_index))
        pos_f = positive.astype(deltas.dtype)
        loc = F.smooth_l1_loss(deltas, target_delta, reduction="none").sum(axis=-1)
        loss_loc = (loc * pos_f).sum() * self.loc_loss_weight
        ce = F.cross_entropy(logits, target_class.unsqueeze(-1), reduction="none").squeeze(-1)
        negative = mine_hard_negatives(ce, positive, self.neg_pos_ratio, self.empty_neg_fraction)
        selected = paddle.logical_or(positive, negative).astype(ce.dtype)
        loss_conf = (ce * selected).sum() * self.conf_loss_weight
        num_pos = pos_f.sum()
        normalizer = num_pos.clip(min=1.0)
        out = {"loss": (loss_loc + loss_conf) / normalizer, "loss_loc": loss_loc / normalizer,
               "loss_conf": loss_conf / normalizer, "num_pos": num_pos}
        if landmarks is not None:
            out["loss_landmarks"] = self.landmark_loss_weight * landmark_loss(
                landmarks, matched_box[..., 4:], anchors, box_coder, positive)
            out["loss"] = out["loss"] + out["loss_landmarks"]
        return out
