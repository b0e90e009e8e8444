"""Ground-truth loading, the shared 9-image subset, and the command line (the file formats
themselves: test_wider_format.py)."""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from eval_tools import (
    SETTINGS,
    GroundTruthError,
    evaluate_widerface,
    load_ground_truth,
    load_gt_txt,
    read_difficulty_file,
    write_predictions,
)
from eval_tools.evaluate import main as cli_main

REPO = Path(__file__).resolve().parents[2]


# ------------------------------------------------------------------------------------------------
# Ground truth
# ------------------------------------------------------------------------------------------------
def test_gt_txt_with_zero_face_image_and_difficulty(tmp_path):
    (tmp_path / "gt.txt").write_text(
        "1--E/a.jpg\n2\n0 0 10 10 0 0 0 0 0 0\n20 20 5 5 1 0 0 0 0 0\n"
        "1--E/b.jpg\n0\n0 0 0 0 0 0 0 0 0 0\n"
        "2--F/c.jpg\n1\n5 5 8 8 0 0 0 0 0 0\n")
    (tmp_path / "difficulty_easy_medium_hard.txt").write_text(
        "1--E/a.jpg easy: 1\n1--E/a.jpg medium: 1\n1--E/a.jpg hard: 1 2\n"
        "1--E/b.jpg easy: \n1--E/b.jpg medium: \n1--E/b.jpg hard: \n"
        "2--F/c.jpg easy:\n2--F/c.jpg medium: 1\n2--F/c.jpg hard: 1\n")
    gt = load_ground_truth(tmp_path / "gt.txt")  # difficulty found beside it
    assert [im.key for im in gt.images] == ["1--E/a", "1--E/b", "2--F/c"]
    assert gt.images[1].boxes.shape == (0, 4)
    assert gt.images[0].keep["hard"].tolist() == [True, True]
    assert gt.images[0].keep["easy"].tolist() == [True, False]
    assert {s: gt.count_faces(s) for s in SETTINGS} == {"easy": 1, "medium": 2, "hard": 3}


def test_gt_errors_are_clear(tmp_path):
    with pytest.raises(GroundTruthError, match="not found"):
        load_ground_truth(tmp_path / "nope.txt")
    (tmp_path / "gt.txt").write_text("1--E/a.jpg\n1\n0 0 10 10 0 0 0 0 0 0\n")
    with pytest.raises(GroundTruthError, match="difficulty file not found"):
        load_ground_truth(tmp_path / "gt.txt")
    (tmp_path / "d.txt").write_text(
        "1--E/a.jpg easy: 2\n1--E/a.jpg medium: 1\n1--E/a.jpg hard: 1\n")
    with pytest.raises(GroundTruthError, match="out of range"):
        load_gt_txt(tmp_path / "gt.txt", tmp_path / "d.txt")
    (tmp_path / "d.txt").write_text("1--E/a.jpg easy: 1\n1--E/a.jpg hard: 1\n")
    with pytest.raises(GroundTruthError, match="lacks medium"):
        load_gt_txt(tmp_path / "gt.txt", tmp_path / "d.txt")
    (tmp_path / "empty_dir").mkdir()
    with pytest.raises(GroundTruthError, match="wider_face_val.mat"):
        load_ground_truth(tmp_path / "empty_dir")


def test_shared_subset_txt_matches_official_mat(wider_subset_dir, wider_mat_dir):
    split = wider_subset_dir / "wider_face_split"
    sub = load_ground_truth(split / "wider_face_val_bbx_gt.txt")
    assert len(sub) == 9
    assert sub.count_faces() == 504
    assert {s: sub.count_faces(s) for s in SETTINGS} == {"easy": 20, "medium": 60, "hard": 474}
    full = {im.key: im for im in load_ground_truth(wider_mat_dir).images}
    for im in sub.images:
        ref = full[im.key]
        assert np.array_equal(im.boxes, ref.boxes), im.key
        for s in SETTINGS:
            assert np.array_equal(im.keep[s], ref.keep[s]), (im.key, s)
    diff = read_difficulty_file(split / "difficulty_easy_medium_hard.txt")
    assert set(diff) == {im.key for im in sub.images}


def test_official_mat_counts(wider_mat_dir):
    gt = load_ground_truth(wider_mat_dir)
    assert len(gt) == 3226
    assert gt.count_faces() == 39708
    assert {s: gt.count_faces(s) for s in SETTINGS} == {"easy": 7211, "medium": 13319,
                                                          "hard": 31958}


