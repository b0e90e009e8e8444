"""Our detector as the deploy benchmarks use it: exported (Paddle + ONNX, decode + NMS inside) from a config
and weights, and quantized to int8 for OpenVINO through ``tools/quantize.py``."""
import os

from ppdet_face.pretrained import DEFAULT_MODEL, bundled_model

#: The default real-face model (PaddleDetection's published BlazeFace-FPN-SSH).
DEFAULT_CONFIG = bundled_model(DEFAULT_MODEL).config
DEFAULT_WEIGHTS = bundled_model(DEFAULT_MODEL).weights

__all__ = ["DEFAULT_CONFIG", "DEFAULT_WEIGHTS", "export_ours", "int8_ready", "nms_score_threshold"]


def export_ours(config, weights, out_dir, fixed_shape=None, random_if_missing=False, score_threshold=None):
    """Export the config's model with ``weights`` to ``out_dir``; returns ``(save_dir, random)``.

    Args:
        config: the config YAML.
        weights: ``.pdparams`` / ``.safetensors`` file, with or without the suffix
            (``ppdet_face.engine.weights.resolve_weights``); None: seeded, calibrated random weights.
        out_dir: parent folder of the export.
        fixed_shape (int|None): fixed input side (None: dynamic, images at their own size). Default: None.
        random_if_missing (bool): random weights instead of an error when ``weights`` is not found (speed-only
            benchmarks, which say so in their output). Default: False.
        score_threshold (float|None): the in-graph NMS score threshold; None: the config's (0.01, the
            WIDER protocol's). A deployment threshold gives exactly the boxes of the config's export that
            score above it, with far fewer NMS candidates. Default: None.

    Raises:
        ppdet_face.engine.weights.WeightsNotFoundError: ``weights`` not found and not ``random_if_missing``.
    """
    from ppdet_face.engine import load_config
    from ppdet_face.engine.weights import build_model
    from ppdet_face.export import export_model

    cfg = load_config(str(config))
    cfg["weights"] = None if weights is None else str(weights)
    model, random_note = build_model(cfg, allow_random_weights=weights is None or random_if_missing)
    random = random_note is not None
    if score_threshold is not None:
        model.post_process.score_threshold = float(score_threshold)
    save_dir = export_model(model, cfg, str(out_dir), fmt="onnx", fixed_shape=fixed_shape, random_weights=random)
    return save_dir, random


def int8_ready(save_dir, calib_images):
    """Quantize ``save_dir`` with ``tools/quantize.py`` (``calib_images`` shared WIDER_train images) unless it
    already holds an int8 model. Returns None when the int8 model is there, else why it is not."""
    from ppdet_face_deploy.detector import load_infer_cfg

    if "quantized" in load_infer_cfg(str(save_dir)):
        return None
    if calib_images <= 0:
        return "no calibration images requested"
    from ppdet_face.export.quantize import default_calib_dir, quantize_folder

    if not os.path.isdir(default_calib_dir()):
        return f"no calibration images ({default_calib_dir()} not found)"
    quantize_folder(str(save_dir), num_images=calib_images)
    return None


def nms_score_threshold(save_dir):
    """The in-graph NMS score threshold that ``<save_dir>/infer_cfg.yml`` records."""
    from ppdet_face_deploy.detector import load_infer_cfg

    return load_infer_cfg(str(save_dir)).get("NMS", {}).get("score_threshold")
