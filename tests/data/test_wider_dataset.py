"""WIDER annotation parsing and the training dataset on bad input."""
import logging

import cv2
import numpy as np
import pytest

from ppdet_face.data import AnnotationError, WIDERFaceDetDataset, parse_wider_annotations


def _write(tmp_path, text):
    path = tmp_path / "gt.txt"
    path.write_text(text)
    return path


def test_parses_faces_zero_face_quirk_and_drops_degenerate_boxes(tmp_path):
    path = _write(tmp_path, "a/1.jpg\n2\n1 2 10 12 0 0 0 0 0 0\n5 5 0 7 0 0 0 0 0 0\n"
                            "a/2.jpg\n0\n0 0 0 0 0 0 0 0 0 0\n"
                            "a/3.jpg\n1\n3 4 -2 5 0 0 0 0 0 0\n")
    records, stats = parse_wider_annotations(path)
    assert [r["name"] for r in records] == ["a/1.jpg", "a/2.jpg", "a/3.jpg"]
    assert records[0]["boxes"].tolist() == [[1, 2, 10, 12]]
    assert records[1]["boxes"].shape == (0, 4) and records[2]["boxes"].shape == (0, 4)
    assert stats == {"images": 3, "faces": 1, "dropped": 2}


@pytest.mark.parametrize("text,line,message", [
    ("a/1.jpg\nx\n", 2, "face count"),
    ("a/1.jpg\n3\n1 2 3 4\n", 4, "declares 3 faces"),
    ("a/1.jpg\n1\n1 2 oops 4\n", 3, "must be numbers"),
    ("a/1.jpg\n1\n1 2\n", 3, "expected 'x y w h"),
    ("not-an-image\n1\n", 1, "expected an image path"),
    ("a/1.jpg\n-2\n", 2, "negative face count -2"),
])
def test_malformed_annotations_name_file_and_line(tmp_path, text, line, message):
    path = _write(tmp_path, text)
    with pytest.raises(AnnotationError, match=message) as err:
        parse_wider_annotations(path)
    assert f"{path}:{line}:" in str(err.value)


def _dataset(tmp_path, names_and_boxes):
    img_dir = tmp_path / "images"
    (img_dir / "e").mkdir(parents=True)
    lines = []
    for name, boxes in names_and_boxes:
        lines += [f"e/{name}", str(len(boxes))] + [f"{x} {y} {w} {h} 0 0 0 0 0 0" for x, y, w, h in boxes]
        if not boxes:
            lines.append("0 0 0 0 0 0 0 0 0 0")
    (tmp_path / "gt.txt").write_text("\n".join(lines) + "\n")
    ds = WIDERFaceDetDataset(dataset_dir=str(tmp_path), image_dir="images", anno_path="gt.txt")
    ds.parse_dataset()
    ds.set_transform(lambda sample: sample)
    return ds, img_dir / "e"


def test_bad_images_are_skipped_with_a_count(tmp_path):
    ds, d = _dataset(tmp_path, [("good.jpg", [(1, 1, 10, 10)]), ("empty.jpg", [(1, 1, 5, 5)]),
                                ("text.jpg", []), ("missing.jpg", [(2, 2, 4, 4)]), ("gray.png", [])])
    cv2.imwrite(str(d / "good.jpg"), np.zeros((32, 32, 3), np.uint8))
    (d / "empty.jpg").write_bytes(b"")
    (d / "text.jpg").write_text("hello")
    cv2.imwrite(str(d / "gray.png"), np.zeros((16, 24), np.uint8))
    samples = [ds[i] for i in range(len(ds))]
    # every index yields a usable sample: bad ones are replaced by the next good image
    assert [s["image"].shape for s in samples] == [(32, 32, 3), (16, 24, 3), (16, 24, 3), (16, 24, 3), (16, 24, 3)]
    assert ds.bad_images == 3
    assert samples[0]["gt_bbox"].tolist() == [[1, 1, 11, 11]]


