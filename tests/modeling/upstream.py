"""Build PaddleDetection's own BlazeFace(-FPN-SSH) from the upstream config, for parity tests."""
import tempfile

UPSTREAM_FPN_SSH = """
architecture: BlazeFace
num_classes: 1
BlazeFace: {backbone: BlazeNet, neck: BlazeNeck, blaze_head: FaceHead, post_process: BBoxPostProcess}
BlazeNet:
  blaze_filters: [[24, 24], [24, 24], [24, 48, 2], [48, 48], [48, 48]]
  double_blaze_filters: [[48, 24, 96, 2], [96, 24, 96], [96, 24, 96], [96, 24, 96, 2], [96, 24, 96], [96, 24, 96]]
  act: relu
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


def build_upstream(neck_type="fpn_ssh"):
    """Return ppdet's BlazeFace built like ``configs/face_detection/blazeface[_fpn_ssh]_1000e.yml``."""
    import ppdet_face  # noqa: F401
    from ppdet.core.workspace import create, load_config

    head_in = "[48, 48]" if neck_type == "fpn_ssh" else "[96, 96]"
    text = UPSTREAM_FPN_SSH.replace("NECK", neck_type).replace("HEAD_IN", head_in)
    with tempfile.NamedTemporaryFile("w", suffix=".yml", delete=False) as f:
        f.write(text)
    cfg = load_config(f.name)
    return create(cfg.architecture)
