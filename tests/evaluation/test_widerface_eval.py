"""WIDER FACE prediction (ppdet_face.evaluation) and tools/eval.py.

The equivalence tests use a randomly initialised model (calibrated, seed 0): its scores are
meaningless, but equal outputs prove the fast paths compute what the reference computes.
"""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import cv2
import numpy as np
import paddle
import pytest

from eval_tools.boxes import corners_to_wider as to_wider_boxes
from helpers import load_tool
from ppdet_face.config_keys import get as config_value
from ppdet_face.data.preprocess import normalization
from ppdet_face.engine import load_config
from ppdet_face.evaluation import (
    PredictionRun,
    WiderFacePredictor,
    WiderImage,
    bbox_vote,
    get_shrink,
    list_wider_images,
    normalize_image,
    predict_widerface,
)

REPO = Path(__file__).resolve().parents[2]
CONFIG = REPO / "configs" / "face_detection" / "blazeface_fpn_ssh_1000e.yml"


# ------------------------------------------------------------------------------------------------
# Fixtures
# ------------------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def cfg():
    return load_config(str(CONFIG))


@pytest.fixture(scope="module")
def model(cfg):
    from ppdet.core.workspace import create

    from ppdet_face.export import init_random_weights

    m = create(cfg.architecture)
    # calibrated: boxes of plausible sizes, so NMS and voting have work to do
    init_random_weights(m, seed=0, normalization=normalization(cfg, "TestReader"))
    return m


@pytest.fixture(scope="module")
def norm(cfg):
    return normalization(cfg, "EvalReader")


@pytest.fixture(scope="module")
def dygraph_predictor(model, norm):
    return WiderFacePredictor(model, *norm, backend="dygraph")


