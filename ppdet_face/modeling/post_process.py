"""Box decoding and NMS for the face head, traceable under ``to_static(full_graph=True)``."""
import paddle
import paddle.nn.functional as F
from ppdet.core.workspace import register, serializable

__all__ = ["BlazeFacePostProcess", "decode_boxes"]


def decode_boxes(deltas, anchors, variances):
    """Inverse of the SSD encoding: ``deltas`` [B, A, 4] w.r.t. ``anchors`` [A, 4] -> x1, y1, x2, y2."""
    aw = anchors[:, 2] - anchors[:, 0]
    ah = anchors[:, 3] - anchors[:, 1]
    ax = anchors[:, 0] + 0.5 * aw
    ay = anchors[:, 1] + 0.5 * ah
    cx = ax + deltas[..., 0] * variances[0] * aw
    cy = ay + deltas[..., 1] * variances[1] * ah
    w = paddle.exp(deltas[..., 2] * variances[2]) * aw
    h = paddle.exp(deltas[..., 3] * variances[3]) * ah
    return paddle.stack([cx - 0.5 * w, cy - 0.5 * h, cx + 0.5 * w, cy + 0.5 * h], axis=-1)


@register
@serializable
class BlazeFacePostProcess:
    """Softmax, decode to original-image pixels, clip, per-class NMS.

    Args:
        prior_box_var (list[float]): encoding variances. Default: [0.1, 0.1, 0.2, 0.2].
        score_threshold (float): minimum face score kept. Default: 0.01.
        nms_threshold (float): IoU above which the lower-scored box is suppressed. Default: 0.3.
        nms_top_k (int): boxes per image entering NMS (highest scores). Default: 5000.
        keep_top_k (int): boxes per image after NMS. Default: 750.
        clip (bool): clip boxes to the original image. Default: True.

    Calling it with ``(deltas, logits, anchors, image, scale_factor, im_shape=None)`` returns
    ``(bbox [N, 6], bbox_num [B])``: rows ``class, score, x1, y1, x2, y2`` in original-image
    pixels (``image`` is the network input, ``scale_factor`` its ``[scale_y, scale_x]``
    w.r.t. the original image, ``im_shape`` the un-padded ``[h, w]`` of each image in the
    batch, default: the input size), grouped by image with ``bbox_num`` rows each.
    """

    def __init__(self, prior_box_var=(0.1, 0.1, 0.2, 0.2), score_threshold=0.01, nms_threshold=0.3,
                 nms_top_k=5000, keep_top_k=750, clip=True):
        if not 0.0 <= nms_threshold <= 1.0:
            raise ValueError(f"nms_threshold must be in [0, 1], got {nms_threshold}")
        self.prior_box_var = [float(v) for v in prior_box_var]
        self.score_threshold = float(score_threshold)
        self.nms_threshold = float(nms_threshold)
        self.nms_top_k = int(nms_top_k)
        self.keep_top_k = int(keep_top_k)
        self.clip = bool(clip)

    def decode(self, deltas, logits, anchors, image, scale_factor, im_shape=None):
        """Returns ``(boxes [B, A, 4] original pixels, scores [B, C, A] foreground probabilities)``.

        Boxes are clipped to each original image (``im_shape / scale_factor``) when ``clip``;
        zero-area boxes (e.g. anchors in batch padding) get score 0.
        """
        deltas = paddle.concat(deltas, axis=1)
        logits = paddle.concat(logits, axis=1)
        anchors = paddle.concat(anchors, axis=0)
        boxes = decode_boxes(deltas, anchors, self.prior_box_var)
        in_shape = paddle.cast(paddle.shape(image)[2:4], "float32")  # H, W of the network input
        in_size = paddle.stack([in_shape[1], in_shape[0], in_shape[1], in_shape[0]]).reshape([1, 1, 4])
        scale = paddle.concat([scale_factor[:, 1:2], scale_factor[:, 0:1]], axis=1).tile([1, 2]).unsqueeze(1)
        boxes = boxes * in_size / scale
        if self.clip:
            if im_shape is None:
                limit = in_size / scale
            else:  # W, H, W, H of each original image
                orig = im_shape / scale_factor
                limit = paddle.concat([orig[:, 1:2], orig[:, 0:1]], axis=1).tile([1, 2]).unsqueeze(1)
            boxes = paddle.minimum(paddle.maximum(boxes, paddle.zeros_like(boxes)), limit)
        scores = F.softmax(logits, axis=-1)[:, :, :-1].transpose([0, 2, 1])
        # Paddle's NMS drops zero-area boxes (NaN IoU), ONNX's keeps them: make both drop them.
        valid = paddle.logical_and(boxes[:, :, 2] > boxes[:, :, 0], boxes[:, :, 3] > boxes[:, :, 1])
        scores = scores * paddle.cast(valid, scores.dtype).unsqueeze(1)
        return boxes, scores

    def nms(self, boxes, scores):
        """Per-image, per-class NMS: returns ``(bbox [N, 6], bbox_num [B])``."""
        bbox, _, bbox_num = paddle._C_ops.multiclass_nms3(
            boxes, scores, None, self.score_threshold, self.nms_top_k, self.keep_top_k, self.nms_threshold,
            True, 1.0, -1)
        return bbox, bbox_num

    def __call__(self, deltas, logits, anchors, image, scale_factor, im_shape=None):
        return self.nms(*self.decode(deltas, logits, anchors, image, scale_factor, im_shape))
