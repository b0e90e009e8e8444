"""The bundled real-face model: small, loads strictly into its config, and finds the face of a real photo."""

import cv2
import numpy as np

from eval_tools.boxes import box_iou
from helpers import CONFIGS, PORTRAIT_FACE, REPO, real_photo

WEIGHTS = REPO / "pretrained" / "blazeface_fpn_ssh_wider_real.safetensors"


def test_bundled_model_is_small_and_has_a_card():
    assert WEIGHTS.stat().st_size <= 1_000_000
    card = (REPO / "pretrained" / "blazeface_fpn_ssh_wider_real.md").read_text()
    assert "non-commercial research" in card and "multi-scale" in card


def test_bundled_model_finds_the_face_in_a_real_photo():
    from ppdet.core.workspace import create

    from ppdet_face.engine import load_config
    from ppdet_face.engine.weights import load_weights
    from ppdet_face.evaluation import WiderFacePredictor

    cfg = load_config(str(CONFIGS / "face_detection" / "blazeface_fpn_ssh_wider_real.yml"))
    model = create(cfg.architecture)
    load_weights(model, str(WEIGHTS))  # strict: every tensor, every shape
    predictor = WiderFacePredictor.from_config(cfg, model, backend="dygraph")
    det = predictor.predict_single_scale(cv2.cvtColor(real_photo(), cv2.COLOR_BGR2RGB))
    confident = det[det[:, 4] >= 0.5]
    assert len(confident) >= 1
    assert box_iou(PORTRAIT_FACE, confident[:, :4]).max() >= 0.5, confident
    assert np.all(confident[:, 4] <= 1.0)
