"""PaddleDetection's own BlazeFace, built from its upstream configs, as a reference.

Used by the checkpoint-parity tests and by ``benchmarks/train_speed.py`` (the stock path).
"""
import os
import tempfile

__all__ = ["UPSTREAM_CONFIG", "build_upstream"]

#: ppdet's ``configs/face_detection/_base_/blazeface_fpn.yml`` (NECK/HEAD_IN filled in per variant).
UPSTREAM_CONFIG = """
architecture: BlazeFace
num_classes: 1
BlazeFace: {backbone: BlazeNet, neck: BlazeNeck, blaze_head: FaceHead, post_process: BBoxPostProcess}
BlazeNet:
  blaze_filters: [[24, 24], [24, 24], [24, 48, 2], [48, 48], [48, 48]]
  double_blaze_filters: [[48, 24, 96, 2], [96, 24, 96], [96, 24, 96], [96, 24, 96, 2], [96, 24, 96], [96, 24, 96]]
  act: ACT
BlazeNeck: {neck_type: NECK, in_channel: [96, 96]}
FaceHead: {in_channels: HEAD_IN, anchor_generator: AnchorGeneratorSSD, loss: SSDLoss}
SSDLoss: {overlap_threshold: 0.35}
AnchorGeneratorSSD:
  steps: [8., 16.]
  aspect_ratios: [[1.], [1.]]
  min_sizes: [[16., 24.], [32., 48., 64., 80., 96., 128.]]
  max_sizes: [[], []]
  offset: 0.5
  flip: False
  min_max_aspect_ratios_order: false
BBoxPostProcess:
  decode: {name: SSDBox}
  nms: {name: MultiClassNMS, keep_top_k: 750, score_threshold: 0.01, nms_threshold: 0.3, nms_top_k: 5000, nms_eta: 1.0}
"""


def build_upstream(neck_type="fpn_ssh", act=None):
    """Build ppdet's own ``BlazeFace`` as its upstream configs do.

    Args:
        neck_type (str): ``"fpn_ssh"`` (as ``blazeface_fpn_ssh_1000e``) or ``"None"`` (as
            ``blazeface_1000e``). Default: "fpn_ssh".
        act (str|None): ``BlazeNet.act``. Default: None, meaning upstream's choice for ``neck_type``
            (``hard_swish`` with FPN / SSH, ``relu`` without).

    Returns:
        paddle.nn.Layer: the ppdet model (random weights).
    """
    from ppdet.core.workspace import create, load_config

    from ppdet_face.engine.config import reset_global_config

    head_in = "[48, 48]" if neck_type == "fpn_ssh" else "[96, 96]"
    if act is None:
        act = "relu" if neck_type == "None" else "hard_swish"
    text = UPSTREAM_CONFIG.replace("NECK", neck_type).replace("HEAD_IN", head_in).replace("ACT", act)
    reset_global_config()
    with tempfile.NamedTemporaryFile("w", suffix=".yml", delete=False) as f:
        f.write(text)
    try:
        cfg = load_config(f.name)
    finally:
        os.unlink(f.name)
    return create(cfg.architecture)
