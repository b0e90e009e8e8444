"""Landmarks travel with their faces: the dataset's label.txt matching, and every reader op of the landmark configs
(flip exchanges left and right, expand / crop / resize / normalise move the points as the boxes, padding is NaN)."""
import numpy as np
import pytest

from eval_tools.retinaface_labels import LabelledImage, write_retinaface_labels
from ppdet_face.data import WIDERFaceDetDataset
from ppdet_face.data.landmark_transforms import (
    KpsNormalizeBox,
    KpsPadBox,
    KpsPadGT,
    KpsRandomExpand,
    KpsRandomFlip,
    KpsResize,
    flip_points,
)
from ppdet_face.data.transforms import CropWithDataAnchorSampling, crop_points
from ppdet_face.data.wider import landmarks_for_boxes

BOX = [40.0, 30.0, 100.0, 110.0]  # x1, y1, x2, y2
REL = np.array([[0.3, 0.4], [0.7, 0.4], [0.5, 0.6], [0.35, 0.8], [0.65, 0.8]])  # left eye, right eye, nose, mouth


def _points(box=BOX):
    x1, y1, x2, y2 = box
    return (np.array([x1, y1]) + REL * [x2 - x1, y2 - y1]).reshape(1, 10).astype(np.float32)


def _sample(h=120, w=160):
    image = np.random.default_rng(0).uniform(0, 255, (h, w, 3)).astype(np.float32)
    return {"image": image, "gt_bbox": np.array([BOX], np.float32), "gt_class": np.zeros((1, 1), np.int32),
            "gt_landmarks": _points()}


def _relative(sample):
    """The points of face 0 relative to its box (0..1), left eye first: what every op must preserve."""
    x1, y1, x2, y2 = sample["gt_bbox"][0]
    return (sample["gt_landmarks"][0].reshape(5, 2) - [x1, y1]) / [x2 - x1, y2 - y1]


def test_flip_mirrors_x_and_exchanges_left_and_right():
    flipped = flip_points(_points(), 160).reshape(5, 2)
    assert flipped[0, 0] == pytest.approx(160 - _points()[0, 2])   # new left eye: the old right eye, mirrored
    assert flipped[0, 0] < flipped[1, 0] and flipped[3, 0] < flipped[4, 0]
    assert np.isnan(flip_points(np.full((1, 10), np.nan), 160)).all()
    with pytest.raises(ValueError, match="for 5 points, the faces have 2"):
        flip_points(np.zeros((1, 4)), 160)


def test_flip_keeps_the_points_on_the_flipped_face():
    out = KpsRandomFlip(prob=1.0)(_sample())
    assert out["flipped"]
    np.testing.assert_allclose(_relative(out), [[0.3, 0.4], [0.7, 0.4], [0.5, 0.6], [0.35, 0.8], [0.65, 0.8]],
                               atol=1e-5)
    assert KpsRandomFlip(prob=0.0)(_sample())["gt_landmarks"].tolist() == _points().tolist()


# ppdet's RandomExpand skips with probability `prob`
@pytest.mark.parametrize("op", [KpsRandomExpand(ratio=3.0, prob=0.0),
                                KpsResize(target_size=[200, 90], keep_ratio=False, interp=1)],
                         ids=["expand", "resize"])
def test_expand_and_resize_move_points_with_the_box(op):
    np.random.seed(3)
    out = op(_sample())
    assert out["image"].shape[:2] != (120, 160)
    np.testing.assert_allclose(_relative(out), REL, atol=1e-4)


def test_normalize_divides_points_by_the_image_size():
    out = KpsNormalizeBox()(_sample())
    np.testing.assert_allclose(out["gt_landmarks"], _points() / np.tile([160, 120], 5), rtol=1e-6)
    np.testing.assert_allclose(_relative(out), REL, atol=1e-5)


def test_padding_adds_nan_rows():
    out = KpsPadBox(num_max_boxes=4)(_sample())
    assert out["gt_landmarks"].shape == (4, 10) and np.isnan(out["gt_landmarks"][1:]).all()
    batch = KpsPadGT()([_sample(), {**_sample(), "gt_bbox": np.zeros((0, 4), np.float32),
                                    "gt_class": np.zeros((0, 1), np.int32),
                                    "gt_landmarks": np.zeros((0, 10), np.float32)}])
    assert [s["gt_landmarks"].shape for s in batch] == [(1, 10), (1, 10)] and np.isnan(batch[1]["gt_landmarks"]).all()


