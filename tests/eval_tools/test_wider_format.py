"""The WIDER file formats (eval_tools.wider_format): hand-made ground truth, difficulty and prediction
files, image keys and extensions."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from eval_tools import GroundTruthError, PredictionFormatError
from eval_tools.wider_format import (
    GT_COLUMNS,
    IMAGE_EXTENSIONS,
    WiderFormatError,
    image_key,
    is_image_name,
    pred_file_path,
    read_difficulty_file,
    read_gt_txt,
    read_pred_file,
    split_image_key,
    write_difficulty_file,
    write_gt_txt,
    write_pred_file,
    write_predictions,
)

REPO = Path(__file__).resolve().parents[2]


def _gt(tmp_path, text):
    path = tmp_path / "gt.txt"
    path.write_text(text)
    return path


def _summary(records):
    return [(r.name, len(r.rows), r.line) for r in records]


def test_one_error_type_under_its_earlier_names():
    assert GroundTruthError is WiderFormatError and PredictionFormatError is WiderFormatError
    assert issubclass(WiderFormatError, ValueError)


def test_the_format_module_needs_no_paddle():
    code = ("import sys, eval_tools.wider_format; "
            "print([m for m in sys.modules if m.split('.')[0] in ('paddle', 'ppdet', 'ppdet_face')])")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=REPO, timeout=120)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "[]"


# ------------------------------------------------------------------------------------------------
# Ground truth
# ------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("placeholder", ["0 0 0 0 0 0 0 0 0 0\n", ""])
def test_zero_face_image_with_or_without_the_placeholder_line(tmp_path, placeholder):
    path = _gt(tmp_path, f"1--E/a.jpg\n0\n{placeholder}1--E/b.jpg\n1\n1 2 3 4 0 0 0 0 0 0\n"
                         f"2--F/c.jpg\n0\n{placeholder}")
    records = read_gt_txt(path)
    b_line = 4 if placeholder else 3
    assert _summary(records) == [("1--E/a.jpg", 0, 1), ("1--E/b.jpg", 1, b_line), ("2--F/c.jpg", 0, b_line + 3)]
    assert records[0].rows.shape == (0, GT_COLUMNS) and records[0].boxes.shape == (0, 4)
    assert records[1].boxes.tolist() == [[1, 2, 3, 4]]


def test_face_lines_short_or_long_and_blank_lines_between_images(tmp_path):
    path = _gt(tmp_path, "\n1--E/a.jpg\n2\n1.5 2 3 4\n5 6 7 8 1 0 1 0 2 1 99\n\n\n1--E/b.jpg\n0\n\n")
    a, b = read_gt_txt(path)
    assert a.rows.tolist() == [[1.5, 2, 3, 4, 0, 0, 0, 0, 0, 0], [5, 6, 7, 8, 1, 0, 1, 0, 2, 1]]
    assert (a.line, b.name, len(b.rows)) == (2, "1--E/b.jpg", 0)


@pytest.mark.parametrize("text,line,message", [
    ("1--E/a.jpg\nmany\n", 2, "expected the face count of '1--E/a.jpg', got 'many'"),
    ("1--E/a.jpg\n1.5\n1 2 3 4\n", 2, "expected the face count"),
    ("1--E/a.jpg\n-1\n", 2, "negative face count -1"),
    ("1--E/a.jpg\n", 2, "missing face count after '1--E/a.jpg'"),
    ("1--E/a.jpg\n2\n1 2 3 4\n", 4, "'1--E/a.jpg' declares 2 faces but the file has fewer lines"),
    ("1--E/a.jpg\n2\n1 2 3 4\n1--E/b.jpg\n0\n", 4, "declares 2 faces but the file has fewer lines"),
    ("1--E/a.jpg\n1\n1 2 x 4\n", 3, "box values must be numbers, got '1 2 x 4'"),
    ("1--E/a.jpg\n1\n1 2 3 4 0 oops\n", 3, "box values must be numbers"),
    ("1--E/a.jpg\n0\nzero\n", 3, "box values must be numbers"),
    ("1--E/a.jpg\n1\n1 2 3\n", 3, "expected 'x y w h ...', got '1 2 3'"),
    ("1--E/a.gif\n0\n", 1, "expected an image path, got '1--E/a.gif'"),
])
def test_malformed_gt_names_file_and_line(tmp_path, text, line, message):
    path = _gt(tmp_path, text)
    with pytest.raises(WiderFormatError, match=message) as err:
        read_gt_txt(path)
    assert str(err.value).startswith(f"{path}:{line}: ")


def test_gt_round_trip(tmp_path):
    records = [("1--E/a.jpg", np.array([[1, 2, 30, 40, 0, 1, 0, 0, 2, 0], [5.25, 6, 7, 8.125, 0, 0, 0, 0, 0, 1]])),
               ("1--E/b.jpg", np.zeros((0, 10))),
               ("2--F/c.png", np.array([[0.1, 0.2, 3, 4]]))]
    path = tmp_path / "gt.txt"
    write_gt_txt(path, records)
    text = path.read_text()
    assert text.startswith("1--E/a.jpg\n2\n1 2 30 40 0 1 0 0 2 0\n5.25 6 7 8.125 0 0 0 0 0 1\n"
                           "1--E/b.jpg\n0\n0 0 0 0 0 0 0 0 0 0\n2--F/c.png\n1\n0.1 0.2 3 4\n")
    for zero_placeholder in (True, False):
        write_gt_txt(path, records, zero_placeholder=zero_placeholder)
        back = read_gt_txt(path)
        assert [r.name for r in back] == [name for name, _ in records]
        for r, (_, rows) in zip(back, records):
            np.testing.assert_array_equal(r.rows[:, :rows.shape[1]], rows)
    assert "\n1--E/b.jpg\n0\n2--F/c.png\n" in path.read_text()  # the last time without the placeholder
    write_gt_txt(path, [])
    assert path.read_text() == "" and read_gt_txt(path) == []


# ------------------------------------------------------------------------------------------------
# Difficulty file
# ------------------------------------------------------------------------------------------------
def test_difficulty_round_trip(tmp_path):
    path = tmp_path / "difficulty.txt"
    write_difficulty_file(path, [("1--E/a.jpg", {"easy": [1], "medium": [1], "hard": [1, 2]}),
                                 ("1--E/b.jpg", {"hard": [], "easy": [], "medium": []})])
    assert path.read_text().splitlines() == [
        "1--E/a.jpg easy: 1", "1--E/a.jpg medium: 1", "1--E/a.jpg hard: 1 2",
        "1--E/b.jpg easy: ", "1--E/b.jpg medium: ", "1--E/b.jpg hard: "]
    diff = read_difficulty_file(path)
    assert list(diff) == ["1--E/a", "1--E/b"]
    assert {s: v.tolist() for s, v in diff["1--E/a"].items()} == {"easy": [1], "medium": [1], "hard": [1, 2]}
    assert all(v.dtype == np.int64 and v.size == 0 for v in diff["1--E/b"].values())


@pytest.mark.parametrize("text,message", [
    ("1--E/a.jpg easy: 1\n1--E/a.jpg tricky: 1\n", r"d.txt:2: expected '<event>/<name>.jpg"),
    ("1--E/a.jpg easy: 1 x\n", "d.txt:1: face indices must be integers"),
    ("1--E/a.jpg easy: 1\n\n1--E/a.png easy: 2\n", "d.txt:3: duplicate easy entry for 1--E/a"),
    ("a.jpg easy: 1\n", "d.txt:1: image path 'a.jpg' is not '<event>/<name>.jpg'"),
])
def test_malformed_difficulty_names_file_and_line(tmp_path, text, message):
    (tmp_path / "d.txt").write_text(text)
    with pytest.raises(WiderFormatError, match=message):
        read_difficulty_file(tmp_path / "d.txt")
    with pytest.raises(WiderFormatError, match="difficulty file not found"):
        read_difficulty_file(tmp_path / "nope.txt")


# ------------------------------------------------------------------------------------------------
# Prediction files
# ------------------------------------------------------------------------------------------------
def test_read_pred_file_official_format(tmp_path):
    f = tmp_path / "x.txt"
    f.write_text("0_Parade_marchingband_1_465.jpg\n3\n"
                 "10 20 30 40 0.9\n"
                 "1.5 2.5 3.5 4.5 0.25 99 98\n"  # extra columns (e.g. landmarks) are ignored
                 "0 0 5 5 0.1\r\n\n")
    boxes = read_pred_file(f)
    assert boxes.shape == (3, 5)
    assert boxes[1].tolist() == [1.5, 2.5, 3.5, 4.5, 0.25]
    assert boxes[2, 4] == 0.1


@pytest.mark.parametrize("content,match", [
    ("a.jpg\nthree\n1 2 3 4 0.5\n", "box count"),
    ("a.jpg\n2\n1 2 3 4 0.5\n", "declares 2 boxes"),
    ("a.jpg\n1\n1 2 3 4\n", "left top width height score"),
    ("a.jpg\n1\n1 2 3 4 nan\n", "non-finite"),
    ("a.jpg\n\n1 2 3 4 0.5\n", "box count on line 2"),
])
def test_read_pred_file_errors_are_clear(tmp_path, content, match):
    f = tmp_path / "bad.txt"
    f.write_text(content)
    with pytest.raises(PredictionFormatError, match=match) as info:
        read_pred_file(f)
    assert str(f) in str(info.value)


def test_blank_line_inside_boxes_is_caught(tmp_path):
    f = tmp_path / "x.txt"
    f.write_text("a.jpg\n2\n1 2 3 4 0.5\n\n5 6 7 8 0.4\n")
    with pytest.raises(PredictionFormatError, match="declares 2 boxes but has 1"):
        read_pred_file(f)
    f.write_text("a.jpg\n12.0\n" + "1 2 3 4 0.5\n" * 12)
    assert read_pred_file(f).shape == (12, 5)


def test_prediction_file_and_folder_round_trip(tmp_path):
    boxes = np.array([[10.5, 20.25, 30, 40, 0.987654], [1, 2, 3, 4, 0.1]])
    path = pred_file_path(tmp_path / "pred", "0--Parade/0_Parade_1")
    assert path == tmp_path / "pred" / "0--Parade" / "0_Parade_1.txt"
    write_pred_file(path, "0_Parade_1.jpg", boxes)
    assert path.read_text().splitlines()[:2] == ["0_Parade_1.jpg", "2"]
    np.testing.assert_array_equal(read_pred_file(path), boxes)
    write_pred_file(path, "0_Parade_1.jpg", np.zeros((0, 5)))
    assert path.read_text() == "0_Parade_1.jpg\n0\n" and read_pred_file(path).shape == (0, 5)
    preds = {"1--E/a": boxes, "2--F/b": boxes[:1]}
    assert write_predictions(tmp_path / "folder", preds) == 2
    for key, want in preds.items():
        got_path = pred_file_path(tmp_path / "folder", key)
        assert got_path.read_text().splitlines()[0] == key.split("/")[1] + ".jpg"
        np.testing.assert_array_equal(read_pred_file(got_path), want)


# ------------------------------------------------------------------------------------------------
# Image keys and extensions
# ------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("path,key", [
    ("0--Parade/0_Parade_marchingband_1_465.jpg", "0--Parade/0_Parade_marchingband_1_465"),
    ("/data/WIDER_val/images/0--Parade/x.y.JPEG", "0--Parade/x.y"),
    ("images\\12--Group\\12_Group_1.png", "12--Group/12_Group_1"),
    (" 1--E/a.jpg ", "1--E/a"),
])
def test_image_key(path, key):
    assert image_key(path) == key
    assert split_image_key(key) == tuple(key.split("/"))


@pytest.mark.parametrize("path", ["a.jpg", "/a.jpg", "1--E/", ""])
def test_image_key_needs_an_event_folder(path):
    with pytest.raises(WiderFormatError, match=r"^gt.txt:7: image path .* is not '<event>/<name>.jpg'"):
        image_key(path, "gt.txt:7")


@pytest.mark.parametrize("key", ["a", "/a", "1--E/", ""])
def test_split_image_key_needs_event_and_name(key):
    with pytest.raises(WiderFormatError, match="is not '<event>/<name>'"):
        split_image_key(key)


def test_image_extensions_are_case_insensitive(tmp_path):
    assert all(ext == ext.lower() and ext.startswith(".") for ext in IMAGE_EXTENSIONS)
    for name in ("a.jpg", "A.JPG", "b.Jpeg", "c.PNG", "d.bmp", "e.WebP", "f.tif", "g.TIFF"):
        assert is_image_name(name), name
    for name in ("a.txt", "a.gif", "jpg", "a.jpg.txt"):
        assert not is_image_name(name), name
    path = _gt(tmp_path, "1--E/A.JPG\n0\n1--E/b.Png\n1\n1 2 3 4\n")
    assert [r.name for r in read_gt_txt(path)] == ["1--E/A.JPG", "1--E/b.Png"]
