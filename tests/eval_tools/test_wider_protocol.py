"""Official WIDER FACE protocol: hand-computed APs on tiny cases and a literal reference port."""
from __future__ import annotations

import warnings

import numpy as np
import pytest

from eval_tools import (
    SETTINGS,
    GtImage,
    MissingPredictionsWarning,
    WiderGroundTruth,
    evaluate_widerface,
    image_eval,
    img_pr_info,
    norm_score,
    score_thresholds,
    voc_ap,
    write_pred_file,
)


def face(x, y, s=10.0):
    return [x, y, s, s]


def make_gt(images):
    """images: list of (key, boxes xywh, keep) where keep is a bool list or {setting: list}."""
    out = []
    for key, boxes, keep in images:
        event, name = key.split("/")
        boxes = np.asarray(boxes, dtype=np.float64).reshape(-1, 4)
        if not isinstance(keep, dict):
            keep = {s: keep for s in SETTINGS}
        out.append(GtImage(event, name, boxes, {s: np.asarray(keep[s], bool) for s in SETTINGS}))
    return WiderGroundTruth(out, source="test")


def pred(*rows):
    return np.asarray(rows, dtype=np.float64).reshape(-1, 5)


def ap_of(preds, gt, setting="hard", backend="numpy"):
    return evaluate_widerface(preds, gt, backend=backend).ap[setting]


# ------------------------------------------------------------------------------------------------
# Hand-computed cases (scores chosen so that the min-max normalisation is exact).
# ------------------------------------------------------------------------------------------------
def test_match_on_ignore_face_is_not_a_false_positive():
    # Face 0 kept, face 1 ignored. Top prediction hits the ignore face, then a TP, then a FP.
    gt = make_gt([("e/a", [face(0, 0), face(100, 100)], [True, False])])
    preds = {"e/a": pred([100, 100, 10, 10, 1.0], [0, 0, 10, 10, 0.5], [300, 300, 10, 10, 0.0])}
    res = evaluate_widerface(preds, gt, backend="numpy")
    # thresh in (0.5, 1): only the ignored prediction -> 0 proposals (precision NaN), recall 0;
    # thresh in (0, 0.5]: 1 proposal, 1 TP -> P 1, R 1; thresh 0: 2 proposals -> P 0.5, R 1.
    # AP = 1 * 1.0. (Counting the ignore match as FP would give 0.5.)
    assert res.ap["hard"] == pytest.approx(1.0)
    assert res.count_face["hard"] == 1
    assert res.counts["hard"][0].tolist() == [0, 0]      # thresh 0.999
    assert res.counts["hard"][499].tolist() == [1, 1]    # thresh 0.5
    assert res.counts["hard"][-1].tolist() == [2, 1]     # thresh 0.0
    assert np.isnan(res.pr_curve["hard"][0, 0])


def test_ignore_depends_on_setting():
    # Same image: easy keeps only face 0, hard keeps both.
    gt = make_gt([("e/a", [face(0, 0), face(100, 100)],
                   {"easy": [True, False], "medium": [True, False], "hard": [True, True]})])
    preds = {"e/a": pred([100, 100, 10, 10, 1.0], [0, 0, 10, 10, 0.0])}
    res = evaluate_widerface(preds, gt, backend="numpy")
    assert res.ap["easy"] == pytest.approx(1.0)
    assert res.ap["hard"] == pytest.approx(1.0)
    assert res.counts["easy"][-1].tolist() == [1, 1]
    assert res.counts["hard"][-1].tolist() == [2, 2]
    assert res.count_face == {"easy": 1, "medium": 1, "hard": 2}