def test_crop_points_maps_as_the_boxes():
    points = np.array([[20.0, 30.0, np.nan, np.nan]], np.float32)
    out = crop_points(points, (200, 100), [0.1, 0.2, 0.6, 0.7], (50, 25))
    np.testing.assert_allclose(out[0, :2], [(0.1 - 0.1) / 0.5 * 50, (0.3 - 0.2) / 0.5 * 25], atol=1e-5)
    assert np.isnan(out[0, 2:]).all()


def test_data_anchor_crop_keeps_each_kept_faces_points():
    boxes = np.array([[20, 20, 60, 70], [200, 40, 230, 80], [300, 200, 380, 290]], np.float32)
    for seed in range(20):
        np.random.seed(seed)
        sample = {"image": np.zeros((320, 480, 3), np.float32), "gt_bbox": boxes.copy(),
                  "gt_class": np.arange(3, dtype=np.int32).reshape(-1, 1),  # the class tells which face is kept
                  "gt_landmarks": np.concatenate([_points(b) for b in boxes])}
        out = CropWithDataAnchorSampling(batch_sampler=[[1, 50, 0.3, 1.0, 1.0, 1.0, 0.0, 0.0, 1.0, 0.0]],
                                         anchor_sampler=[[1, 10, 1.0, 1.0, 1.0, 1.0, 0.0, 0.0, 0.2, 0.0]],
                                         target_size=160)(sample)
        assert len(out["gt_landmarks"]) == len(out["gt_bbox"]) == len(out["gt_class"])
        for face in range(len(out["gt_bbox"])):
            x1, y1, x2, y2 = out["gt_bbox"][face]
            if x1 <= 0.5 or y1 <= 0.5 or x2 >= out["image"].shape[1] - 1 or y2 >= out["image"].shape[0] - 1:
                continue  # a box cut by the crop edge no longer spans the face its points were placed in
            rel = (out["gt_landmarks"][face].reshape(5, 2) - [x1, y1]) / [x2 - x1, y2 - y1]
            np.testing.assert_allclose(rel, REL, atol=0.02)


def test_landmarks_for_boxes_takes_the_twin_box_or_none():
    labelled = LabelledImage("a/1.jpg", np.array([[10.0, 10, 20, 20], [50, 50, 30, 30]]),
                             np.stack([np.arange(10.0).reshape(5, 2), np.full((5, 2), np.nan)]),
                             np.array([0.9, np.nan]))
    out = landmarks_for_boxes(labelled, np.array([[10.2, 9.8, 20, 20], [50, 50, 30, 30], [0, 0, 5, 5]]))
    assert out[0].tolist() == list(range(10)) and np.isnan(out[1:]).all()
    assert np.isnan(landmarks_for_boxes(None, np.zeros((2, 4)))).all()


def test_dataset_reads_the_landmark_file(tmp_path):
    import cv2

    (tmp_path / "images" / "a").mkdir(parents=True)
    cv2.imwrite(str(tmp_path / "images" / "a" / "1.jpg"), np.zeros((100, 100, 3), np.uint8))
    (tmp_path / "gt.txt").write_text("a/1.jpg\n2\n10 10 20 20 0 0 0 0 0 0\n50 50 30 30 0 0 0 0 0 0\n")
    write_retinaface_labels(tmp_path / "label.txt", [LabelledImage(
        "a/1.jpg", np.array([[10.0, 10, 20, 20]]), np.arange(10.0).reshape(1, 5, 2) + 10, np.array([1.0]))])
    ds = WIDERFaceDetDataset(dataset_dir=str(tmp_path), image_dir="images", anno_path="gt.txt",
                             landmark_path="label.txt")
    ds.parse_dataset()
    points = ds.roidbs[0]["gt_landmarks"]
    assert points.shape == (2, 10) and points[0].tolist() == list(range(10, 20)) and np.isnan(points[1]).all()
    missing = WIDERFaceDetDataset(dataset_dir=str(tmp_path), image_dir="images", anno_path="gt.txt",
                                  landmark_path="nope.txt")
    with pytest.raises(FileNotFoundError, match="landmark file not found: .*nope.txt .*tools/label_landmarks.py"):
        missing.parse_dataset()
