"""The FDDB command line (eval_tools/evaluate_fddb.py): outputs, several detectors, clipping, errors."""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import cv2
import numpy as np
import pytest

from eval_tools.evaluate_fddb import main as cli_main
from eval_tools.fddb import read_roc_file, write_fddb_detections

REPO = Path(__file__).resolve().parents[2]
FACE = "40 30 1.570796 0 100 1"  # vertical face centred on the left border of a 300 x 300 image


def _folds(root: Path) -> Path:
    """Fold 1 with two images: a face on the left border and a face inside."""
    folds = root / "FDDB-folds"
    folds.mkdir(parents=True)
    (folds / "FDDB-fold-01.txt").write_text("2002/07/19/big/img_1\n2002/07/19/big/img_2\n")
    (folds / "FDDB-fold-01-ellipseList.txt").write_text(
        f"2002/07/19/big/img_1\n1\n{FACE}\n2002/07/19/big/img_2\n1\n40 30 1.570796 150 150 1\n")
    return folds


def _detections(path: Path, score: float = 0.9) -> Path:
    write_fddb_detections(path, {"2002/07/19/big/img_1": [[0, 60, 30, 80, score]],
                                 "2002/07/19/big/img_2": [[120, 110, 60, 80, score - 0.1], [0, 0, 20, 20, 0.1]]})
    return path


def test_cli_on_shared_pyface_writes_the_official_files(fddb_dir, tmp_path, capsys):
    prefix, out_json, out_png = tmp_path / "roc" / "pyface", tmp_path / "r.json", tmp_path / "roc.png"
    assert cli_main(["-a", str(fddb_dir / "FDDB-folds"), "-d", str(fddb_dir / "detections" / "pyface.txt"),
                     "-r", str(prefix), "--json", str(out_json), "--plot", str(out_png)]) == 0
    out = capsys.readouterr().out
    print(out)
    assert "2845 images, 5171 faces; regions NOT clipped (no --image_dir)" in out
    assert "pyface" in out and "disc@1000" in out and "total" in out
    ours = read_roc_file(f"{prefix}DiscROC.txt")
    official = read_roc_file(fddb_dir / "reference_roc" / "pyfaceDiscROC.txt")
    assert ours.shape == official.shape == (2189, 3) and np.array_equal(ours[:, 2], official[:, 2])
    assert read_roc_file(f"{prefix}ContROC.txt").shape == (2189, 2)
    data = json.loads(out_json.read_text())
    det = data["detectors"][0]
    assert det["name"] == "pyface" and det["num_detections"] == 5805 and det["max_fp"] == int(ours[0, 1])
    assert len(det["roc"]["fp"]) == 2189 and data["clipped"] is False
    assert out_png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_cli_several_detectors_and_image_dir_clipping(tmp_path, capsys):
    folds = _folds(tmp_path)
    a, b = _detections(tmp_path / "a.txt"), _detections(tmp_path / "b.txt", score=0.5)
    images = tmp_path / "images" / "2002" / "07" / "19" / "big"
    images.mkdir(parents=True)
    for name in ("img_1", "img_2"):
        cv2.imwrite(str(images / f"{name}.jpg"), np.zeros((300, 300, 3), np.uint8))
    assert cli_main(["-a", str(folds), "-d", str(a), "-d", str(b), "-r", str(tmp_path / "out_"), "--folds", "1"]) == 0
    free = read_roc_file(tmp_path / "out_aDiscROC.txt")
    assert (tmp_path / "out_bContROC.txt").is_file()
    assert cli_main(["-a", str(folds), "-d", str(a), "-r", str(tmp_path / "clip_"), "--folds", "1",
                     "--image_dir", str(tmp_path / "images")]) == 0
    out = capsys.readouterr().out
    assert "image sizes of 2 images read" in out and "regions clipped to the image" in out
    clipped = read_roc_file(tmp_path / "clip_DiscROC.txt")
    # the border face only matches once clipped (overlap 0.45 -> 0.79); the inner face matches either way
    assert free[:, 0].tolist() == [0.5, 0.5, 0.0] and clipped[:, 0].tolist() == [1.0, 1.0, 0.5]
    assert free[:, 1].tolist() == [2, 1, 1] and clipped[:, 1].tolist() == [1, 0, 0]


@pytest.mark.parametrize("case,match", [
    ("bad_line", "bad.txt:3: expected 'x y w h score'"),
    ("no_folds", "FDDB folds folder not found"),
    ("bad_folds", "folds must be in 1..10"),
    ("missing_image", "cannot read image"),
    ("same_stem", "distinct names"),
    ("missing_dets", "detection file not found"),
    ("missing_fold", "annotation file not found"),
])
def test_cli_bad_input_is_one_error_line(tmp_path, case, match):
    folds = _folds(tmp_path)
    dets = _detections(tmp_path / "d.txt")
    (tmp_path / "bad.txt").write_text("2002/07/19/big/img_1\n1\n1 2 3 0.5\n")
    (tmp_path / "sub").mkdir()
    other = str(_detections(tmp_path / "sub" / "d.txt"))
    args = {"bad_line": ["-a", str(folds), "-d", str(tmp_path / "bad.txt")],
            "no_folds": ["-a", str(tmp_path / "nope"), "-d", str(dets)],
            "bad_folds": ["-a", str(folds), "-d", str(dets), "--folds", "0-11"],
            "missing_image": ["-a", str(folds), "-d", str(dets), "--image_dir", str(tmp_path)],
            "same_stem": ["-a", str(folds), "-d", str(dets), "-d", other],
            "missing_dets": ["-a", str(folds), "-d", str(tmp_path / "none.txt")],
            "missing_fold": ["-a", str(folds), "-d", str(dets), "--folds", "1-2"]}[case]
    with pytest.raises(SystemExit) as info:
        cli_main(["--folds", "1"] + args + ["-r", str(tmp_path / "out_")])  # a later --folds wins
    message = str(info.value.code)
    assert message.startswith("error: ") and match in message and "\n" not in message


def test_cli_runs_as_script(tmp_path):
    folds = _folds(tmp_path)
    dets = _detections(tmp_path / "d.txt")
    script = [sys.executable, str(REPO / "eval_tools" / "evaluate_fddb.py")]
    proc = subprocess.run(script + ["-a", str(folds), "-d", str(dets), "-r", str(tmp_path / "x_"), "--folds", "1"],
                          capture_output=True, text=True, cwd=tmp_path, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert (tmp_path / "x_DiscROC.txt").read_text().splitlines()[-1] == "0 1 0.9"
    proc = subprocess.run(script + ["-a", str(folds), "-d", str(tmp_path / "nope.txt"), "-r", "x_", "--folds", "1"],
                          capture_output=True, text=True, cwd=tmp_path, timeout=120)
    assert proc.returncode == 1 and "Traceback" not in proc.stderr
    assert proc.stderr.strip().splitlines() == [f"error: detection file not found: {tmp_path / 'nope.txt'}"]
    help_text = subprocess.run(script + ["-h"], capture_output=True, text=True, timeout=120).stdout
    assert "NOT clipped" in help_text and "--image_dir" in help_text
