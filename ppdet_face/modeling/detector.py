"""The single-stage face detector contract: a detector owns its geometry.

Every detector family (BlazeFace, BlazeFace-FPN-SSH, and later others) subclasses
:class:`FaceDetector`. Export, the WIDER evaluation backends and weight calibration only call the
methods below, never a detector's parts, so a new family needs no change there:

* :meth:`FaceDetector.features` -- backbone (+ neck) feature maps;
* :meth:`FaceDetector.raw_outputs` -- the network trunk: box deltas, class logits (all levels
  concatenated) and each level's feature size; what an inference backend runs;
* :meth:`FaceDetector.anchors` -- the anchors of given feature sizes;
* :meth:`FaceDetector.detect` -- deploy-ready decode + NMS (+ clipping) in original-image pixels,
  traceable with ``paddle.jit.to_static(full_graph=True)``;
* :attr:`FaceDetector.extra_fields` / :meth:`FaceDetector.decode_extras` -- per-detection columns after class,
  score and box (:mod:`ppdet_face.modeling.record`), none by default.
"""
import paddle
from ppdet.modeling.architectures.meta_arch import BaseArch

from .record import record_fields

__all__ = ["FaceDetector"]


class FaceDetector(BaseArch):
    """Backbone -> optional neck -> head (deltas, logits, anchors per level) -> loss / post-process.

    Subclasses set :attr:`head_attr` (the attribute holding the head; parameter names follow it)
    and build the parts in ``from_config``. The head is called as ``head(feats, image)`` and returns
    ``(deltas, logits, anchors)``: per level ``[B, A_i, 4]``, ``[B, A_i, C + 1]`` (background last)
    and ``[A_i, 4]`` normalised ``x1, y1, x2, y2``; it has an ``anchor_generator`` with
    ``from_shapes(feat_shapes, image_hw)``, and a ``box_coder`` (the one box encoding, which this class hands
    to the loss and to the post-process). The post-process is a :class:`FacePostProcess`.

    In training, ``forward(inputs)`` returns the loss dict; in eval ``{'bbox': [N, W], 'bbox_num': [B]}``
    with the rows of :attr:`record` (``class, score, x1, y1, x2, y2`` in original-image pixels, then the extras).
    """

    __category__ = "architecture"
    __inject__ = ["loss", "post_process"]
    head_attr = "head"
    #: Extra columns of each detection after class, score and box: name -> width (e.g. ``{"landmarks": 10}``),
    #: computed per anchor by :meth:`decode_extras`. None by default.
    extra_fields = {}

    def __init__(self, backbone, neck=None, loss=None, post_process=None):
        super().__init__()
        self.backbone = backbone
        self.neck = neck
        self.loss = loss
        self.post_process = post_process

    @property
    def head(self):
        """The detection head (``self.<head_attr>``)."""
        return getattr(self, self.head_attr)

    @property
    def num_classes(self):
        """Foreground classes."""
        return int(self.head.num_classes) - 1

    def features(self, image):
        """Feature maps fed to the head: the neck's outputs, or the backbone's without a neck."""
        feats = self.backbone({"image": image})
        return self.neck(feats) if self.neck is not None else feats

    def head_outputs(self, image):
        """Per level ``(deltas, logits, anchors)`` of an image batch (what the loss takes)."""
        return self.head(self.features(image), image)

    def raw_outputs(self, image):
        """The trunk: ``(deltas [B, A, 4], logits [B, A, C + 1], [feature H, W per level])``."""
        feats = self.features(image)
        deltas, logits, _ = self.head(feats, image)  # its anchors are unused here (pruned when traced)
        return paddle.concat(deltas, axis=1), paddle.concat(logits, axis=1), [paddle.shape(f)[2:4] for f in feats]

    @property
    def record(self):
        """dict: the fields of each output row, name -> columns (:func:`~ppdet_face.modeling.record.record_fields`)."""
        return record_fields(self.extra_fields)

    def decode_extras(self, feats, anchors, image, scale_factor):
        """Per-anchor extra columns in original-image pixels, ``[B, A, E]`` (E: the widths of
        :attr:`extra_fields`, in order), or None for a detector without extras (the default).

        Args:
            feats (list[Tensor]): the feature maps of :meth:`features`.
            anchors (Tensor): ``[A, 4]`` normalised anchors.
            image (Tensor): the network input.
            scale_factor (Tensor): ``[B, 2]`` ``[scale_y, scale_x]`` of the input w.r.t. the original.
        """
        return None

    def anchors(self, feat_shapes, image):
        """``[A, 4]`` normalised anchors for feature sizes ``feat_shapes`` of input ``image`` (any batch)."""
        image_hw = paddle.shape(image)[2:4]
        levels = self.head.anchor_generator.from_shapes(feat_shapes, image_hw)
        return paddle.concat(levels, axis=0)

    def detect(self, image, im_shape, scale_factor, anchors=None, with_nms=True):
        """Deploy-ready inference: network, decode, NMS and clipping, as the post-process configures.

        Args:
            image (Tensor): ``[B, 3, H, W]`` normalised network input (a batch may be padded).
            im_shape (Tensor): ``[B, 2]`` network-input ``H, W`` of each image before padding.
            scale_factor (Tensor): ``[B, 2]`` ``[scale_y, scale_x]`` of the input w.r.t. the original.
            anchors (Tensor|None): precomputed ``[A, 4]`` anchors (fixed input size); None computes them.
            with_nms (bool): False stops before NMS. Default: True.

        Returns:
            tuple: with NMS ``(bbox [N, W], bbox_num [B] int32)`` (rows of :attr:`record`); without
            ``(boxes [B, A, 4], scores [B, C, A])``, then ``extras [B, A, E]`` when the detector has extras.
        """
        feats = self.features(image)
        deltas, logits, _ = self.head(feats, image)
        if anchors is None:
            anchors = self.anchors([paddle.shape(f)[2:4] for f in feats], image)
        post = self.post_process
        boxes, scores = post.decode(paddle.concat(deltas, axis=1), paddle.concat(logits, axis=1), anchors,
                                    self.head.box_coder, image, scale_factor, im_shape)
        extras = self.decode_extras(feats, anchors, image, scale_factor)
        if not with_nms:
            return (boxes, scores) if extras is None else (boxes, scores, extras)
        return post.nms(boxes, scores, im_shape, scale_factor, extras=extras)

    def _forward(self):
        image = self.inputs["image"]
        if self.training:
            deltas, logits, anchors = self.head_outputs(image)
            return self.loss(deltas, logits, self.inputs["gt_bbox"], self.inputs["gt_class"], anchors,
                             self.head.box_coder)
        im_shape = self.inputs.get("im_shape")
        if im_shape is None:
            im_shape = paddle.cast(paddle.shape(image)[2:4], "float32").unsqueeze(0).tile([image.shape[0], 1])
        bbox, bbox_num = self.detect(image, im_shape, self.inputs["scale_factor"])
        return {"bbox": bbox, "bbox_num": bbox_num}

    def get_loss(self):
        return self._forward()

    def get_pred(self):
        return self._forward()
