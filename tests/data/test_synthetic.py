"""Tests of the synthetic WIDER-layout generator and of the WIDER download script.

No test uses the network: the download script is only run with ``--check`` or with
archives that are already in place.
"""
from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import time
import zipfile
from pathlib import Path

import cv2
import numpy as np
import pytest

from eval_tools.wider_format import image_key, read_difficulty_file, read_gt_txt
from ppdet_face.data import synthetic as syn
from ppdet_face.data.synthetic.canvas import ellipse_extent, paste
from ppdet_face.data.synthetic.faces import render_face
from ppdet_face.utils.shared import shared_dir

REPO = Path(__file__).resolve().parents[2]
SCRIPT = REPO / "dataset" / "wider_face" / "download_wider_face.sh"
CLI = REPO / "tools" / "make_synthetic_wider.py"
SHARED = shared_dir()
SUBSET = SHARED / "data" / "wider_face_val_subset"

N_TRAIN, N_VAL = 6, 4
DIFF_LINE = re.compile(r"^(\S+\.jpg) (easy|medium|hard): ((?:\d+ )*\d+)?$")


def _read_gt(path: Path) -> list[tuple[str, np.ndarray]]:
    """``[(image path, int64 [N, 10] rows)]`` through the one WIDER reader."""
    return [(r.name, r.rows.astype(np.int64)) for r in read_gt_txt(path)]


def _read_difficulty(path: Path) -> dict[str, dict[str, list[int]]]:
    """``{"<event>/<name>": {setting: [1-based indices]}}`` through the one WIDER reader."""
    return {key: {s: idx.tolist() for s, idx in d.items()} for key, d in read_difficulty_file(path).items()}


def _generate(root: Path, seed: int = 0) -> dict:
    return syn.generate_wider_dataset(root, num_train=N_TRAIN, num_val=N_VAL, seed=seed,
                                      progress=False)


@pytest.fixture(scope="module")
def dataset(tmp_path_factory):
    root = tmp_path_factory.mktemp("synthetic") / "wider"
    t0 = time.perf_counter()
    summary = _generate(root)
    return root, summary, time.perf_counter() - t0


def _parse_strict(path: Path):
    """Independent strict parser of the official bbx_gt format (keeps the raw lines)."""
    lines = path.read_text().split("\n")
    assert lines[-1] == "", "file must end with a newline"
    lines = lines[:-1]
    recs, i = [], 0
    while i < len(lines):
        name = lines[i]
        assert re.fullmatch(r"\d+--\w+/\S+\.jpg", name), name
        count_line = lines[i + 1]
        assert re.fullmatch(r"\d+", count_line), (name, count_line)
        n = int(count_line)
        body = lines[i + 2:i + 2 + max(n, 1)]
        assert len(body) == max(n, 1), f"{name}: truncated"
        for ln in body:
            assert re.fullmatch(r"-?\d+( -?\d+){9}", ln), (name, ln)
        rows = np.array([[int(v) for v in ln.split()] for ln in body], np.int64)
        recs.append((name, n, rows if n else np.zeros((0, 10), np.int64), body))
        i += 2 + max(n, 1)
    return recs


# --------------------------------------------------------------------------- generator
def test_generation_is_summarised(dataset):
    root, summary, seconds = dataset
    print(f"\n{N_TRAIN}+{N_VAL} synthetic images in {seconds:.1f} s")  # a report, not a timed assertion
    assert summary["train"]["images"] == N_TRAIN
    assert summary["val"]["images"] == N_VAL
    assert summary["train"]["faces"] > 0 and summary["val"]["faces"] > 0


