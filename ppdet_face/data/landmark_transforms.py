"""Reader operators that move each face's landmarks with its image, for the landmark configs
(``configs/face_detection/blazeface_fpn_ssh_kps_*.yml``).

Landmarks travel in the sample as ``gt_landmarks``: float32 ``[G, 2P]`` ``x, y`` pairs per face (pixels, then
normalised by ``KpsNormalizeBox``), NaN for a face without landmarks (the loss masks it). Each ``Kps<Op>`` is
ppdet's ``<Op>`` with the same arguments, which also moves the points; ``CropWithDataAnchorSampling``
(:mod:`ppdet_face.data.transforms`) carries them itself. ppdet's own keypoint support does not fit: its flip
mirrors x without exchanging left and right points, its crop clamps points into the crop, and its expand, resize
and padding ignore them.
"""
import numpy as np
from ppdet.data.transform.batch_operators import PadGT
from ppdet.data.transform.operators import NormalizeBox, PadBox, RandomExpand, RandomFlip, Resize

from .transforms import register_transform

__all__ = ["FIVE_POINT_FLIP", "flip_points", "KpsRandomFlip", "KpsRandomExpand", "KpsResize", "KpsNormalizeBox",
           "KpsPadBox", "KpsPadGT"]

#: Where each of the five points (``eval_tools.landmarks.FIVE_POINTS``: image-left eye, image-right eye, nose,
#: image-left mouth corner, image-right mouth corner) goes in a horizontally flipped image.
FIVE_POINT_FLIP = (1, 0, 2, 4, 3)


def _pairs(points):
    return np.asarray(points, np.float32).reshape(len(points), -1, 2)


def flip_points(points, width, order=FIVE_POINT_FLIP):
    """``points`` [G, 2P] of an image ``width`` pixels wide, in the horizontally flipped image: x mirrored as
    ppdet's box flip does (``width - x``) and the points re-ordered by ``order`` (left and right exchanged)."""
    pairs = _pairs(points).copy()
    if pairs.shape[1] != len(order):
        raise ValueError(f"flip order {order} is for {len(order)} points, the faces have {pairs.shape[1]}")
    pairs[:, :, 0] = width - pairs[:, :, 0]
    return pairs[:, list(order)].reshape(len(points), -1)


def _scaled(points, sx, sy):
    return (_pairs(points) * np.array([sx, sy], np.float32)).reshape(len(points), -1)


@register_transform
class KpsRandomFlip(RandomFlip):
    """ppdet's ``RandomFlip`` that also flips ``gt_landmarks`` (:func:`flip_points`)."""

    def apply(self, sample, context=None):
        width, was_flipped = sample["image"].shape[1], sample.get("flipped", False)
        sample = super().apply(sample, context)
        if sample.get("flipped", False) and not was_flipped and len(sample.get("gt_landmarks", ())):
            sample["gt_landmarks"] = flip_points(sample["gt_landmarks"], width)
        return sample


@register_transform
class KpsRandomExpand(RandomExpand):
    """ppdet's ``RandomExpand`` that also shifts ``gt_landmarks`` by the offset its boxes moved."""

    def apply(self, sample, context=None):
        before = np.array(sample["gt_bbox"][:1], np.float32) if len(sample.get("gt_bbox", ())) else None
        sample = super().apply(sample, context)
        if before is not None and len(sample.get("gt_landmarks", ())):
            shift = np.asarray(sample["gt_bbox"][0, :2], np.float32) - before[0, :2]
            sample["gt_landmarks"] = (_pairs(sample["gt_landmarks"]) + shift).reshape(len(sample["gt_landmarks"]), -1)
        return sample


@register_transform
class KpsResize(Resize):
    """ppdet's ``Resize`` that also scales ``gt_landmarks``."""

    def apply(self, sample, context=None):
        h0, w0 = sample["image"].shape[:2]
        sample = super().apply(sample, context)
        if len(sample.get("gt_landmarks", ())):
            h1, w1 = sample["image"].shape[:2]
            sample["gt_landmarks"] = _scaled(sample["gt_landmarks"], w1 / w0, h1 / h0)
        return sample


@register_transform
class KpsNormalizeBox(NormalizeBox):
    """ppdet's ``NormalizeBox`` that also divides ``gt_landmarks`` by the image width and height."""

    def apply(self, sample, context=None):
        h, w = sample["image"].shape[:2]
        if len(sample.get("gt_landmarks", ())):
            sample["gt_landmarks"] = _scaled(sample["gt_landmarks"], 1.0 / w, 1.0 / h)
        return super().apply(sample, context)


def _pad_points(sample, rows):
    """Pad (or cut) ``sample['gt_landmarks']`` to ``rows`` faces with NaN rows (no landmarks)."""
    points = np.asarray(sample["gt_landmarks"], np.float32)
    out = np.full((rows, points.shape[1] if points.ndim == 2 else 10), np.nan, np.float32)
    n = min(rows, len(points))
    out[:n] = points[:n]
    sample["gt_landmarks"] = out


@register_transform
class KpsPadBox(PadBox):
    """ppdet's ``PadBox`` that pads ``gt_landmarks`` to ``num_max_boxes`` rows too (NaN: no landmarks)."""

    def apply(self, sample, context=None):
        sample = super().apply(sample, context)
        if "gt_landmarks" in sample:
            _pad_points(sample, self.num_max_boxes)
        return sample


@register_transform
class KpsPadGT(PadGT):
    """ppdet's ``PadGT`` (a batch transform) that pads ``gt_landmarks`` like ``gt_bbox`` (NaN: no landmarks)."""

    def __call__(self, samples, context=None):
        samples = super().__call__(samples, context)
        for sample in samples:
            if "gt_landmarks" in sample:
                _pad_points(sample, len(sample["gt_bbox"]))
        return samples
