"""tools/predict_fddb.py end to end on a few generated images (seeded random weights), then scored."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import cv2
import numpy as np

from eval_tools.evaluate_fddb import main as evaluate_main
from eval_tools.fddb import DBL_MAX, read_detections, read_roc_file

REPO = Path(__file__).resolve().parents[2]
CONFIG = REPO / "configs" / "face_detection" / "blazeface_fpn_ssh_demo.yml"
NAMES = ["2002/08/11/big/img_591", "2002/08/26/big/img_265", "2003/01/17/big/img_610", "2002/07/19/big/img_423"]


def _fddb_layout(root: Path, missing: str | None = None) -> tuple[Path, Path]:
    """Images ``<root>/images/<name>.jpg`` (all but ``missing``) and fold 1 listing all names."""
    rng = np.random.default_rng(0)
    for name in NAMES:
        if name == missing:
            continue
        path = root / "images" / f"{name}.jpg"
        path.parent.mkdir(parents=True, exist_ok=True)
        img = cv2.resize(rng.integers(0, 256, (8, 10, 3), dtype=np.uint8), (160, 128))
        cv2.ellipse(img, (80, 64), (24, 32), 0, 0, 360, (150, 180, 220), -1)
        cv2.imwrite(str(path), img)
    folds = root / "FDDB-folds"
    folds.mkdir()
    (folds / "FDDB-fold-01.txt").write_text("\n".join(NAMES) + "\n")
    (folds / "FDDB-fold-01-ellipseList.txt").write_text(
        "".join(f"{n}\n1\n32 24 1.570796 80 64 1\n" for n in NAMES))
    return root / "images", folds


def _run(*args, cwd):
    env = dict(os.environ, GLOG_minloglevel="2")
    return subprocess.run([sys.executable, str(REPO / "tools" / "predict_fddb.py"), "-c", str(CONFIG), *args],
                          cwd=cwd, env=env, capture_output=True, text=True, timeout=600)


def test_predict_fddb_writes_a_file_the_evaluator_scores(tmp_path):
    images, folds = _fddb_layout(tmp_path, missing=NAMES[3])
    out = tmp_path / "dets.txt"
    proc = _run("--allow_random_weights", "-o", "eval_backend=dygraph", "--image_dir", str(images),
                "--folds_dir", str(folds), "--folds", "1", "--output", str(out), "--no_progress", cwd=tmp_path)
    assert proc.returncode == 1, proc.stderr[-2000:]  # one listed image is missing
    assert "SEEDED RANDOM weights" in proc.stderr and f"{NAMES[3]}.jpg" in proc.stderr
    assert proc.stderr.strip().splitlines()[-1] == "error: 1 of 4 images could not be used (no detections in the file)"
    assert "on 4 images to" in proc.stdout
    dets = read_detections(out)
    assert list(dets) == NAMES and len(dets[NAMES[3]]) == 0
    assert sum(len(d) for d in dets.values()) > 0
    for d in dets.values():
        assert (d[:, 2] > 0).all() and (d[:, 3] > 0).all() and (np.diff(d[:, 4]) <= 0).all()
        assert (d[:, 0] >= 0).all() and (d[:, 0] + d[:, 2] <= 160 + 1e-3).all()  # clipped to the image
    assert evaluate_main(["-a", str(folds), "-d", str(out), "-r", str(tmp_path / "roc_"), "--folds", "1"]) == 0
    disc = read_roc_file(tmp_path / "roc_DiscROC.txt")
    last = (tmp_path / "roc_DiscROC.txt").read_text().splitlines()[-1]
    assert last == f"0 0 {DBL_MAX:.6g}" == "0 0 1.79769e+308"  # the image without detections: DBL_MAX row
    assert round(disc[0, 0] * 4) + disc[0, 1] == sum(len(d) for d in dets.values())  # all boxes: TP + FP


def test_predict_fddb_errors_are_one_line(tmp_path):
    images, folds = _fddb_layout(tmp_path)
    proc = _run("-o", f"weights={tmp_path / 'missing'}", "--image_dir", str(images), "--folds_dir", str(folds),
                "--folds", "1", "--output", str(tmp_path / "d.txt"), cwd=tmp_path)
    assert proc.returncode == 1
    assert proc.stderr.strip().splitlines()[-1].startswith("error: weights not found")
    assert proc.stderr.strip().endswith("or --allow_random_weights)")
    proc = _run("--image_dir", str(tmp_path / "nowhere"), "--folds_dir", str(folds), "--folds", "1",
                "--output", str(tmp_path / "d.txt"), cwd=tmp_path)
    assert proc.returncode == 1 and "error: none of the 4 fold images exists under" in proc.stderr