def test_official_layout(dataset):
    root, _, _ = dataset
    split_dir = root / "wider_face_split"
    for f in ("wider_face_train_bbx_gt.txt", "wider_face_val_bbx_gt.txt",
              "difficulty_easy_medium_hard.txt"):
        assert (split_dir / f).is_file(), f
    for split, n in (("train", N_TRAIN), ("val", N_VAL)):
        recs = _parse_strict(split_dir / f"wider_face_{split}_bbx_gt.txt")
        names = [r[0] for r in recs]
        assert len(names) == n == len(set(names))
        on_disk = sorted(p.relative_to(root / f"WIDER_{split}" / "images").as_posix()
                         for p in (root / f"WIDER_{split}" / "images").glob("*/*.jpg"))
        assert on_disk == sorted(names)
        assert {name.split("/")[0] for name in names} <= set(syn.EVENTS.values())


@pytest.mark.parametrize("split", ["train", "val"])
def test_annotations_parse_back(dataset, split):
    root, summary, _ = dataset
    recs = _parse_strict(root / "wider_face_split" / f"wider_face_{split}_bbx_gt.txt")
    assert sum(n for _, n, _, _ in recs) == summary[split]["faces"]
    zero_quirk = crowd = 0
    for name, n, rows, body in recs:
        img = cv2.imread(str(root / f"WIDER_{split}" / "images" / name))
        assert img is not None, name
        H, W = img.shape[:2]
        assert 320 <= W <= 640 and 320 <= H <= 640
        if n == 0:
            assert body == ["0 0 0 0 0 0 0 0 0 0"]   # the official 0-face quirk
            zero_quirk += 1
            continue
        x, y, w, h = rows[:, 0], rows[:, 1], rows[:, 2], rows[:, 3]
        assert (w >= 8).all() and (h >= 8).all(), name
        assert (x >= 0).all() and (y >= 0).all() and (x + w <= W).all() and (y + h <= H).all(), name
        assert (rows[:, 7] == 0).all()                              # invalid
        assert set(rows[:, 4]) <= {0, 1, 2} and set(rows[:, 8]) <= {0, 1, 2}
        assert set(rows[:, 5]) <= {0, 1} and set(rows[:, 6]) <= {0, 1} and set(rows[:, 9]) <= {0, 1}
        crowd += n >= 30
    assert zero_quirk >= 1, "no 0-face image with the official dummy line"
    assert crowd >= 1, "no crowd image with >= 30 faces"
    # the module's own reader agrees with the strict parser
    mine = _read_gt(root / "wider_face_split" / f"wider_face_{split}_bbx_gt.txt")
    assert [m[0] for m in mine] == [r[0] for r in recs]
    for (_, rows_a), (_, _, rows_b, _) in zip(mine, recs):
        np.testing.assert_array_equal(rows_a, rows_b)


def test_face_boxes_look_like_wider(dataset):
    root, _, _ = dataset
    rows = np.concatenate([r for _, r in _read_gt(
        root / "wider_face_split" / "wider_face_train_bbx_gt.txt") if len(r)])
    ratio = rows[:, 3] / rows[:, 2]
    assert 1.1 <= np.median(ratio) <= 1.3            # box height ~ 1.2 x width
    assert rows[:, 2].min() >= 9 and rows[:, 2].max() <= 310


@pytest.mark.parametrize("a,b,theta", [(5.0, 6.0, 0.0), (12.5, 15.0, 10.0), (40.0, 50.0, -20.0),
                                         (120.0, 150.0, 25.0)])
def test_box_is_tight_around_the_face_ellipse(a, b, theta):
    """The box taken from the rendered face equals the analytic box of the rotated ellipse."""
    rng = np.random.default_rng(0)
    img = np.zeros((600, 600, 3), np.uint8)
    tpl, _ = render_face(rng, a, b)
    cx, cy = 300.3, 290.7
    x0, y0, m = paste(img, None, tpl, cx, cy, theta, 0.0, 0)
    ys, xs = np.nonzero(m >= 0.5)
    box = np.array([x0 + xs.min(), y0 + ys.min(), x0 + xs.max() + 1, y0 + ys.max() + 1])
    hw, hh = ellipse_extent(a, b, theta)
    np.testing.assert_allclose(box, [cx - hw + 0.5, cy - hh + 0.5, cx + hw + 0.5, cy + hh + 0.5],
                               atol=1.5)
    # the ellipse is drawn where the box says: skin inside, no face pixels outside
    assert img[int(cy), int(cx)].sum() > 0


