"""Box decoding, NMS and clipping for SSD-style face heads, traceable under ``to_static(full_graph=True)``.

With the default ``clip: after_nms`` the result equals PaddleDetection's ``BBoxPostProcess`` (``SSDBox``
decode, ``MultiClassNMS``, then ``get_pred``'s clip to the original image) on the same head outputs,
except that boxes left without area by the clip are dropped instead of being labelled -1, and an image
without detections has no rows instead of upstream's placeholder box (tests/modeling/test_post_process_parity.py).
"""
import paddle
import paddle.nn.functional as F
from ppdet.core.workspace import register, serializable

from .record import BOX

__all__ = ["FacePostProcess", "CLIP_MODES", "foreground_scores", "input_hw", "to_original_pixels"]

#: Where boxes are clipped to the original image: ``after_nms`` (PaddleDetection's order),
#: ``before_nms`` (clip, give zero-area boxes score 0, then NMS), ``none``.
CLIP_MODES = ("after_nms", "before_nms", "none")


def foreground_scores(logits):
    """``softmax(logits)`` without the background (last) column, as ``[B, C, A]``.

    With one foreground class this is ``1 / (1 + exp(background - face))``: the same probability,
    computed elementwise (runtimes run a softmax over a last axis of 2 as a slow strided reduction;
    deploy/README.md has its cost). Not ``sigmoid``: runtimes approximate it
    (ONNX Runtime, oneDNN), and near 1.0 their last bits decide which of two saturated scores tie,
    where ``exp`` and a reciprocal round as the softmax does (the export tests compare runtimes).
    """
    if logits.shape[-1] == 2:
        return paddle.reciprocal(paddle.exp(logits[:, :, 1:2] - logits[:, :, 0:1]) + 1.0).transpose([0, 2, 1])
    return F.softmax(logits, axis=-1)[:, :, :-1].transpose([0, 2, 1])


def original_size(im_shape, scale_factor):
    """``[B, 4]`` ``W, H, W, H`` of each original image: ``floor(im_shape / scale_factor + 0.5)`` (as upstream)."""
    size = paddle.floor(im_shape / scale_factor + 0.5)
    return paddle.concat([size[:, 1:2], size[:, 0:1]], axis=1).tile([1, 2])


def input_hw(image):
    """``[2]`` float32 H, W of the network input ``image`` (traceable)."""
    return paddle.cast(paddle.shape(image)[2:4], "float32")