def test_duplicate_detection_counts_as_false_positive():
    gt = make_gt([("e/a", [face(0, 0), face(50, 0)], [True, True])])
    # d1 on face 0 (1.0), duplicate d2 on face 0 (0.75), d3 on face 1 (0.5); normalised to 1, .5, 0.
    preds = {"e/a": pred([0, 0, 10, 10, 1.0], [1, 0, 10, 10, 0.75], [50, 0, 10, 10, 0.5])}
    res = evaluate_widerface(preds, gt, backend="numpy")
    # (0.5, 1): P 1, R 0.5; (0, 0.5]: P 1/2, R 0.5; 0: P 2/3, R 1  ->  AP = .5*1 + .5*2/3
    assert res.ap["hard"] == pytest.approx(0.5 + 0.5 * 2.0 / 3.0)
    assert res.counts["hard"][-1].tolist() == [3, 2]
    pred_recall, proposal = image_eval(preds["e/a"], gt.images[0].boxes, [1, 1], backend="numpy")
    assert pred_recall.tolist() == [1, 1, 2]
    assert proposal.tolist() == [1, 1, 1]


def test_image_without_predictions_still_counts_its_faces(tmp_path):
    gt = make_gt([("e/a", [face(0, 0)], [True]), ("e/b", [face(0, 0)], [True])])
    preds = {"e/a": pred([0, 0, 10, 10, 1.0], [300, 300, 10, 10, 0.0])}  # nothing for e/b
    res = evaluate_widerface(preds, gt, backend="numpy")
    # thresh > 0: P 1, R 1/2; thresh 0: P 1/2, R 1/2  ->  AP = 0.5 * 1
    assert res.ap["hard"] == pytest.approx(0.5)
    assert res.count_face["hard"] == 2
    assert res.missing == ["e/b"]

    # Same through files: a missing file warns exactly once with the count.
    write_pred_file(tmp_path / "e" / "a.txt", "a.jpg", preds["e/a"])
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        res_files = evaluate_widerface(tmp_path, gt, backend="numpy")
    missing_warnings = [w for w in caught if issubclass(w.category, MissingPredictionsWarning)]
    assert len(missing_warnings) == 1
    assert "1 of 2 prediction files are missing" in str(missing_warnings[0].message)
    assert res_files.ap["hard"] == pytest.approx(0.5)


@pytest.mark.parametrize("content", ["", "b.jpg\n", "b.jpg\n0\n", "b.jpg\n0", "\n\n"])
def test_empty_prediction_file_is_no_detection(tmp_path, content):
    gt = make_gt([("e/a", [face(0, 0)], [True]), ("e/b", [face(0, 0)], [True])])
    write_pred_file(tmp_path / "e" / "a.txt", "a.jpg",
                    pred([0, 0, 10, 10, 1.0], [300, 300, 10, 10, 0.0]))
    (tmp_path / "e" / "b.txt").write_text(content)
    with warnings.catch_warnings():
        warnings.simplefilter("error", MissingPredictionsWarning)  # nothing is missing
        res = evaluate_widerface(tmp_path, gt, backend="numpy")
    assert res.ap["hard"] == pytest.approx(0.5)
    assert res.missing == []
    assert res.num_predictions == 2


def test_tied_scores_enter_together_and_order_does_not_matter():
    gt = make_gt([("e/a", [face(0, 0), face(50, 0)], [True, True])])
    rows = [[50, 0, 10, 10, 1.0],     # TP face 1
            [300, 300, 10, 10, 0.5],  # FP, tied with the next TP
            [0, 0, 10, 10, 0.5],      # TP face 0
            [400, 400, 10, 10, 0.0]]  # FP
    # (0.5, 1): P 1, R .5; (0, 0.5]: both tied boxes enter -> 3 proposals, 2 TP; 0: 4 / 2.
    expected = 0.5 * 1.0 + 0.5 * 2.0 / 3.0
    for order in ([0, 1, 2, 3], [0, 2, 1, 3], [3, 2, 1, 0], [1, 3, 0, 2]):
        res = evaluate_widerface({"e/a": pred(*[rows[i] for i in order])}, gt, backend="numpy")
        assert res.ap["hard"] == pytest.approx(expected)
        assert res.counts["hard"][499].tolist() == [3, 2]


