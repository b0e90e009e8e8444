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
  score and box (:mod:`ppdet_face.modeling.record`): the head's (``landmarks`` with ``num_landmarks``), none by
  default.
"""
import paddle
from ppdet.modeling.architectures.meta_arch import BaseArch

from .post_process import input_hw, to_original_pixels
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

    def __init__(self, backbone, head, neck=None, loss=None, post_process=None):
        super().__init__()
        self.backbone = backbone
        self.neck = neck
        self.loss = loss
        self.post_process = post_process
        setattr(self, self.head_attr, head)
        #: Extra columns of each detection after class, score and box: name -> width, the head's
        #: (``{"landmarks": 10}`` with five landmarks), computed per anchor by :meth:`decode_extras`.
        self.extra_fields = dict(getattr(head, "extra_fields", {}))

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
        """Per level ``(deltas, logits, anchors)`` of an image batch."""
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
        :attr:`extra_fields`, in order): the head's decoded landmarks, or None without extras.

        Args:
            feats (list[Tensor]): the feature maps of :meth:`features`.
            anchors (Tensor): ``[A, 4]`` normalised anchors.
            image (Tensor): the network input.
            scale_factor (Tensor): ``[B, 2]`` ``[scale_y, scale_x]`` of the input w.r.t. the original.
        """
        if not self.extra_fields:
            return None
        deltas = paddle.concat(self.head.landmark_deltas(feats), axis=1)
        return to_original_pixels(self.head.box_coder.decode_points(deltas, anchors), image, scale_factor)

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
            feats = self.features(image)
            deltas, logits, anchors = self.head(feats, image)
            landmarks = {}
            if self.extra_fields:
                landmarks = {"landmarks": self.head.landmark_deltas(feats), "gt_landmarks": self.inputs["gt_landmarks"]}
            return self.loss(deltas, logits, self.inputs["gt_bbox"], self.inputs["gt_class"], anchors,
                             self.head.box_coder, **landmarks)
        im_shape = self.inputs.get("im_shape")
        if im_shape is None:
            im_shape = input_hw(image).unsqueeze(0).tile([image.shape[0], 1])
        bbox, bbox_num = self.detect(image, im_shape, self.inputs["scale_factor"])
        return {"bbox": bbox, "bbox_num": bbox_num}

    def get_loss(self):
        return self._forward()

    def get_pred(self):
        return self._forward()