def test_an_image_with_1500_faces_keeps_all_of_them(tmp_path):
    boxes = [(x * 10 % 990, x // 99 * 10, 8, 8) for x in range(1500)]
    ds, d = _dataset(tmp_path, [("crowd.jpg", boxes)])
    cv2.imwrite(str(d / "crowd.jpg"), np.zeros((200, 1000, 3), np.uint8))
    assert ds[0]["gt_bbox"].shape == (1500, 4)


def test_num_max_boxes_truncation_is_reported(tmp_path):
    from ppdet_face.engine.trainer import check_num_max_boxes

    ds, _ = _dataset(tmp_path, [("a.jpg", [(1, 1, 5, 5)] * 120), ("b.jpg", [(1, 1, 5, 5)])])
    msg = check_num_max_boxes(ds, {"sample_transforms": [{"PadBox": {"num_max_boxes": 90}}]})
    assert "1 training images have more than num_max_boxes=90 faces (up to 120)" in msg
    assert "30 of 121 faces are dropped" in msg
    assert check_num_max_boxes(ds, {"sample_transforms": [{"PadBox": {"num_max_boxes": 200}}]}) is None
    assert check_num_max_boxes(ds, {"sample_transforms": [], "batch_transforms": [{"PadGT": {}}]}) is None


class _Records(logging.Handler):
    def __init__(self):
        super().__init__(logging.DEBUG)
        self.records = []

    def emit(self, record):
        self.records.append(record)


@pytest.fixture
def data_log():
    logger = logging.getLogger("ppdet_face.data")
    handler, level = _Records(), logger.level
    logger.addHandler(handler)
    logger.setLevel(logging.DEBUG)
    yield handler.records
    logger.removeHandler(handler)
    logger.setLevel(level)


def test_boxes_outside_the_image_are_clipped_or_dropped_and_counted(tmp_path, data_log):
    ds, d = _dataset(tmp_path, [
        ("a.jpg", [(10, 10, 20, 20),      # inside: unchanged
                   (-5, 30, 20, 10),      # crosses the left edge: clipped to x1=0
                   (90, 50, 30, 30),      # crosses right and bottom edges: clipped to 100 x 60
                   (150, 10, 10, 10),     # entirely right of the image: dropped
                   (100, 0, 5, 5)]),      # starts on the right edge: no area left, dropped
        ("b.jpg", [(1, 1, 5, 5)]),
        ("c.jpg", [(0, 0, 500, 500)])])   # covers the image: clipped
    for name in ("a.jpg", "b.jpg", "c.jpg"):
        cv2.imwrite(str(d / name), np.zeros((60, 100, 3), np.uint8))
    sample = ds[0]
    assert sample["gt_bbox"].tolist() == [[10, 10, 30, 30], [0, 30, 15, 40], [90, 50, 100, 60]]
    assert sample["gt_class"].shape == (3, 1)
    assert ds.clipped_boxes == 2 and ds.dropped_boxes == 2
    debug = [r.getMessage() for r in data_log if r.levelno == logging.DEBUG]
    assert len(debug) == 1 and "a.jpg: 2 boxes clipped to the 100x60 image, 2 outside it dropped" in debug[0]
    assert not [r for r in data_log if r.levelno == logging.WARNING]  # the total waits for a full pass
    ds[0]  # the same image again: not counted twice
    assert ds.clipped_boxes == 2 and ds.dropped_boxes == 2
    assert ds[1]["gt_bbox"].tolist() == [[1, 1, 6, 6]]
    assert ds[2]["gt_bbox"].tolist() == [[0, 0, 100, 60]]
    for i in range(3):  # a second epoch: no new log lines
        ds[i]
    warnings = [r.getMessage() for r in data_log if r.levelno == logging.WARNING]
    assert warnings == [f"{tmp_path / 'gt.txt'}: 3 boxes reached outside their image and were clipped to it, "
                        "2 lay entirely outside and were dropped (DEBUG logging of ppdet_face.data names the images)"]
    assert len([r for r in data_log if r.levelno == logging.DEBUG]) == 2  # a.jpg and c.jpg, once each


def test_box_totals_need_every_image_once_even_if_some_are_unreadable(tmp_path, data_log):
    ds, d = _dataset(tmp_path, [("a.jpg", [(-4, 0, 10, 10)]), ("broken.jpg", [(1, 1, 4, 4)])])
    cv2.imwrite(str(d / "a.jpg"), np.zeros((32, 32, 3), np.uint8))
    (d / "broken.jpg").write_text("not an image")
    ds[0]
    assert not [r for r in data_log if r.levelno == logging.WARNING]
    ds[1]  # unreadable: replaced by a.jpg, but counted as seen
    warnings = [r.getMessage() for r in data_log if r.levelno == logging.WARNING]
    assert any("1 boxes reached outside their image" in w for w in warnings)
    assert any("skipping unusable image" in w for w in warnings)
    assert ds.clipped_boxes == 1 and ds.dropped_boxes == 0


def test_clipping_is_counted_across_dataloader_workers(tmp_path):
    import multiprocessing

    ds, d = _dataset(tmp_path, [(f"{i}.jpg", [(-3, -3, 10, 10), (200, 200, 5, 5)]) for i in range(4)])
    for i in range(4):
        cv2.imwrite(str(d / f"{i}.jpg"), np.zeros((24, 24, 3), np.uint8))
    ctx = multiprocessing.get_context("fork")
    procs = [ctx.Process(target=lambda idx=idx: [ds[i] for i in idx]) for idx in ([0, 1], [2, 3, 0])]
    for p in procs:
        p.start()
    for p in procs:
        p.join(30)
    assert [p.exitcode for p in procs] == [0, 0]
    assert ds.clipped_boxes == 4 and ds.dropped_boxes == 4


def test_train_tool_reports_a_malformed_annotation_in_one_line(tmp_path):
    import os
    import subprocess
    import sys

    from helpers import CONFIGS, REPO
    from ppdet_face.data.synthetic import generate_wider_dataset

    generate_wider_dataset(tmp_path, num_train=2, num_val=1, seed=0, image_size=(64, 64), progress=False)
    anno = tmp_path / "wider_face_split" / "wider_face_train_bbx_gt.txt"
    n_lines = len(anno.read_text().splitlines())
    with open(anno, "a") as f:
        f.write("0--Parade/extra.jpg\n3\n1 2 3 4 0 0 0 0 0 0\n")
    env = dict(os.environ, PYTHONWARNINGS="ignore", GLOG_minloglevel="2")
    proc = subprocess.run([sys.executable, str(REPO / "tools" / "train.py"), "-c",
                           str(CONFIGS / "face_detection" / "blazeface_fpn_ssh_demo.yml"), "-o",
                           f"TrainDataset.dataset_dir={tmp_path}", "worker_num=0", f"save_dir={tmp_path / 'out'}"],
                          cwd=REPO, env=env, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 1 and "Traceback" not in proc.stderr
    assert proc.stderr.strip().splitlines()[-1] == (
        f"error: {anno}:{n_lines + 4}: '0--Parade/extra.jpg' declares 3 faces but the file has fewer lines")


def test_a_wrong_image_dir_fails_before_training(tmp_path):
    (tmp_path / "gt.txt").write_text("e/a.jpg\n1\n1 1 5 5 0 0 0 0 0 0\ne/b.jpg\n0\n0 0 0 0 0 0 0 0 0 0\n")
    ds = WIDERFaceDetDataset(dataset_dir=str(tmp_path), image_dir="imgs", anno_path="gt.txt")
    ds.parse_dataset()
    with pytest.raises(FileNotFoundError, match=r"none of the 2 images listed in .*gt.txt exists under .*imgs"):
        ds.check_images_exist()
    (tmp_path / "imgs" / "e").mkdir(parents=True)
    cv2.imwrite(str(tmp_path / "imgs" / "e" / "b.jpg"), np.zeros((16, 16, 3), np.uint8))
    ds.check_images_exist()  # one image is enough


def test_images_that_exist_but_none_decodes_fail_before_training(tmp_path):
    """E.g. Git LFS pointer files named .jpg: the DataLoader would raise (and hang with worker_num 0)."""
    import os
    import subprocess
    import sys

    from helpers import CONFIGS, REPO
    from ppdet_face.data import BadImageError
    from ppdet_face.data.synthetic import generate_wider_dataset

    generate_wider_dataset(tmp_path, num_train=3, num_val=1, seed=0, image_size=(64, 64), progress=False)
    train = sorted((tmp_path / "WIDER_train" / "images").rglob("*.jpg"))
    assert len(train) == 3
    for f in train:
        f.write_text("version https://git-lfs.github.com/spec/v1\noid sha256:0\nsize 1\n")
    ds = WIDERFaceDetDataset(dataset_dir=str(tmp_path), image_dir="WIDER_train/images",
                             anno_path="wider_face_split/wider_face_train_bbx_gt.txt")
    ds.parse_dataset()
    with pytest.raises(BadImageError, match=r"none of the 3 images listed in .*train_bbx_gt.txt is usable "
                                             r"\(first: .*\.jpg: not a decodable image \(\d+ bytes\)\)"):
        ds.check_images_exist()
    env = dict(os.environ, PYTHONWARNINGS="ignore", GLOG_minloglevel="2")
    proc = subprocess.run([sys.executable, str(REPO / "tools" / "train.py"), "-c",
                           str(CONFIGS / "face_detection" / "blazeface_fpn_ssh_demo.yml"), "-o",
                           f"TrainDataset.dataset_dir={tmp_path}", "worker_num=0", f"save_dir={tmp_path / 'out'}"],
                          cwd=REPO, env=env, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 1 and "Traceback" not in proc.stderr, proc.stderr[-2000:]
    last = proc.stderr.strip().splitlines()[-1]
    assert last.startswith("error: none of the 3 images listed in ") and "is usable (first: " in last, last
    cv2.imwrite(str(train[1]), np.zeros((16, 16, 3), np.uint8))
    ds.check_images_exist()  # one usable image is enough (the others are skipped while training)


def test_train_tool_missing_dataset_dir_is_one_line(tmp_path):
    import os
    import subprocess
    import sys

    from helpers import CONFIGS, REPO

    env = dict(os.environ, PYTHONWARNINGS="ignore", GLOG_minloglevel="2")
    missing = tmp_path / "no_such_dataset"
    proc = subprocess.run([sys.executable, str(REPO / "tools" / "train.py"), "-c",
                           str(CONFIGS / "face_detection" / "blazeface_fpn_ssh_demo.yml"), "-o",
                           f"TrainDataset.dataset_dir={missing}", "worker_num=0", f"save_dir={tmp_path / 'out'}"],
                          cwd=REPO, env=env, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 1 and "Traceback" not in proc.stderr, proc.stderr[-2000:]
    assert proc.stderr.strip().splitlines()[-1] == (
        f"error: Dataset {missing} is not valid for reason above, please check again.")
    assert f"Config dataset_dir {missing} is not exits" in proc.stdout + proc.stderr


def test_real_data_reader_keeps_all_709_faces_of_a_crowd(tmp_path):
    """The wider_real config's reader (its batch padding, with a deterministic resize instead of the
    random crop) delivers every face of a 709-face image next to a 1-face image: nothing truncated."""
    from ppdet.core.workspace import create

    from helpers import CONFIGS
    from ppdet_face.engine import load_config
    from ppdet_face.engine.trainer import check_num_max_boxes

    crowd = [(x * 14 % 980, x // 70 * 14, 10, 10) for x in range(709)]
    _, d = _dataset(tmp_path, [("crowd.jpg", crowd), ("one.jpg", [(10, 10, 50, 50)])])
    cv2.imwrite(str(d / "crowd.jpg"), np.full((160, 1000, 3), 128, np.uint8))
    cv2.imwrite(str(d / "one.jpg"), np.full((100, 100, 3), 128, np.uint8))
    cfg = load_config(str(CONFIGS / "face_detection" / "blazeface_fpn_ssh_wider_real.yml"), [
        f"TrainDataset.dataset_dir={tmp_path}", "TrainDataset.image_dir=images", "TrainDataset.anno_path=gt.txt",
        "TrainReader.shuffle=false", "TrainReader.batch_size=2",
        "TrainReader.sample_transforms=[{Decode: {}}, {Resize: {target_size: [320, 320], keep_ratio: false}}, "
        "{NormalizeBox: {}}]"])
    dataset = cfg["TrainDataset"]
    dataset.parse_dataset()
    assert check_num_max_boxes(dataset, cfg["TrainReader"]) is None  # 0 faces truncated
    batch = next(iter(create("TrainReader")(dataset, 0)))
    boxes = batch["gt_bbox"].numpy()
    real = (boxes[..., 2] > boxes[..., 0]).sum(axis=1)
    assert boxes.shape[1] == 709 and sorted(real.tolist()) == [1, 709]