def test_equal_iou_takes_first_gt_face():
    # The prediction overlaps an ignore face (index 0) and a kept face (index 1) equally;
    # official max() takes the first -> prediction ignored, kept face not recalled.
    gt_boxes = np.array([face(0, 0), face(10, 0)], dtype=np.float64)
    p = pred([5, 0, 10, 10, 1.0])
    recall, proposal = image_eval(p, gt_boxes, [0, 1], iou_thresh=0.3, backend="numpy")
    assert proposal.tolist() == [-1] and recall.tolist() == [0]
    recall, proposal = image_eval(p, gt_boxes, [1, 0], iou_thresh=0.3, backend="numpy")
    assert proposal.tolist() == [1] and recall.tolist() == [1]


def test_iou_threshold_is_inclusive_with_plus_one_boxes():
    # gt x y w h = 0 0 9 9 -> corners 0..9 -> +1 area 10x10 = 100. Prediction 0 0 9 4 -> 10x5 = 50.
    # IoU = 50 / 100 = 0.5 exactly -> matched (>= 0.5).
    recall, proposal = image_eval(pred([0, 0, 9, 4, 1.0]), np.array([[0, 0, 9, 9.0]]), [1],
                                  backend="numpy")
    assert recall.tolist() == [1]
    recall, _ = image_eval(pred([0, 0, 9, 3.9, 1.0]), np.array([[0, 0, 9, 9.0]]), [1],
                           backend="numpy")
    assert recall.tolist() == [0]


def test_norm_score_is_global_min_max():
    out = norm_score([pred([0, 0, 1, 1, 2.0], [0, 0, 1, 1, 6.0]), pred(), pred([0, 0, 1, 1, 4.0])])
    assert out[0][:, 4].tolist() == [0.0, 1.0]
    assert out[1].shape == (0, 5)
    assert out[2][:, 4].tolist() == [0.5]
    # Constant scores would be 0/0 in the official code; here they all become 1.
    assert norm_score([pred([0, 0, 1, 1, 0.7], [0, 0, 1, 1, 0.7])])[0][:, 4].tolist() == [1, 1]


def test_img_pr_info_and_voc_ap_small():
    p = pred([0, 0, 1, 1, 0.95], [0, 0, 1, 1, 0.45], [0, 0, 1, 1, 0.0])
    info = img_pr_info(10, p, np.array([1, -1, 1]), np.array([1, 1, 2]))
    # thresholds 0.9, 0.8, ..., 0.0
    assert score_thresholds(10)[0] == pytest.approx(0.9)
    assert info[0].tolist() == [1, 1]
    assert info[5].tolist() == [1, 1]    # thresh 0.4: rows 0..1, row 1 ignored
    assert info[9].tolist() == [2, 2]    # thresh 0.0
    assert voc_ap(np.array([0.5, 1.0]), np.array([1.0, 0.5])) == pytest.approx(0.75)
    assert voc_ap(np.array([0.0, 0.5]), np.array([np.nan, 0.25])) == pytest.approx(0.125)


# ------------------------------------------------------------------------------------------------
# Literal port of the official MATLAB loops, used to check the vectorised implementation.
# ------------------------------------------------------------------------------------------------
def _ref_overlap(gt, p):
    x1 = np.maximum(gt[:, 0], p[0])
    y1 = np.maximum(gt[:, 1], p[1])
    x2 = np.minimum(gt[:, 2], p[2])
    y2 = np.minimum(gt[:, 3], p[3])
    w = x2 - x1 + 1
    h = y2 - y1 + 1
    inter = w * h
    aarea = (gt[:, 2] - gt[:, 0] + 1) * (gt[:, 3] - gt[:, 1] + 1)
    barea = (p[2] - p[0] + 1) * (p[3] - p[1] + 1)
    with np.errstate(all="ignore"):
        o = inter / (aarea + barea - inter)
    o[(w <= 0) | (h <= 0)] = 0
    return o