def to_original_pixels(xy, image, scale_factor):
    """``xy`` ``[B, A, 2K]`` (``x, y`` pairs normalised by the network input ``image``'s W, H) in original-image
    pixels, given ``scale_factor`` ``[B, 2]`` (``[scale_y, scale_x]`` of the input w.r.t. the original)."""
    size = input_hw(image).unsqueeze(0) / scale_factor  # H, W of the (padded) input in original pixels
    return xy * paddle.concat([size[:, 1:2], size[:, 0:1]], axis=1).tile([1, xy.shape[-1] // 2]).unsqueeze(1)


def _positions(like):
    """``0, 1, ..., n - 1`` (int64) for a 1-D tensor ``like`` of length n (a cumulative sum: no ``arange``
    in a fixed-shape program, whose only ``arange`` would otherwise be this bookkeeping)."""
    return paddle.cumsum(paddle.ones_like(like, dtype="int64")) - 1


def _row_images(bbox_num, bbox):
    """Image index of each NMS output row (rows are grouped by image, ``bbox_num`` per image)."""
    ends = paddle.cumsum(paddle.cast(bbox_num, "int64"))
    rows = _positions(bbox[:, 0])
    return paddle.cast(rows.unsqueeze(1) >= ends.unsqueeze(0), "int64").sum(axis=1)


@register
@serializable
class FacePostProcess:
    """Softmax, decode to original-image pixels, per-class NMS, clip to the original image.

    The box encoding is not configured here: :meth:`decode` takes the head's box coder.

    Args:
        score_threshold (float): minimum face score kept. Default: 0.01.
        nms_threshold (float): IoU above which the lower-scored box is suppressed. Default: 0.3.
        nms_top_k (int): boxes per image entering NMS (highest scores). Default: 5000.
        keep_top_k (int): boxes per image after NMS. Default: 750.
        clip (str): one of :data:`CLIP_MODES`. Default: "after_nms".

    ``decode`` + ``nms`` (see :meth:`FaceDetector.detect`) give ``(bbox [N, W], bbox_num [B])``: rows
    ``class, score, x1, y1, x2, y2`` in original-image pixels, then the detector's extras (W = 6 without),
    grouped by image (:mod:`ppdet_face.modeling.record`).
    """

    def __init__(self, score_threshold=0.01, nms_threshold=0.3,
                 nms_top_k=5000, keep_top_k=750, clip="after_nms"):
        if not 0.0 <= nms_threshold <= 1.0:
            raise ValueError(f"nms_threshold must be in [0, 1], got {nms_threshold}")
        if clip not in CLIP_MODES:
            raise ValueError(f"clip={clip!r} is not supported; allowed values: {', '.join(CLIP_MODES)}")
        self.score_threshold = float(score_threshold)
        self.nms_threshold = float(nms_threshold)
        self.nms_top_k = int(nms_top_k)
        self.keep_top_k = int(keep_top_k)
        self.clip = clip

    def decode(self, deltas, logits, anchors, box_coder, image, scale_factor, im_shape=None):
        """Boxes in original-image pixels and foreground probabilities, before NMS.

        Args:
            deltas (Tensor): ``[B, A, 4]`` box deltas.
            logits (Tensor): ``[B, A, C + 1]`` class logits, background last.
            anchors (Tensor): ``[A, 4]`` normalised anchors.
            box_coder (BoxCoder): the head's box coder (its variances encoded the training targets).
            image (Tensor): the network input (its H, W normalise the anchors).
            scale_factor (Tensor): ``[B, 2]`` ``[scale_y, scale_x]`` of the input w.r.t. the original.
            im_shape (Tensor|None): ``[B, 2]`` un-padded input H, W (``clip: before_nms`` only);
                None: the input size.

        Returns:
            tuple: ``(boxes [B, A, 4], scores [B, C, A])``. With ``clip: before_nms`` boxes are clipped
            to each original image and zero-area boxes get score 0 (Paddle's NMS drops them through a
            NaN IoU, ONNX's keeps them: this makes both drop them).
        """
        boxes = to_original_pixels(box_coder.decode(deltas, anchors), image, scale_factor)
        scores = foreground_scores(logits)
        if self.clip != "before_nms":
            return boxes, scores
        if im_shape is None:
            im_shape = input_hw(image).unsqueeze(0).tile([paddle.shape(image)[0], 1])
        limit = original_size(im_shape, scale_factor).unsqueeze(1)
        boxes = paddle.minimum(F.relu(boxes), limit)
        valid = paddle.logical_and(boxes[:, :, 2] > boxes[:, :, 0], boxes[:, :, 3] > boxes[:, :, 1])
        return boxes, scores * paddle.cast(valid, scores.dtype).unsqueeze(1)

    def nms(self, boxes, scores, im_shape=None, scale_factor=None, nms_top_k=None, extras=None):
        """:meth:`raw_nms`, then :meth:`finish`: ``(bbox [N, W], bbox_num [B] int32)``; ``extras`` ``[B, A, E]``
        (or None) are appended to the rows of the boxes NMS keeps."""
        bbox, bbox_num = self.raw_nms(boxes, scores, nms_top_k, extras)
        return self.finish(bbox, bbox_num, im_shape, scale_factor)

    def raw_nms(self, boxes, scores, nms_top_k=None, extras=None):
        """Per-image, per-class NMS (``multiclass_nms3``); ``nms_top_k`` overrides the candidate cap
        (the WIDER predictor's prefix shortcut). Returns ``(bbox [N, 6 + E], bbox_num [B] int32)``: each kept
        box's row, then its anchor's ``extras`` ``[B, A, E]`` when given."""
        top_k = self.nms_top_k if nms_top_k is None else int(nms_top_k)
        bbox, index, bbox_num = paddle._C_ops.multiclass_nms3(
            boxes, scores, None, self.score_threshold, top_k, self.keep_top_k, self.nms_threshold, True, 1.0, -1)
        if extras is not None:  # the index of a kept box counts anchors across the batch: image * A + anchor
            flat = extras.reshape([-1, paddle.shape(extras)[2]])
            bbox = paddle.concat([bbox, paddle.gather(flat, index.flatten())], axis=1)
        return bbox, bbox_num

    def finish(self, bbox, bbox_num, im_shape=None, scale_factor=None):
        """With ``clip: after_nms``, :meth:`clip_rows` (``im_shape`` and ``scale_factor`` required);
        otherwise the NMS output unchanged."""
        if self.clip != "after_nms":
            return bbox, bbox_num
        if im_shape is None or scale_factor is None:
            raise ValueError("clip: after_nms needs im_shape and scale_factor")
        return self.clip_rows(bbox, bbox_num, im_shape, scale_factor)

    @staticmethod
    def clip_rows(bbox, bbox_num, im_shape, scale_factor):
        """Clip NMS output rows to their original image and drop rows left without area.

        A zero-area sentinel row (of a sentinel image) is appended first, so that no intermediate
        tensor is empty when NMS kept nothing: oneDNN kernels segfault on empty inputs (Paddle 3.3).
        """
        rows = paddle.concat([bbox, paddle.zeros([1, bbox.shape[1]], bbox.dtype)], axis=0)
        image_of_row = _row_images(bbox_num, rows)  # the sentinel row belongs to image B
        limits = paddle.concat([original_size(im_shape, scale_factor), paddle.zeros([1, 4], "float32")], axis=0)
        limit = paddle.index_select(limits, image_of_row)
        xyxy = paddle.minimum(F.relu(rows[:, BOX]), limit)
        keep = paddle.logical_and(xyxy[:, 2] > xyxy[:, 0], xyxy[:, 3] > xyxy[:, 1])
        clipped = paddle.concat([rows[:, :BOX.start], xyxy, rows[:, BOX.stop:]], axis=1)
        kept = paddle.index_select(clipped, paddle.nonzero(keep).flatten())
        per_image = _positions(bbox_num)
        hits = paddle.logical_and(image_of_row.unsqueeze(1) == per_image.unsqueeze(0), keep.unsqueeze(1))
        return kept, paddle.cast(hits, "int32").sum(axis=0)