def _image(h, w, seed=0):
    """A deterministic RGB uint8 image with blobs and texture (content is irrelevant to the tests)."""
    rng = np.random.default_rng(seed)
    img = cv2.resize(rng.integers(0, 256, (max(h // 16, 2), max(w // 16, 2), 3), dtype=np.uint8), (w, h))
    noise = rng.integers(-20, 21, (h, w, 3))
    return np.clip(img.astype(np.int32) + noise, 0, 255).astype(np.uint8)


# ------------------------------------------------------------------------------------------------
# Config helpers and small pieces
# ------------------------------------------------------------------------------------------------
def test_normalization_comes_from_eval_reader(cfg, norm):
    mean, std, is_scale = norm
    assert mean == [123.0, 117.0, 104.0]  # RGB order, as in training (not the stock [104, 117, 123])
    assert std == [127.502231] * 3 and is_scale is False
    assert config_value(cfg, "multi_scale_eval") is False
    assert config_value({"multi_scale_eval": True}, "multi_scale_eval") is True
    with pytest.raises(ValueError, match="multi_scale_eval"):
        config_value({"multi_scale_eval": "yes please"}, "multi_scale_eval")


def test_normalize_image_is_ppdet_normalize_image(norm):
    from ppdet.data.transform.operators import NormalizeImage, Permute

    mean, std, is_scale = norm
    img = _image(37, 53)
    sample = {"image": img.copy()}
    sample = NormalizeImage(mean=mean, std=std, is_scale=is_scale)(sample)
    sample = Permute()(sample)
    got = normalize_image(img, mean, std, is_scale)  # lookup-table path
    assert got.dtype == np.float32 and np.array_equal(got, sample["image"])
    assert np.array_equal(normalize_image(img.astype(np.float32), mean, std, is_scale), sample["image"])


def test_get_shrink_matches_stock():
    wu = pytest.importorskip("ppdet.metrics.widerface_utils")
    for h, w in [(768, 1024), (687, 1024), (1024, 683), (120, 160), (1800, 2400), (1270, 1280), (3000, 4000),
                 (4000, 4000), (10000, 10000),
                 (450, 1024), (33, 47), (1500, 1500)]:
        assert get_shrink(h, w) == wu.get_shrink(h, w), (h, w)


def _stock_like_dets(rng, n):
    """Clustered boxes with duplicated scores, so ties and multi-box clusters occur."""
    centers = rng.uniform(0, 500, (max(n // 6, 1), 2))
    c = centers[rng.integers(0, len(centers), n)] + rng.normal(0, 4, (n, 2))
    size = rng.uniform(8, 80, (n, 1))
    score = np.round(rng.uniform(0, 1, n), 2)  # many exact ties
    return np.hstack([c - size / 2, c + size / 2, score[:, None]])


def test_bbox_vote_matches_stock():
    wu = pytest.importorskip("ppdet.metrics.widerface_utils")
    rng = np.random.default_rng(0)
    for n in (1, 2, 3, 7, 60, 400, 2500):
        det = _stock_like_dets(rng, n)
        want = wu.bbox_vote(det.copy())
        got = bbox_vote(det)
        assert got.shape == want.shape, n
        np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-9)
    # empty input: stock returns its dummy 0.002 box, filtered out by the 0.01 score floor
    assert bbox_vote(np.zeros((0, 5))).shape == wu.bbox_vote(np.zeros((0, 5))).shape == (0, 5)
    # a last single-box cluster is kept, earlier single-box clusters are dropped (the recipe's rule)
    det = np.array([[0, 0, 10, 10, 0.9], [100, 100, 110, 110, 0.8], [101, 100, 111, 110, 0.7],
                    [300, 300, 310, 310, 0.5]], dtype=np.float64)
    got = bbox_vote(det)
    np.testing.assert_array_equal(got, wu.bbox_vote(det.copy()))
    assert got[:, 4].tolist() == [0.8, 0.5]


# ------------------------------------------------------------------------------------------------
# The official prediction format
# ------------------------------------------------------------------------------------------------
class _FixedPredictor:
    """Stands in for WiderFacePredictor: returns fixed, unsorted x1 y1 x2 y2 score boxes."""

    last_scales = [(1.0, 1)]
    dets = np.array([[10, 20, 30, 60, 0.2], [0, 0, 5, 5, 0.9], [40, 40, 50, 45, 0.5]], np.float32)

    def warmup(self, multi_scale=False):
        return 0.0

    def predict(self, rgb, multi_scale=False):
        return self.dets


def test_prediction_files_official_format_sorted_by_score(tmp_path):
    from eval_tools import read_pred_file

    img_dir = tmp_path / "images" / "7--Cheering"
    img_dir.mkdir(parents=True)
    cv2.imwrite(str(img_dir / "7_Cheering_1.jpg"), np.zeros((40, 60, 3), np.uint8))
    images = [WiderImage("7--Cheering/7_Cheering_1", str(img_dir / "7_Cheering_1.jpg"))]
    run = predict_widerface(_FixedPredictor(), images, tmp_path / "pred", progress=False)
    assert isinstance(run, PredictionRun) and len(run.seconds) == 1 and run.passes == 1
    text = (tmp_path / "pred" / "7--Cheering" / "7_Cheering_1.txt").read_text().splitlines()
    assert text[0] == "7_Cheering_1.jpg" and text[1] == "3"
    rows = np.array([[float(v) for v in line.split()] for line in text[2:]])
    assert rows[:, 4].tolist() == [0.9, 0.5, 0.2]  # descending score
    assert rows[0, :4].tolist() == [0, 0, 5, 5] and rows[2, :4].tolist() == [10, 20, 20, 40]  # l t w h
    np.testing.assert_allclose(read_pred_file(tmp_path / "pred" / "7--Cheering" / "7_Cheering_1.txt"), rows)
    np.testing.assert_array_equal(run.predictions["7--Cheering/7_Cheering_1"], to_wider_boxes(_FixedPredictor.dets))


def test_list_wider_images_follows_annotation_order(tmp_path):
    root = _make_wider_dataset(tmp_path / "wider", n_images=3)
    images, anno = list_wider_images(str(root))
    assert anno.endswith("wider_face_val_bbx_gt.txt")
    assert [im.key for im in images] == ["1--Handshaking/1_Handshaking_0", "0--Parade/0_Parade_1",
                                         "0--Parade/0_Parade_2"]
    (root / "wider_face_split" / "wider_face_val_bbx_gt.txt").unlink()
    images, anno = list_wider_images(str(root))  # no annotation: the folder, sorted
    assert anno is None and [im.key for im in images][0] == "0--Parade/0_Parade_1"


# ------------------------------------------------------------------------------------------------
# Single scale == the model's plain eval forward
# ------------------------------------------------------------------------------------------------
def _plain_forward(model, rgb, norm, scale=1.0, resized=None):
    """ppdet's eval forward at ``scale`` (the recipe's int() resize), or on ``resized = (image, [sy, sx])``."""
    from ppdet.data.transform.operators import NormalizeImage, Permute

    mean, std, is_scale = norm
    factor = [scale, scale]
    if resized is not None:
        rgb, factor = resized[0], [float(v) for v in resized[1]]
    elif scale != 1:
        rgb = cv2.resize(rgb, (int(rgb.shape[1] * scale), int(rgb.shape[0] * scale)))
    sample = Permute()(NormalizeImage(mean=mean, std=std, is_scale=is_scale)({"image": rgb.copy()}))
    h, w = sample["image"].shape[1:]
    with paddle.no_grad():
        out = model({"image": paddle.to_tensor(sample["image"][None]),
                     "im_shape": paddle.to_tensor([[float(h), float(w)]]),
                     "scale_factor": paddle.to_tensor([factor], dtype="float32")})
    bbox = out["bbox"].numpy()
    return np.stack([bbox[:, 2], bbox[:, 3], bbox[:, 4], bbox[:, 5], bbox[:, 1]], axis=1)


def test_single_scale_equals_plain_eval_forward(model, norm, dygraph_predictor):
    rgb = _image(150, 200, seed=1)
    want = _plain_forward(model, rgb, norm)
    got = dygraph_predictor.predict_single_scale(rgb)
    assert len(want) > 0 and dygraph_predictor.last_scales == [(1.0, 1)]
    np.testing.assert_array_equal(got, want)


def test_single_scale_memory_cap_is_the_predictors(model, norm):
    """Evaluation caps a large image exactly as deploy's predictor does (one definition: cap_to_max_side)."""
    from ppdet_face_deploy.preprocess import Pipeline, cap_to_max_side

    pred = WiderFacePredictor(model, *norm, backend="dygraph", max_side=320)
    rgb = _image(241, 479, seed=2)
    got = pred.predict_single_scale(rgb)
    capped, factor = cap_to_max_side(rgb, 320)
    assert capped.shape[:2] == (161, 320) and pred.last_scales == [(float(factor.min()), 1)]
    _, info = Pipeline([{"type": "Permute"}], max_side=320)._capped(rgb)
    np.testing.assert_array_equal(info["scale_factor"], factor)
    assert len(got) > 0  # the seeded random model finds something here, so the box check below is not vacuous
    np.testing.assert_array_equal(got, _plain_forward(model, rgb, norm, resized=(capped, factor)))
    assert got[:, [2]].max() <= 479 and got[:, [3]].max() <= 241  # boxes in original pixels
    no_cap = WiderFacePredictor(model, *norm, backend="dygraph", max_side=0)
    no_cap.predict_single_scale(rgb)
    assert no_cap.last_scales == [(1.0, 1)]


def test_prefix_nms_equals_full_nms(model, dygraph_predictor):
    pp = model.post_process

    def nms(boxes, scores, top_k):
        bbox, _, num = paddle._C_ops.multiclass_nms3(boxes, scores, None, pp.score_threshold, top_k,
                                                      pp.keep_top_k, pp.nms_threshold, True, 1.0, -1)
        return bbox.numpy(), int(num.numpy()[0])

    rng = np.random.default_rng(7)
    # 1) 4000 scattered boxes: the best 1500 already yield keep_top_k boxes, no rerun needed
    xy = rng.uniform(0, 3000, (4000, 2))
    boxes = paddle.to_tensor(np.hstack([xy, xy + rng.uniform(10, 60, (4000, 2))])[None].astype(np.float32))
    scores = paddle.to_tensor(rng.uniform(0, 1, (1, 1, 4000)).astype(np.float32))
    assert nms(boxes, scores, 2 * pp.keep_top_k)[1] == pp.keep_top_k
    want = nms(boxes, scores, pp.nms_top_k)
    np.testing.assert_array_equal(dygraph_predictor._nms(boxes, scores)[0].numpy(), want[0])
    # 2) 2000 near-copies of one box, then 1000 distinct boxes: the prefix keeps 1 box, the rerun is exact
    copies = np.tile([[10.0, 10.0, 50.0, 50.0]], (2000, 1)) + rng.uniform(0, 1, (2000, 4))
    xy = rng.uniform(0, 5000, (1000, 2))
    boxes = paddle.to_tensor(np.vstack([copies, np.hstack([xy, xy + 8])])[None].astype(np.float32))
    scores = paddle.to_tensor(np.concatenate([np.linspace(0.99, 0.6, 2000), np.linspace(0.5, 0.1, 1000)])
                              .reshape(1, 1, -1).astype(np.float32))
    assert nms(boxes, scores, 2 * pp.keep_top_k)[1] == 1
    want = nms(boxes, scores, pp.nms_top_k)
    assert want[1] == pp.keep_top_k
    np.testing.assert_array_equal(dygraph_predictor._nms(boxes, scores)[0].numpy(), want[0])


# ------------------------------------------------------------------------------------------------
# Multi scale == a straightforward re-implementation of the stock recipe
# ------------------------------------------------------------------------------------------------
class _StockRecipe:
    """ppdet/metrics/widerface_utils.py's multi-scale recipe, written out plainly: one plain eval
    forward per requested scale (repeats included), a separate flip pass, np.vstack, the loop
    bbox_vote. Preprocessing is the config's NormalizeImage (the model's training input)."""

    def __init__(self, model, norm):
        self.model, self.norm = model, norm

    def detect(self, image, shrink):
        return _plain_forward(self.model, image, self.norm, shrink)  # float32 x1 y1 x2 y2 score

    def flip(self, image, shrink):
        det_f = self.detect(cv2.flip(image, 1), shrink)
        det_t = np.zeros(det_f.shape)
        w = image.shape[1]
        det_t[:, 0], det_t[:, 1], det_t[:, 2] = w - det_f[:, 2], det_f[:, 1], w - det_f[:, 0]
        det_t[:, 3], det_t[:, 4] = det_f[:, 3], det_f[:, 4]
        return det_t

    @staticmethod
    def big(det):
        return det[np.maximum(det[:, 2] - det[:, 0] + 1, det[:, 3] - det[:, 1] + 1) > 30]

    @staticmethod
    def small(det):
        return det[np.minimum(det[:, 2] - det[:, 0] + 1, det[:, 3] - det[:, 1] + 1) < 100]

    def multi_scale(self, image, max_shrink):
        st = 0.5 if max_shrink >= 0.75 else 0.5 * max_shrink
        det_s = self.big(self.detect(image, st))
        bt = min(2, max_shrink) if max_shrink > 1 else (st + max_shrink) / 2
        det_b = self.detect(image, bt)
        if max_shrink > 2:
            bt *= 2
            while bt < max_shrink:
                det_b = np.vstack((det_b, self.detect(image, bt)))
                bt *= 2
            det_b = np.vstack((det_b, self.detect(image, max_shrink)))
        det_b = self.small(det_b) if bt > 1 else self.big(det_b)
        return det_s, det_b

    def pyramid(self, image, max_shrink):
        det_b = self.big(self.detect(image, 0.25))
        for s in (0.75, 1.25, 1.5, 1.75):
            if s <= max_shrink:
                d = self.detect(image, s)
                det_b = np.vstack((det_b, self.small(d) if s > 1 else self.big(d)))
        return det_b

    @staticmethod
    def bbox_vote(det):
        det = det[det[:, 4].ravel().argsort()[::-1], :]
        dets = None
        while det.shape[0] > 0:
            area = (det[:, 2] - det[:, 0] + 1) * (det[:, 3] - det[:, 1] + 1)
            w = np.maximum(0.0, np.minimum(det[0, 2], det[:, 2]) - np.maximum(det[0, 0], det[:, 0]) + 1)
            h = np.maximum(0.0, np.minimum(det[0, 3], det[:, 3]) - np.maximum(det[0, 1], det[:, 1]) + 1)
            inter = w * h
            merge = np.where(inter / (area[0] + area[:] - inter) >= 0.3)[0]
            acc = det[merge, :]
            det = np.delete(det, merge, 0)
            if merge.shape[0] <= 1:
                if det.shape[0] == 0:
                    dets = acc if dets is None else np.vstack((dets, acc))
                continue
            acc[:, 0:4] = acc[:, 0:4] * np.tile(acc[:, -1:], (1, 4))
            merged = np.zeros((1, 5))
            merged[:, 0:4] = np.sum(acc[:, 0:4], axis=0) / np.sum(acc[:, -1:])
            merged[:, 4] = np.max(acc[:, 4])
            dets = merged if dets is None else np.vstack((dets, merged))
        if dets is None:
            return np.zeros((0, 5))
        dets = dets[0:750, :]
        return dets[dets[:, 4] >= 0.01]

    def __call__(self, image):
        shrink, max_shrink = get_shrink(image.shape[0], image.shape[1])
        det0 = self.detect(image, shrink)
        det1 = self.flip(image, shrink)
        det2, det3 = self.multi_scale(image, max_shrink)
        det4 = self.pyramid(image, max_shrink)
        return self.bbox_vote(np.vstack((det0, det1, det2, det3, det4)))


@pytest.mark.parametrize("size", [(120, 160), (3000, 4000)],
                         ids=["small-upscales-x11", "large-shrink-0.18"])
def test_multi_scale_equals_stock_recipe(model, norm, dygraph_predictor, size):
    rgb = _image(*size, seed=3)
    want = _StockRecipe(model, norm)(rgb)
    got = dygraph_predictor.predict_multi_scale(rgb)
    assert len(want) > 10
    assert got.shape == want.shape
    np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-9)  # same boxes; sums may round differently
    scales = [s for s, _ in dygraph_predictor.last_scales]
    assert len(scales) == len(set(scales)) and dygraph_predictor.last_scales[0][1] == 2  # flip batched


def test_repeated_scales_run_once(model, norm, monkeypatch):
    """1280 x 1270: max_shrink == 1.0, so the recipe asks for 0.75 twice (bt and the pyramid)."""
    assert get_shrink(1270, 1280) == (1, 1.0)
    pred = WiderFacePredictor(model, *norm, backend="dygraph")
    calls = []

    def fake_run(batch, scale):
        calls.append((scale, len(batch)))
        pred.last_scales.append((scale, len(batch)))
        return [np.zeros((0, 5), np.float32)] * len(batch)

    monkeypatch.setattr(pred, "_run", fake_run)
    out = pred.predict_multi_scale(np.zeros((1270, 1280, 3), np.uint8))
    assert out.shape == (0, 5)
    assert calls == [(1, 2), (0.5, 1), (0.75, 1), (0.25, 1)]  # stock: 1, 1 (flip), 0.5, 0.75, 0.25, 0.75


def test_inference_backend_matches_dygraph(model, norm):
    pred = WiderFacePredictor(model, *norm, backend="auto")
    if pred.backend != "inference":
        pytest.skip("Paddle Inference + oneDNN backend not available here")
    x = paddle.to_tensor(normalize_image(_image(200, 280, seed=4), *norm)[None])
    got = pred.net(x)
    with paddle.no_grad():
        deltas, logits, anchors = model.head_outputs(x)
        want = [paddle.concat(deltas, axis=1), paddle.concat(logits, axis=1), paddle.concat(anchors, axis=0)]
    for a, b in zip(got, want):
        a, b = a.numpy(), b.numpy()
        assert a.shape == b.shape
        np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-4 * float(np.abs(b).max()))
    sf = paddle.to_tensor([[1.0, 1.0]])
    with paddle.no_grad():
        boxes_a, scores_a = model.post_process.decode(*got, model.head.box_coder, x, sf)
        boxes_b, scores_b = model.post_process.decode(*want, model.head.box_coder, x, sf)
    np.testing.assert_allclose(boxes_a.numpy(), boxes_b.numpy(), rtol=1e-3, atol=1e-2)
    np.testing.assert_allclose(scores_a.numpy(), scores_b.numpy(), atol=1e-4)


# ------------------------------------------------------------------------------------------------
# tools/eval.py end to end
# ------------------------------------------------------------------------------------------------
def _make_wider_dataset(root, n_images=3):
    """A tiny WIDER val layout: images, official-style gt txt and a difficulty file."""
    rng = np.random.default_rng(5)
    items = [("1--Handshaking", "1_Handshaking_0"), ("0--Parade", "0_Parade_1"), ("0--Parade", "0_Parade_2")]
    gt_lines, diff_lines = [], []
    for event, name in items[:n_images]:
        (root / "WIDER_val" / "images" / event).mkdir(parents=True, exist_ok=True)
        h, w = 180, 240
        img = _image(h, w, seed=int(rng.integers(1000)))
        boxes = []
        for _ in range(3):
            bw = int(rng.integers(16, 60))
            x, y = int(rng.integers(0, w - bw)), int(rng.integers(0, h - bw))
            boxes.append((x, y, bw, bw))
            cv2.rectangle(img, (x, y), (x + bw, y + bw), (220, 180, 150), -1)
        cv2.imwrite(str(root / "WIDER_val" / "images" / event / f"{name}.jpg"), img)
        gt_lines += [f"{event}/{name}.jpg", str(len(boxes))] + [f"{x} {y} {bw} {bh} 0 0 0 0 0 0"
                                                                for x, y, bw, bh in boxes]
        diff_lines += [f"{event}/{name}.jpg easy: 1", f"{event}/{name}.jpg medium: 1 2",
                       f"{event}/{name}.jpg hard: 1 2 3"]
    split = root / "wider_face_split"
    split.mkdir(parents=True, exist_ok=True)
    (split / "wider_face_val_bbx_gt.txt").write_text("\n".join(gt_lines) + "\n")
    (split / "difficulty_easy_medium_hard.txt").write_text("\n".join(diff_lines) + "\n")
    return root


def _run_tool(*args, cwd):
    env = dict(os.environ, PYTHONWARNINGS="ignore", GLOG_minloglevel="2")
    return subprocess.run([sys.executable, str(REPO / "tools" / "eval.py"), *args], cwd=cwd, env=env,
                          capture_output=True, text=True, timeout=300)


def _check_tool_output(out, pred_dir, multi_scale):
    assert ("multi-scale prediction of 3 images" if multi_scale else "single-scale prediction of 3 images") in out
    for setting in ("Easy", "Medium", "Hard"):
        assert f"{setting:<7}Val AP: " in out
    assert "(3 faces)" in out and "(9 faces)" in out  # easy: 1 face per image, hard: 3 per image
    lines = (pred_dir / "0--Parade" / "0_Parade_2.txt").read_text().splitlines()
    assert lines[0] == "0_Parade_2.jpg" and int(lines[1]) == len(lines) - 2
    scores = [float(line.split()[4]) for line in lines[2:]]
    assert scores == sorted(scores, reverse=True)
    passes = int(out.split(" network passes")[0].rsplit("(", 1)[1].split(", ")[-1])
    assert passes > 3 * 5 if multi_scale else passes == 3


def test_tool_end_to_end_subprocess(tmp_path, model):
    root = _make_wider_dataset(tmp_path / "wider")
    paddle.save(model.state_dict(), str(tmp_path / "model.pdparams"))
    pred_dir = tmp_path / "pred"
    proc = _run_tool("-c", str(CONFIG), "-o", f"weights={tmp_path / 'model'}", "--dataset_dir", str(root),
                     "--pred_dir", str(pred_dir), cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr[-2000:]
    _check_tool_output(proc.stdout, pred_dir, multi_scale=False)
    assert "img/s" in proc.stderr  # the tqdm bar


def test_tool_multi_scale_flag(tmp_path, model, capsys, monkeypatch):
    """``-o multi_scale_eval=True`` switches the tool to the multi-scale recipe (run in-process)."""
    from ppdet.core.workspace import global_config

    # the tool merges its -o overrides into ppdet's process-wide config: restore them afterwards
    for key in ("weights", "multi_scale_eval"):
        monkeypatch.setitem(global_config, key, global_config.get(key))
    tool = load_tool("eval")
    root = _make_wider_dataset(tmp_path / "wider")
    paddle.save(model.state_dict(), str(tmp_path / "model.pdparams"))
    pred_dir = tmp_path / "pred"
    assert tool.main(["-c", str(CONFIG), "-o", f"weights={tmp_path / 'model'}", "multi_scale_eval=True",
                      "--dataset_dir", str(root), "--pred_dir", str(pred_dir), "--no_progress"]) == 0
    _check_tool_output(capsys.readouterr().out, pred_dir, multi_scale=True)


def test_tool_errors_are_one_line(tmp_path):
    root = _make_wider_dataset(tmp_path / "wider", n_images=1)
    proc = _run_tool("-c", str(CONFIG), "-o", f"weights={tmp_path / 'missing'}", "--dataset_dir", str(root),
                     cwd=tmp_path)
    assert proc.returncode != 0
    assert proc.stderr.strip().splitlines()[-1].startswith("error: weights not found")
    assert "Traceback" not in proc.stderr


# ------------------------------------------------------------------------------------------------
# Bad images in the WIDER val layout
# ------------------------------------------------------------------------------------------------
def _truncated_jpeg(path):
    ok, data = cv2.imencode(".jpg", _image(64, 80, seed=9))
    path.write_bytes(data.tobytes()[: len(data) // 2])


def _dir_as_image(path):
    path.mkdir()


# name -> (how to make it, the read error or None when the image must load)
BAD_AND_ODD_IMAGES = {
    "empty.jpg": (lambda p: p.write_bytes(b""), "empty file (0 bytes)"),
    "truncated.jpg": (_truncated_jpeg, "truncated JPEG"),
    "text.jpg": (lambda p: p.write_text("this is not an image\n"), "not a decodable image"),
    "tiny.png": (lambda p: cv2.imwrite(str(p), np.zeros((1, 1, 3), np.uint8)), "smaller than 8 px"),
    "missing.jpg": (lambda p: None, "file not found"),
    "folder.jpg": (_dir_as_image, "cannot read"),
    "gray.jpg": (lambda p: cv2.imwrite(str(p), _image(90, 120, seed=5)[..., 0]), None),
    "rgba.png": (lambda p: cv2.imwrite(str(p), np.dstack([_image(90, 120, seed=6), np.full((90, 120), 200, np.uint8)])),
                 None),
    "deep.png": (lambda p: cv2.imwrite(str(p), _image(90, 120, seed=7).astype(np.uint16) * 257), None),
}


def _add_images(root, names, big=False):
    """Add images (made as BAD_AND_ODD_IMAGES says) to the val layout of _make_wider_dataset, one face each."""
    folder = root / "WIDER_val" / "images" / "9--Odd"
    folder.mkdir(parents=True, exist_ok=True)
    gt, diff = [], []
    for name in names:
        if name == "big.jpg":
            cv2.imwrite(str(folder / name), np.full((8000, 8000, 3), 90, np.uint8))
        else:
            BAD_AND_ODD_IMAGES[name][0](folder / name)
        gt += [f"9--Odd/{name}", "1", "10 10 30 30 0 0 0 0 0 0"]
        diff += [f"9--Odd/{name} easy: 1", f"9--Odd/{name} medium: 1", f"9--Odd/{name} hard: 1"]
    split = root / "wider_face_split"
    with open(split / "wider_face_val_bbx_gt.txt", "a") as f:
        f.write("\n".join(gt) + "\n")
    with open(split / "difficulty_easy_medium_hard.txt", "a") as f:
        f.write("\n".join(diff) + "\n")
    return folder


def test_unusable_images_get_one_warning_and_an_empty_prediction(tmp_path, capsys):
    root = _make_wider_dataset(tmp_path / "wider", n_images=1)
    _add_images(root, list(BAD_AND_ODD_IMAGES))
    images, _ = list_wider_images(str(root))  # the missing file stays listed
    assert len(images) == 1 + len(BAD_AND_ODD_IMAGES)
    run = predict_widerface(_FixedPredictor(), images, tmp_path / "pred", progress=False)
    err = capsys.readouterr().err.strip().splitlines()
    bad = {k: v for k, v in BAD_AND_ODD_IMAGES.items() if v[1]}
    assert sorted(run.failed) == sorted(f"9--Odd/{os.path.splitext(n)[0]}" for n in bad)
    assert len(err) == len(bad)  # one line each
    for name, (_, message) in bad.items():
        line = next(e for e in err if f"{name}:" in e)
        assert line.startswith("warning: ") and message in line and line.endswith("counted as no detections")
        pred = (tmp_path / "pred" / "9--Odd" / f"{os.path.splitext(name)[0]}.txt").read_text().splitlines()
        assert pred == [name, "0"]
    for name in ("gray.jpg", "rgba.png", "deep.png"):  # odd but valid: predicted normally
        pred = (tmp_path / "pred" / "9--Odd" / f"{os.path.splitext(name)[0]}.txt").read_text().splitlines()
        assert pred[1] == "3"
    assert len(run.seconds) == 1 + 3 and len(run.predictions) == len(images)


def test_list_wider_images_fails_when_no_listed_image_exists(tmp_path):
    root = _make_wider_dataset(tmp_path / "wider", n_images=2)
    with pytest.raises(FileNotFoundError, match="none of the 2 images listed"):
        list_wider_images(str(root), image_dir="WIDER_vall/images")


def test_tool_survives_bad_images_then_exits_non_zero(tmp_path, model):
    root = _make_wider_dataset(tmp_path / "wider")
    bad = ["empty.jpg", "truncated.jpg", "text.jpg", "tiny.png", "missing.jpg"]
    _add_images(root, bad + ["gray.jpg", "rgba.png", "deep.png", "big.jpg"])
    paddle.save(model.state_dict(), str(tmp_path / "model.pdparams"))
    pred_dir = tmp_path / "pred"
    proc = _run_tool("-c", str(CONFIG), "-o", f"weights={tmp_path / 'model'}", "eval_backend=dygraph",
                     "--dataset_dir", str(root), "--pred_dir", str(pred_dir), "--no_progress", cwd=tmp_path)
    assert proc.returncode == 1, proc.stderr[-3000:]
    assert "Traceback" not in proc.stderr
    warnings_ = [line for line in proc.stderr.splitlines() if line.startswith("warning: ")]
    assert len(warnings_) == len(bad) and all(any(f"{n}:" in w for w in warnings_) for n in bad)
    assert proc.stderr.strip().splitlines()[-1] == (
        "error: 5 of 12 images could not be used; they count as images without detections in the AP above "
        "(see the warnings)")
    assert "single-scale prediction of 12 images" in proc.stdout and "max side 2048 px" in proc.stdout
    assert "Val AP: " in proc.stdout and "(12 faces)" in proc.stdout  # AP computed over all images
    assert len(list((pred_dir / "9--Odd").iterdir())) == 9
    big = (pred_dir / "9--Odd" / "big.txt").read_text().splitlines()
    assert big[0] == "big.jpg" and int(big[1]) > 0  # 8000 x 8000 ran (downscaled to 2048)
    boxes = np.array([[float(v) for v in line.split()] for line in big[2:]])
    assert boxes[:, 0].max() > 2048  # boxes mapped back to original pixels