def test_perfect_predictions_on_subset_score_one(wider_subset_dir, tmp_path):
    gt = load_ground_truth(wider_subset_dir / "wider_face_split" / "wider_face_val_bbx_gt.txt")
    rng = np.random.default_rng(0)
    preds = {im.key: np.column_stack([im.boxes, rng.uniform(0.5, 1.0, len(im.boxes))])
             for im in gt.images}
    write_predictions(tmp_path, preds)
    res = evaluate_widerface(tmp_path, gt)
    for s in SETTINGS:
        assert res.ap[s] == pytest.approx(1.0)
    assert res.num_predictions == 504 and res.missing == []


# ------------------------------------------------------------------------------------------------
# Command line
# ------------------------------------------------------------------------------------------------
def _subset_predictions(gt, tmp_path):
    rng = np.random.default_rng(5)
    preds = {}
    for im in gt.images[1:]:  # first image left without a file
        b = im.boxes + rng.normal(0, 1.0, im.boxes.shape)
        fp = np.column_stack([rng.uniform(0, 900, (20, 2)), np.full((20, 2), 15.0)])
        preds[im.key] = np.column_stack([np.vstack([b, fp]),
                                         np.concatenate([rng.uniform(0.3, 1.0, len(b)),
                                                         rng.uniform(0.0, 0.6, 20)])])
    write_predictions(tmp_path / "pred", preds)
    return tmp_path / "pred"


def test_cli_table_json_plot(wider_subset_dir, tmp_path, capsys):
    gt_txt = wider_subset_dir / "wider_face_split" / "wider_face_val_bbx_gt.txt"
    pred_dir = _subset_predictions(load_ground_truth(gt_txt), tmp_path)
    out_json, out_png = tmp_path / "r" / "res.json", tmp_path / "r" / "pr.png"
    assert cli_main(["-p", str(pred_dir), "-g", str(gt_txt), "--json", str(out_json),
                     "--plot", str(out_png), "--backend", "numpy", "--no_progress"]) == 0
    captured = capsys.readouterr()
    for label in ("Easy", "Medium", "Hard"):
        assert f"{label}" in captured.out
    assert "IoU backend: numpy" in captured.out
    assert captured.err.count("warning:") == 1 and "1 of 9 prediction files" in captured.err
    data = json.loads(out_json.read_text())
    assert set(data["ap"]) == set(SETTINGS)
    assert 0.0 < data["ap"]["hard"] < 1.0
    assert data["num_missing_prediction_files"] == 1
    assert len(data["pr_curve"]["easy"]["precision"]) == 1000
    assert f"{data['ap']['hard']:.4f}" in captured.out
    assert out_png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_cli_user_errors_are_one_line(tmp_path, capsys):
    (tmp_path / "pred").mkdir()
    with pytest.raises(SystemExit) as info:
        cli_main(["-p", str(tmp_path / "pred"), "-g", str(tmp_path / "missing_gt")])
    assert info.value.code == 2
    err = capsys.readouterr().err
    assert "ground truth not found" in err and "Traceback" not in err
    with pytest.raises(SystemExit) as info:
        cli_main(["-p", str(tmp_path / "nope"), "-g", str(tmp_path)])
    assert info.value.code == 2
    assert "prediction folder not found" in capsys.readouterr().err


def test_cli_bad_prediction_file_message(wider_subset_dir, tmp_path):
    gt_txt = wider_subset_dir / "wider_face_split" / "wider_face_val_bbx_gt.txt"
    bad = tmp_path / "pred" / "0--Parade" / "0_Parade_marchingband_1_20.txt"
    bad.parent.mkdir(parents=True)
    bad.write_text("0_Parade_marchingband_1_20.jpg\nmany\n")
    with pytest.raises(SystemExit) as info:
        cli_main(["-p", str(tmp_path / "pred"), "-g", str(gt_txt), "--no_progress"])
    assert "expected the box count" in str(info.value.code)
    assert str(bad) in str(info.value.code)


def test_cli_runs_as_script(wider_subset_dir, tmp_path):
    gt_txt = wider_subset_dir / "wider_face_split" / "wider_face_val_bbx_gt.txt"
    pred_dir = _subset_predictions(load_ground_truth(gt_txt), tmp_path)
    proc = subprocess.run([sys.executable, str(REPO / "eval_tools" / "evaluate.py"), "-p",
                           str(pred_dir), "-g", str(gt_txt), "--no_progress"],
                          capture_output=True, text=True, cwd=tmp_path, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert "Hard   Val AP:" in proc.stdout
    proc = subprocess.run([sys.executable, str(REPO / "eval_tools" / "evaluate.py"), "-p",
                           str(pred_dir), "-g", str(tmp_path / "nope")],
                          capture_output=True, text=True, cwd=tmp_path, timeout=120)
    assert proc.returncode == 2
    assert "Traceback" not in proc.stderr
    assert proc.stderr.strip().splitlines()[-1].startswith("evaluate.py: error: ground truth")