def reference_wider_eval(preds_by_image, gt, thresh_num=1000, iou_thresh=0.5):
    preds = [np.asarray(p, float).reshape(-1, 5) for p in preds_by_image]
    preds = [p[np.argsort(-p[:, 4], kind="stable")] for p in preds]
    max_s, min_s = float(np.finfo(np.float32).tiny), float(np.finfo(np.float32).max)
    for p in preds:
        if len(p):
            max_s = max(max_s, p[:, 4].max())
            min_s = min(min_s, p[:, 4].min())
    preds = [np.column_stack([p[:, :4], (p[:, 4] - min_s) / (max_s - min_s)]) for p in preds]
    aps, curves = {}, {}
    for s in SETTINGS:
        org = np.zeros((thresh_num, 2))
        count_face = 0
        for im, p in zip(gt.images, preds):
            keep = im.keep[s]
            count_face += int(keep.sum())
            if len(im.boxes) == 0 or len(p) == 0:
                continue
            g = im.boxes.copy()
            g[:, 2] += g[:, 0]
            g[:, 3] += g[:, 1]
            q = p.copy()
            q[:, 2] += q[:, 0]
            q[:, 3] += q[:, 1]
            pred_recall = np.zeros(len(p))
            recall_list = np.zeros(len(g))
            proposal = np.ones(len(p))
            for h in range(len(p)):
                ov = _ref_overlap(g, q[h, :4])
                idx = int(np.argmax(ov))
                if ov[idx] >= iou_thresh:
                    if not keep[idx]:
                        recall_list[idx] = -1
                        proposal[h] = -1
                    elif recall_list[idx] == 0:
                        recall_list[idx] = 1
                pred_recall[h] = np.sum(recall_list == 1)
            for t in range(1, thresh_num + 1):
                thresh = 1 - t / thresh_num
                r = np.flatnonzero(p[:, 4] >= thresh)
                if len(r):
                    r = r[-1]
                    org[t - 1, 0] += np.sum(proposal[:r + 1] == 1)
                    org[t - 1, 1] += pred_recall[r]
        with np.errstate(all="ignore"):
            prec = org[:, 1] / org[:, 0]
            rec = org[:, 1] / count_face
        mrec = np.concatenate(([0.0], rec, [1.0]))
        mpre = np.concatenate(([0.0], prec, [0.0]))
        for i in range(len(mpre) - 1, 0, -1):
            mpre[i - 1] = np.fmax(mpre[i - 1], mpre[i])
        i = np.flatnonzero(mrec[1:] != mrec[:-1])
        aps[s] = float(np.sum((mrec[i + 1] - mrec[i]) * mpre[i + 1]))
        curves[s] = org
    return aps, curves


def random_case(seed, n_images=12):
    rng = np.random.default_rng(seed)
    images, preds = [], {}
    for k in range(n_images):
        n = int(rng.integers(0, 8))
        xy = rng.uniform(0, 200, (n, 2))
        wh = rng.uniform(4, 40, (n, 2))
        boxes = np.round(np.column_stack([xy, wh]))
        hard = rng.random(n) < 0.8
        medium = hard & (rng.random(n) < 0.6)
        easy = medium & (rng.random(n) < 0.5)
        images.append((f"ev/img{k}", boxes, {"easy": easy, "medium": medium, "hard": hard}))
        m = int(rng.integers(0, 15))
        if k == 3:
            continue  # one image without predictions
        src = boxes[rng.integers(0, n, m)] if n else np.zeros((m, 4)) + 50
        jit = src + rng.normal(0, 3, src.shape) * (rng.random((m, 1)) < 0.7)
        scores = np.round(rng.random(m), 1)  # plenty of ties
        preds[f"ev/img{k}"] = np.column_stack([np.round(jit), scores])
    return make_gt(images), preds


@pytest.mark.parametrize("seed", [0, 1, 2, 3])
def test_vectorised_equals_literal_reference(seed, cython_backend):
    gt, preds = random_case(seed)
    ref_ap, ref_counts = reference_wider_eval([preds.get(im.key, pred()) for im in gt.images], gt)
    for backend in ("numpy", cython_backend):
        res = evaluate_widerface(preds, gt, backend=backend)
        for s in SETTINGS:
            assert np.array_equal(res.counts[s], ref_counts[s]), s
            assert res.ap[s] == ref_ap[s], s
    assert 0.0 < ref_ap["hard"] < 1.0
