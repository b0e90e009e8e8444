"""``infer_cfg.yml``: the contract between an export folder and ``deploy/`` (which imports no ppdet_face)."""
from ppdet_face.data.preprocess import reader_preprocess

from .program import _hw

__all__ = ["DRAW_THRESHOLD", "INPUT_NAMES", "OUTPUT_NAMES", "build_infer_cfg", "write_infer_cfg"]

INPUT_NAMES = ("image", "im_shape", "scale_factor")
OUTPUT_NAMES = ("bbox", "bbox_num")

# PaddleDetection deploy's name for this family (its TRT_MIN_SUBGRAPH / SUPPORT_MODELS key).
_DEPLOY_ARCH = "Face"
_MIN_SUBGRAPH_SIZE = 3
#: ``draw_threshold`` of infer_cfg.yml: the score from which deploy draws and saves a box.
DRAW_THRESHOLD = 0.5


def build_infer_cfg(cfg, model, fixed_shape=None, random_weights=False, files=()):
    """The ``infer_cfg.yml`` content (a dict) for ``model`` exported from ``cfg``."""
    post = model.post_process
    h, w = _hw(fixed_shape) if fixed_shape else (-1, -1)
    label_list = ["face"] if int(cfg.get("num_classes", 1)) == 1 else [str(i) for i in range(cfg.num_classes)]
    return {
        "mode": "paddle",
        "arch": _DEPLOY_ARCH,
        "architecture": cfg.get("architecture", "BlazeFaceDetector"),
        "config_name": cfg.get("filename", ""),
        "min_subgraph_size": _MIN_SUBGRAPH_SIZE,
        "draw_threshold": DRAW_THRESHOLD,
        "metric": cfg.get("metric", "WiderFace"),
        "use_dynamic_shape": not fixed_shape,
        "input_shape": [-1, 3, int(h), int(w)],
        "channel_order": "RGB",
        "Preprocess": reader_preprocess(cfg, "TestReader", fixed_shape),
        "label_list": label_list,
        "inputs": list(INPUT_NAMES),
        "outputs": list(OUTPUT_NAMES),
        "record": [[name, width] for name, width in model.record.items()],  # a list: YAML keeps its order
        "NMS": {"score_threshold": post.score_threshold, "nms_threshold": post.nms_threshold,
                "nms_top_k": post.nms_top_k, "keep_top_k": post.keep_top_k},
        "batch_padding": {"value": 0.0, "where": "bottom/right, after NormalizeImage"},
        "random_weights": bool(random_weights),
        "files": list(files),
    }


_INFER_CFG_HEADER = """\
# Written by tools/export_model.py (ppdet_face). Deploy contract of this folder:
#   image: decode to RGB (channel_order), apply Preprocess in order, HWC -> CHW (Permute),
#          pad a batch bottom/right with 0.0 (after normalisation) to its largest H, W.
#   NormalizeImage: x = (x / 255 if is_scale else x); x = (x - mean) / std, mean/std in RGB order
#                   (mean[0] is R); [123, 117, 104] is the pixel mean, not ImageNet's [0-1] one.
#   im_shape: [H, W] of each image after Resize, before padding; scale_factor: [H/H0, W/W0].
#   outputs: bbox [N, W]: the columns of `record` in order (class, score, box x1 y1 x2 y2 in original
#            pixels, then any extras); bbox_num [B] int32.
"""


def write_infer_cfg(path, content):
    """Write ``content`` (from :func:`build_infer_cfg`) with the contract header; returns ``path``."""
    import yaml

    with open(path, "w", encoding="utf-8") as f:
        f.write(_INFER_CFG_HEADER)
        yaml.safe_dump(content, f, sort_keys=False, default_flow_style=None)
    return path
