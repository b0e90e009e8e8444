"""The BlazeFace detector architecture (backbone -> optional neck -> face head)."""
from ppdet.core.workspace import create, register

from .detector import FaceDetector

__all__ = ["BlazeFaceDetector"]


@register
class BlazeFaceDetector(FaceDetector):
    """BlazeFace / BlazeFace-FPN-SSH (https://arxiv.org/abs/1907.05047).

    Channel counts flow from component to component through ``out_shape`` in
    :meth:`from_config`; the YAML never repeats them. Geometry, decode and NMS: see
    :class:`~ppdet_face.modeling.detector.FaceDetector`.

    Args:
        backbone (nn.Layer): e.g. ``BlazeFaceBackbone``.
        blaze_head (nn.Layer): ``FaceAnchorHead``.
        neck (nn.Layer|None): e.g. ``BlazeFaceNeck``; ``None`` feeds the backbone to the head.
            Default: None.
        loss (nn.Layer): ``BlazeFaceSSDLoss``. Default: "BlazeFaceSSDLoss".
        post_process (object): ``FacePostProcess``. Default: "FacePostProcess".

    In training, ``forward(inputs)`` returns the loss dict (``loss``, ``loss_loc``,
    ``loss_conf``, ``num_pos``); in eval, ``{'bbox': [N, 6], 'bbox_num': [B]}``.
    """

    head_attr = "blaze_head"  # PaddleDetection's parameter names (blaze_head.*): checkpoints load both ways

    def __init__(self, backbone, blaze_head, neck=None, loss="BlazeFaceSSDLoss", post_process="FacePostProcess"):
        super().__init__(backbone, blaze_head, neck=neck, loss=loss, post_process=post_process)

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
