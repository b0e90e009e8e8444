"""SSH's test pyramid as an option of the multi-scale recipe (ppdet_face/evaluation/recipe.py)."""
import numpy as np
import pytest

from ppdet_face.evaluation import SSH_PYRAMID, WiderFacePredictor, multi_scale_detect, nms, pyramid_scales


def test_pyramid_scales_hand_computed():
    # 768 x 1024: shorter side to 800 -> 1.0417, longer side 1066 <= 1200, so base = 800 / 768.
    base = 800 / 768
    assert pyramid_scales(768, 1024, SSH_PYRAMID) == pytest.approx([b / 800 * base for b in (500, 800, 1200, 1600)])
    # 600 x 1200 (2:1): 800 / 600 would make the longer side 1600 > 1200, so base = 1200 / 1200 = 1.
    assert pyramid_scales(600, 1200, [1600, 500]) == pytest.approx([0.625, 2.0])  # sorted ascending


def test_nms_hand_made():
    det = np.array([
        [0, 0, 9, 9, 0.9],     # kept
        [1, 0, 10, 9, 0.8],    # IoU with the first: 90 / 110 = 0.82 -> suppressed
        [0, 0, 9, 4, 0.7],     # IoU 50 / 100 = 0.5 -> suppressed
        [20, 20, 29, 29, 0.6],  # disjoint -> kept
        [0, 0, 9, 2, 0.95],    # IoU with nothing kept before it; kept first
    ])
    out = nms(det, 0.3)
    np.testing.assert_array_equal(out[:, 4], [0.95, 0.9, 0.6])  # [0,0,9,9] vs [0,0,9,2]: 30 / 100 = 0.3, kept
    assert nms(np.zeros((0, 5)), 0.3).shape == (0, 5)


def test_pyramid_detect_passes_filter_and_merge():
    calls = []
    big = [10, 10, 310, 310]  # 301 px: dropped from the largest (enlarged) pass only
    small = [400, 400, 449, 449]  # 50 px

    def detect(scale):
        calls.append(scale)
        jitter = len(calls)  # the same faces, slightly moved per pass: NMS merges them
        return np.array([big + [0.5 + 0.1 * jitter], [v + jitter for v in small] + [0.3], [0, 0, 5, 5, 0.04]],
                        np.float32)

    def no_flip(scale):
        raise AssertionError("the test pyramid has no flip pass")

    out = multi_scale_detect(768, 1024, detect, no_flip, pyramid=SSH_PYRAMID)
    assert calls == pytest.approx(pyramid_scales(768, 1024, SSH_PYRAMID))
    assert len(out) == 2  # one box per face; the 0.04 box is below SSH's 0.05 threshold
    np.testing.assert_allclose(out[0], big + [0.8])  # the best big box is the third pass's (the 4th dropped it)
    assert out[1, 4] == pytest.approx(0.3)


def test_predictor_takes_the_pyramid_from_the_config(monkeypatch):
    class Model:
        post_process = None
        head = type("Head", (), {"box_coder": None})()

        def eval(self):
            pass

    monkeypatch.setattr("ppdet_face.evaluation.predictor.make_net", lambda *a: type("N", (), {"name": "x"})())
    cfg = {"EvalReader": {"sample_transforms": [{"NormalizeImage": {"mean": [0, 0, 0], "std": [1, 1, 1]}}]},
           "multi_scale_pyramid": [500, 1600]}
    assert WiderFacePredictor.from_config(cfg, Model()).pyramid == (500, 1600)
    del cfg["multi_scale_pyramid"]
    assert WiderFacePredictor.from_config(cfg, Model()).pyramid is None
