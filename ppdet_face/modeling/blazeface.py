"""The BlazeFace detector architecture (backbone -> optional neck -> face head)."""
from ppdet.core.workspace import create, register
from ppdet.modeling.architectures.meta_arch import BaseArch

__all__ = ["BlazeFaceDetector"]


@register
class BlazeFaceDetector(BaseArch):
    """BlazeFace / BlazeFace-FPN-SSH (https://arxiv.org/abs/1907.05047).

    Channel counts flow from component to component through ``out_shape`` in
    :meth:`from_config`; the YAML never repeats them.

    Args:
        backbone (nn.Layer): e.g. ``BlazeFaceBackbone``.
        neck (nn.Layer|None): e.g. ``BlazeFaceNeck``; ``None`` feeds the backbone to the head.
        blaze_head (nn.Layer): ``BlazeFaceHead``.
        loss (nn.Layer): ``BlazeFaceSSDLoss``.
        post_process (object): ``BlazeFacePostProcess``.

    In training, ``forward(inputs)`` returns the loss dict (``loss``, ``loss_loc``,
    ``loss_conf``, ``num_pos``); in eval, ``{'bbox': [N, 6], 'bbox_num': [B]}``.
    """

    __category__ = "architecture"
    __inject__ = ["loss", "post_process"]

    def __init__(self, backbone, blaze_head, neck=None, loss="BlazeFaceSSDLoss", post_process="BlazeFacePostProcess"):
        super().__init__()
        self.backbone = backbone
        self.neck = neck
        self.blaze_head = blaze_head
        self.loss = loss
        self.post_process = post_process

    @classmethod
    def from_config(cls, cfg, *args, **kwargs):
        backbone = create(cfg["backbone"])
        shape = backbone.out_shape
        neck = None
        if cfg.get("neck"):
            neck = create(cfg["neck"], input_shape=shape)
            shape = neck.out_shape
        blaze_head = create(cfg["blaze_head"], input_shape=shape)
        return {"backbone": backbone, "neck": neck, "blaze_head": blaze_head}

    def head_outputs(self, image):
        """Raw head outputs for an image batch: ``(deltas, logits, anchors)`` per level."""
        feats = self.backbone({"image": image})
        if self.neck is not None:
            feats = self.neck(feats)
        return self.blaze_head(feats, image)

    def _forward(self):
        image = self.inputs["image"]
        deltas, logits, anchors = self.head_outputs(image)
        if self.training:
            return self.loss(deltas, logits, self.inputs["gt_bbox"], self.inputs["gt_class"], anchors)
        bbox, bbox_num = self.post_process(deltas, logits, anchors, image, self.inputs["scale_factor"],
                                           self.inputs.get("im_shape"))
        return {"bbox": bbox, "bbox_num": bbox_num}

    def get_loss(self):
        return self._forward()

    def get_pred(self):
        return self._forward()