def test_faces_fill_their_boxes(dataset):
    """The middle third of every face box (>= 40 px) is face, not background clutter."""
    root, _, _ = dataset
    recs = _read_gt(root / "wider_face_split" / "wider_face_val_bbx_gt.txt")
    checked = 0
    for name, rows in recs:
        img = cv2.imread(str(root / "WIDER_val" / "images" / name)).astype(np.float32)
        for x, y, w, h in rows[:, :4]:
            if min(w, h) < 40:
                continue
            core = img[y + h // 3:y + 2 * h // 3, x + w // 3:x + 2 * w // 3].reshape(-1, 3)
            assert core.std(0).max() < 80     # the middle of a face is skin-ish, not clutter
            checked += 1
    assert checked >= 1


def test_difficulty_file(dataset):
    root, summary, _ = dataset
    recs = dict(_read_gt(root / "wider_face_split" / "wider_face_val_bbx_gt.txt"))
    text = (root / "wider_face_split" / "difficulty_easy_medium_hard.txt").read_text()
    assert text.endswith("\n")
    lines = text.splitlines()
    assert len(lines) == 3 * len(recs)
    names = []
    for i in range(0, len(lines), 3):
        m = [DIFF_LINE.match(ln) for ln in lines[i:i + 3]]
        assert all(m), lines[i:i + 3]
        assert [g.group(2) for g in m] == ["easy", "medium", "hard"]
        assert m[0].group(1) == m[1].group(1) == m[2].group(1)
        names.append(m[0].group(1))
    assert sorted(names) == sorted(recs)
    diff = _read_difficulty(root / "wider_face_split" / "difficulty_easy_medium_hard.txt")
    totals = {"easy": 0, "medium": 0, "hard": 0}
    for name, rows in recs.items():
        d = diff[image_key(name)]
        n = len(rows)
        for k, idx in d.items():
            assert idx == sorted(set(idx)) and all(1 <= i <= n for i in idx), (name, k, idx)
            totals[k] += len(idx)
        assert set(d["easy"]) <= set(d["medium"]) <= set(d["hard"])
        side = np.minimum(rows[:, 2], rows[:, 3]) if n else np.zeros(0)
        for k, thr in syn.DIFFICULTY_MIN_SIZE.items():
            assert d[k] == [i + 1 for i in range(n) if side[i] >= thr]
        assert d["hard"] == list(range(1, n + 1))     # every drawn face is >= 8 px
    assert totals == summary["val"]["difficulty"]


def test_difficulty_format_matches_official_subset(dataset):
    official = SUBSET / "wider_face_split" / "difficulty_easy_medium_hard.txt"
    if not official.is_file():
        pytest.skip(f"shared WIDER val subset not found at {SUBSET} (set PPDET_FACE_SHARED)")
    for ln in official.read_text().splitlines():
        assert DIFF_LINE.match(ln), ln          # the regex used above accepts the official file
    d = _read_difficulty(official)
    assert sum(len(v["easy"]) for v in d.values()) == 20
    assert sum(len(v["medium"]) for v in d.values()) == 60
    assert sum(len(v["hard"]) for v in d.values()) == 474
    gt = _read_gt(SUBSET / "wider_face_split" / "wider_face_val_bbx_gt.txt")
    assert len(gt) == 9 and sum(len(r) for _, r in gt) == 504


def test_deterministic_by_seed(dataset, tmp_path):
    root, _, _ = dataset
    again = tmp_path / "again"
    _generate(again, seed=0)
    for f in ("wider_face_train_bbx_gt.txt", "wider_face_val_bbx_gt.txt",
              "difficulty_easy_medium_hard.txt"):
        assert (again / "wider_face_split" / f).read_bytes() == \
            (root / "wider_face_split" / f).read_bytes(), f
    # JPEG bytes are identical too (same OpenCV build)
    for p in (root / "WIDER_val" / "images").glob("*/*.jpg"):
        assert (again / "WIDER_val" / "images" / p.parent.name / p.name).read_bytes() == p.read_bytes()
    other = tmp_path / "other"
    _generate(other, seed=1)
    assert (other / "wider_face_split" / "wider_face_train_bbx_gt.txt").read_bytes() != \
        (root / "wider_face_split" / "wider_face_train_bbx_gt.txt").read_bytes()


def test_regenerating_replaces_previous_dataset(tmp_path):
    root = tmp_path / "syn"
    syn.generate_wider_dataset(root, num_train=5, num_val=4, seed=0, progress=False)
    syn.generate_wider_dataset(root, num_train=4, num_val=4, seed=2, progress=False)
    assert len(list((root / "WIDER_train" / "images").glob("*/*.jpg"))) == 4
    assert len(_read_gt(
        root / "wider_face_split" / "wider_face_train_bbx_gt.txt")) == 4


def test_refuses_to_overwrite_real_layout(tmp_path):
    (tmp_path / "wider_face_split").mkdir()
    real = tmp_path / "wider_face_split" / "wider_face_train_bbx_gt.txt"
    real.write_text("real\n")
    with pytest.raises(FileExistsError):
        syn.generate_wider_dataset(tmp_path, num_train=1, num_val=1, progress=False)
    assert real.read_text() == "real\n"


def test_save_preview(dataset, tmp_path):
    root, _, _ = dataset
    out = syn.save_preview(root, tmp_path / "preview.png", n=4, tile=200, cols=2)
    sheet = cv2.imread(out)
    assert sheet is not None and sheet.shape[1] == 400 and sheet.shape[0] == 2 * (200 + 22)


def test_module_does_not_import_paddle():
    package = REPO / "ppdet_face" / "data" / "synthetic"
    code = (
        "import importlib.util, sys\n"
        f"spec = importlib.util.spec_from_file_location('s', {str(package / '__init__.py')!r}, "
        f"submodule_search_locations=[{str(package)!r}])\n"
        "m = importlib.util.module_from_spec(spec); sys.modules['s'] = m\n"
        "spec.loader.exec_module(m)\n"
        "bad = [k for k in sys.modules if k.split('.')[0] in ('paddle', 'ppdet')]\n"
        "assert not bad, bad\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True, timeout=120)


def test_cli(tmp_path):
    out = tmp_path / "cli"
    res = subprocess.run(
        [sys.executable, str(CLI), "--out", str(out), "--num_train", "3", "--num_val", "4",
         "--seed", "5", "--no_progress", "--preview", str(tmp_path / "p.png")],
        capture_output=True, text=True, timeout=300)
    assert res.returncode == 0, res.stderr
    assert "train:" in res.stdout and "val  :" in res.stdout and str(out.resolve()) in res.stdout
    assert (out / "wider_face_split" / "wider_face_val_bbx_gt.txt").is_file()
    assert (tmp_path / "p.png").is_file()


# --------------------------------------------------------------------------- download script
needs_bash = pytest.mark.skipif(shutil.which("bash") is None, reason="bash not available")


@needs_bash
def test_download_script_check_fails_clearly_on_empty_dir(tmp_path):
    res = subprocess.run(["bash", str(SCRIPT), "--check", str(tmp_path)],
                         capture_output=True, text=True, timeout=60)
    assert res.returncode != 0
    err = res.stderr
    assert "incomplete" in err and "missing" in err
    for item in ("WIDER_train/images", "WIDER_val/images", "wider_face_val_bbx_gt.txt"):
        assert item in err
    assert "by hand" in err and "--check" in err
    assert not any(tmp_path.iterdir()), "--check must not create anything"


@needs_bash
def test_download_script_check_on_missing_dir(tmp_path):
    res = subprocess.run(["bash", str(SCRIPT), "--check", str(tmp_path / "nope")],
                         capture_output=True, text=True, timeout=60)
    assert res.returncode != 0 and "does not exist" in res.stderr


@needs_bash
@pytest.mark.skipif(shutil.which("unzip") is None, reason="unzip not available")
def test_download_script_unpacks_present_archives_idempotently(tmp_path):
    """With all archives already in place nothing is downloaded (no network needed)."""
    jpg = cv2.imencode(".jpg", np.zeros((8, 8, 3), np.uint8))[1].tobytes()
    for split in ("train", "val", "test"):
        with zipfile.ZipFile(tmp_path / f"WIDER_{split}.zip", "w") as z:
            z.writestr(f"WIDER_{split}/images/0--Parade/0_Parade_x_1.jpg", jpg)
    with zipfile.ZipFile(tmp_path / "wider_face_split.zip", "w") as z:
        for f in ("wider_face_train_bbx_gt.txt", "wider_face_val_bbx_gt.txt",
                  "wider_face_test_filelist.txt"):
            z.writestr(f"wider_face_split/{f}", "0--Parade/0_Parade_x_1.jpg\n0\n0 0 0 0 0 0 0 0 0 0\n")
    env = dict(os.environ, https_proxy="http://127.0.0.1:9", http_proxy="http://127.0.0.1:9")
    first = subprocess.run(["bash", str(SCRIPT), str(tmp_path)], capture_output=True, text=True,
                           timeout=120, env=env)
    assert first.returncode == 0, first.stderr
    assert "[get ]" not in first.stdout and "layout OK" in first.stdout
    second = subprocess.run(["bash", str(SCRIPT), str(tmp_path)], capture_output=True, text=True,
                            timeout=120, env=env)
    assert second.returncode == 0 and second.stdout.count("already unpacked") == 4
    check = subprocess.run(["bash", str(SCRIPT), "--check", str(tmp_path)], capture_output=True,
                           text=True, timeout=60)
    assert check.returncode == 0, check.stderr


@pytest.mark.parametrize("split", ["train", "val"])
def test_exact_landmarks_in_retinaface_layout(dataset, split):
    """Every face has its five drawn points (eye centres, nose tip, mouth corners) in retinaface/<split>/label.txt,
    in the ground truth's order, inside its box, the image-left eye first on upright faces."""
    from eval_tools.retinaface_labels import read_retinaface_labels

    root = dataset[0]
    labels = {im.name: im for im in read_retinaface_labels(root / "retinaface" / split / "label.txt")}
    gt = _read_gt(root / "wider_face_split" / f"wider_face_{split}_bbx_gt.txt")
    assert sorted(labels) == sorted(name for name, _ in gt)
    faces = 0
    for name, rows in gt:
        im = labels[name]
        np.testing.assert_array_equal(im.boxes, rows[:, :4])
        assert im.has_points.all()
        x, y, w, h = (rows[:, i, None] for i in range(4))
        pts = im.points
        assert ((pts[..., 0] >= x - 0.1 * w) & (pts[..., 0] <= x + 1.1 * w) &
                (pts[..., 1] >= y - 0.1 * h) & (pts[..., 1] <= y + 1.1 * h)).all()
        upright = rows[:, 9] == 0  # pose flag: in-plane rotation <= 20 degrees
        assert (pts[upright, 0, 0] < pts[upright, 1, 0]).all() and (pts[upright, 3, 0] < pts[upright, 4, 0]).all()
        assert (pts[upright, 2, 1] > pts[upright, 0, 1]).all() and (pts[upright, 3, 1] > pts[upright, 2, 1]).all()
        faces += len(rows)
    assert faces > 10
