"""The bounded data-anchor-sampling crop: tiny faces, memory, equivalence with upstream."""
import random
import tracemalloc

import numpy as np
import pytest
from ppdet.data.transform import op_helper

import ppdet_face.data.transforms  # noqa: F401  (registers the operator)
from ppdet_face.data.transforms import CropWithDataAnchorSampling, crop_and_resize, data_anchor_crop_box

SCALES = [16, 32, 64, 128]
SAMPLER = [[1, 10, 1.0, 1.0, 1.0, 1.0, 0.0, 0.0, 0.2, 0.0]]
BATCH_SAMPLER = [[1, 50, 0.3, 1.0, 1.0, 1.0, 0.0, 0.0, 1.0, 0.0]]


def _seed(value):
    np.random.seed(value)
    random.seed(value)


def test_upstream_crop_side_explodes_on_a_degenerate_face():
    """The failure this operator exists for: a clipped, nearly flat 1-px face makes upstream's crop
    thousands of pixels wide, beyond our bound of 4x the image side (upstream then allocates the
    crop as a float64 canvas: 6,500 px square is 1 GB)."""
    face = [[500 / 1024, 300 / 768, 501 / 1024, 300.0005 / 768]]
    sides = []
    for seed in range(200):
        _seed(seed)
        box = op_helper.data_anchor_sampling(face, 1024, 768, np.array(SCALES), 640)
        sides.append((box[2] - box[0]) * 1024)
    assert max(sides) > 4 * 1024


@pytest.mark.parametrize("face_px", [1.0, 2.0, 0.0005])
def test_crop_side_is_bounded_for_tiny_faces(face_px):
    boxes = np.array([[500 / 1024, 300 / 768, (500 + 1.0) / 1024, (300 + face_px) / 768]])
    for seed in range(300):
        _seed(seed)
        x1, y1, x2, y2 = data_anchor_crop_box(boxes, 1024, 768, SCALES, 640, max_zoom_out=4.0)
        side = (x2 - x1) * 1024
        assert 1.0 <= side <= 4.0 * 1024 + 1e-6
        assert x1 * 1024 <= 500 + 1e-6 and y1 * 768 <= 300 + 1e-6  # the crop contains the face's corner


def test_one_pixel_face_crop_keeps_memory_bounded():
    image = np.random.default_rng(0).integers(0, 255, (768, 1024, 3)).astype(np.float32)
    op = CropWithDataAnchorSampling(batch_sampler=BATCH_SAMPLER, anchor_sampler=SAMPLER, target_size=640,
                                    sampling_prob=0.0, min_size=0.0)
    tracemalloc.start()
    for seed in range(30):
        _seed(seed)
        sample = {"image": image, "gt_bbox": np.array([[500, 300, 501, 301.0], [100, 100, 101, 100.0005]], np.float32),
                  "gt_class": np.zeros((2, 1), np.int32)}
        out = op(sample)
        assert out["image"].shape in {(640, 640, 3), (768, 1024, 3)}
        assert out["gt_bbox"].shape[1] == 4
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    assert peak < 64 * 2**20, f"peak {peak / 2**20:.0f} MiB"


def test_crop_and_resize_matches_upstream_canvas():
    rng = np.random.default_rng(3)
    image = rng.integers(0, 255, (90, 120, 3)).astype(np.float64)
    for box in ([-0.5, -0.25, 1.5, 1.25], [0.1, 0.2, 0.6, 0.7], [0.5, 0.5, 2.0, 2.0]):
        ours = crop_and_resize(image, box, 64)
        ref = op_helper.crop_image_sampling(image, box, 120, 90, 64)
        # the same picture up to the border rounding of the pasted part
        inner = np.s_[4:-4, 4:-4]
        assert np.mean(np.abs(ours[inner] - ref[inner])) < 12.0
        assert ours.dtype == np.float32 and ours.shape == (64, 64, 3)


def test_batch_branch_and_faces_in_output_pixels():
    image = np.zeros((400, 600, 3), np.float32)
    boxes = np.array([[100, 100, 200, 200], [300, 150, 340, 190]], np.float32)
    op = CropWithDataAnchorSampling(batch_sampler=BATCH_SAMPLER, anchor_sampler=SAMPLER, target_size=640,
                                    sampling_prob=1.0)
    _seed(1)
    out = op({"image": image, "gt_bbox": boxes.copy(), "gt_class": np.zeros((2, 1), np.int32)})
    h, w = out["image"].shape[:2]
    assert abs(h - w) <= 1 and max(h, w) <= 400  # square up to rounding, resized later by Resize
    assert np.all(out["gt_bbox"][:, 2] <= w + 1e-3) and np.all(out["gt_bbox"][:, 3] <= h + 1e-3)
    assert len(out["gt_class"]) == len(out["gt_bbox"]) >= 1


def test_options_are_validated():
    with pytest.raises(ValueError, match="sampling_prob"):
        CropWithDataAnchorSampling(batch_sampler=BATCH_SAMPLER, sampling_prob=2.0)
    with pytest.raises(ValueError, match="max_zoom_out"):
        CropWithDataAnchorSampling(batch_sampler=BATCH_SAMPLER, max_zoom_out=0)
