"""Training transforms registered into ppdet's operator namespace.

``CropWithDataAnchorSampling`` replaces ppdet's ``CropWithDataAchorSampling`` (sic) for WIDER-like
data. Upstream's data-anchor branch picks one face, draws a target face size from the anchor scales
and makes the crop ``face_width * target_size / chosen_size`` pixels wide. For a face of 1-2 px (or a
box made thin by clipping) the chosen size can be far below 1 px, so the crop becomes tens of
thousands of pixels wide; upstream then allocates it as a float64 canvas before resizing it down
(a 53,081 x 53,082 x 3 array: 63 GiB). Here the crop side is bounded (``max_zoom_out`` times the
longer image side) and the crop is resized straight into ``target_size`` from the part of the image
it covers, so memory never depends on the crop's nominal size. Everything else follows upstream
(the same samplers, constraints and box filtering, taken from ``ppdet.data.transform.op_helper``).
"""
import math
import random

import cv2
import numpy as np
import ppdet.data.transform as ppdet_transform
from ppdet.data.transform import op_helper
from ppdet.data.transform.operators import BaseOperator, register_op

__all__ = ["CropWithDataAnchorSampling", "data_anchor_crop_box", "crop_and_resize", "crop_points", "register_transform"]


def register_transform(cls):
    """Register ``cls`` as a ppdet reader operator (usable by name in ``sample_transforms``)."""
    cls = register_op(cls)
    setattr(ppdet_transform, cls.__name__, cls)  # the reader looks ops up on this package
    return cls


def _chosen_face_size(face_w, face_h, scales):
    """Upstream's draw of the face size (in ``target_size`` pixels) that the crop should produce."""
    area = face_w * face_h
    range_size = 0
    for i in range(len(scales) - 1):
        if scales[i] ** 2 < area < scales[i + 1] ** 2:
            range_size = i + 1
            break
    if area > scales[-2] ** 2:
        range_size = len(scales) - 2
    idx = 0 if range_size == 0 else np.random.randint(0, range_size + 1)
    low = scales[idx] / 2.0
    high = 2.0 * scales[idx]
    if idx == range_size:
        high = min(high, 2.0 * math.sqrt(area))
    return random.uniform(low, high)


def data_anchor_crop_box(boxes, image_w, image_h, scales, target_size, max_zoom_out=4.0):
    """One data-anchor-sampling crop (square, in normalised image coordinates), or None.

    A random face is picked; the crop is sized so that this face becomes a random anchor-like
    size after resizing the crop to ``target_size``, and placed so that it contains the face.

    Args:
        boxes (np.ndarray): [N, 4] normalised x1, y1, x2, y2.
        image_w (int): image width in pixels.
        image_h (int): image height in pixels.
        scales (Sequence[float]): anchor scales to sample from (ppdet's ``das_anchor_scales``).
        target_size (int): side of the network input the crop is resized to.
        max_zoom_out (float): the crop side is at most this times the longer image side (upstream
            has no bound). Default: 4.0.

    Returns:
        list[float] | None: ``[x1, y1, x2, y2]`` normalised (may reach outside [0, 1]); None when
        there is no face.
    """
    if len(boxes) == 0:
        return None
    x1, y1, x2, y2 = boxes[np.random.randint(0, len(boxes))]
    face_w, face_h = (x2 - x1) * image_w, (y2 - y1) * image_h
    chosen = max(_chosen_face_size(face_w, face_h, scales), 1e-6)
    side = min(face_w * target_size / chosen, max_zoom_out * max(image_w, image_h))
    side = max(side, 1.0)
    left, top = x1 * image_w, y1 * image_h
    if side < max(image_w, image_h):
        off_x = np.random.uniform(*sorted((left + face_w - side, left)))
        off_y = np.random.uniform(*sorted((top + face_h - side, top)))
    else:
        off_x = np.random.uniform(*sorted((image_w - side, 0.0)))
        off_y = np.random.uniform(*sorted((image_h - side, 0.0)))
    off_x, off_y = math.floor(off_x), math.floor(off_y)
    return [off_x / image_w, off_y / image_h, (off_x + side) / image_w, (off_y + side) / image_h]


def crop_and_resize(image, crop_box, target_size, fill=0.0):
    """Cut ``crop_box`` (normalised, may reach outside the image) and resize it to a square image.

    Equivalent to upstream's ``crop_image_sampling`` (zero canvas of the crop's size, image pasted,
    area-resized), but only the part of the image inside the crop is resized, and it is pasted into
    a ``target_size`` canvas: memory is O(image + target_size^2) whatever the crop's size.

    Args:
        image (np.ndarray): HWC image.
        crop_box (Sequence[float]): normalised x1, y1, x2, y2.
        target_size (int): output side.
        fill (float): value outside the image. Default: 0.0 (as upstream).

    Returns:
        np.ndarray: float32 [target_size, target_size, C].
    """
    h, w = image.shape[:2]
    x1, y1 = int(crop_box[0] * w), int(crop_box[1] * h)
    x2, y2 = int(crop_box[2] * w), int(crop_box[3] * h)
    sx, sy = target_size / max(x2 - x1, 1), target_size / max(y2 - y1, 1)
    out = np.full((target_size, target_size, image.shape[2]), fill, np.float32)
    cx1, cy1, cx2, cy2 = max(x1, 0), max(y1, 0), min(x2, w), min(y2, h)
    if cx2 <= cx1 or cy2 <= cy1:
        return out
    ox1, oy1 = round((cx1 - x1) * sx), round((cy1 - y1) * sy)
    ox2 = min(max(round((cx2 - x1) * sx), ox1 + 1), target_size)
    oy2 = min(max(round((cy2 - y1) * sy), oy1 + 1), target_size)
    if ox2 <= ox1 or oy2 <= oy1:
        return out
    part = np.ascontiguousarray(image[cy1:cy2, cx1:cx2], dtype=np.float32)
    out[oy1:oy2, ox1:ox2] = cv2.resize(part, (ox2 - ox1, oy2 - oy1), interpolation=cv2.INTER_AREA).reshape(
        oy2 - oy1, ox2 - ox1, -1)
    return out


def crop_points(points, image_wh, crop_box, out_wh):
    """``points`` [G, 2P] (``x, y`` pixels of an image of size ``image_wh``) in the pixels of the crop
    ``crop_box`` (normalised x1, y1, x2, y2) resized to ``out_wh``, as ``filter_and_process`` maps the boxes
    (points outside the crop are kept, NaN stays NaN)."""
    pairs = np.asarray(points, np.float64).reshape(len(points), -1, 2) / np.asarray(image_wh, np.float64)
    lo, span = np.asarray(crop_box[:2], np.float64), np.asarray(crop_box[2:4], np.float64) - crop_box[:2]
    return ((pairs - lo) / span * np.asarray(out_wh, np.float64)).reshape(len(points), -1).astype(np.float32)


@register_transform
class CropWithDataAnchorSampling(BaseOperator):
    """PyramidBox-style crop: data-anchor sampling or square random crops, with a bounded crop.

    Args:
        batch_sampler (list[list[float]]): square random-crop samplers, upstream's format
            ``[max sample, max trial, min scale, max scale, min aspect, max aspect, min overlap,
            max overlap, min coverage, max coverage]``.
        anchor_sampler (list[list[float]]): data-anchor samplers, same format.
        target_size (int): side of the output crop. Default: 640.
        das_anchor_scales (list[float]): face sizes to sample from. Default: [16, 32, 64, 128].
        sampling_prob (float): probability of the random-crop branch (data-anchor otherwise).
            Default: 0.5.
        min_size (float): faces smaller than this (in output pixels) are dropped. Default: 8.
        avoid_no_bbox (bool): reject crops without a face. Default: True.
        max_zoom_out (float): bound of the data-anchor crop side, in multiples of the longer
            image side. Default: 4.0.

    ``apply`` returns the sample with ``image`` (float32), ``gt_bbox``, ``gt_class`` (and ``gt_landmarks``, the
    points of the faces kept) replaced when a crop was accepted, unchanged (boxes in pixels) otherwise.
    """

    def __init__(self, batch_sampler, anchor_sampler=None, target_size=640, das_anchor_scales=(16, 32, 64, 128),
                 sampling_prob=0.5, min_size=8.0, avoid_no_bbox=True, max_zoom_out=4.0):
        super().__init__()
        if not 0.0 <= sampling_prob <= 1.0:
            raise ValueError(f"sampling_prob must be in [0, 1], got {sampling_prob}")
        if max_zoom_out <= 0:
            raise ValueError(f"max_zoom_out must be > 0, got {max_zoom_out}")
        if len(das_anchor_scales) < 2:
            raise ValueError(f"das_anchor_scales needs at least 2 sizes, got {das_anchor_scales}")
        self.batch_sampler = [list(s) for s in batch_sampler]
        self.anchor_sampler = [list(s) for s in anchor_sampler or []]
        self.target_size = int(target_size)
        self.das_anchor_scales = [float(s) for s in das_anchor_scales]
        self.sampling_prob = float(sampling_prob)
        self.min_size = float(min_size)
        self.avoid_no_bbox = bool(avoid_no_bbox)
        self.max_zoom_out = float(max_zoom_out)

    def _candidates(self, boxes, image_w, image_h, anchor_branch):
        found_boxes = []
        for sampler in self.anchor_sampler if anchor_branch else self.batch_sampler:
            found = 0
            for _ in range(int(sampler[1])):
                if found >= sampler[0]:
                    break
                if anchor_branch:
                    box = data_anchor_crop_box(boxes, image_w, image_h, self.das_anchor_scales, self.target_size,
                                               self.max_zoom_out)
                    if box is None:
                        break
                else:
                    box = op_helper.generate_sample_bbox_square(sampler, image_w, image_h)
                if op_helper.satisfy_sample_constraint_coverage(sampler, box, boxes.tolist()):
                    found_boxes.append(box)
                    found += 1
        return found_boxes

    def apply(self, sample, context=None):
        image = sample["image"]
        image_h, image_w = image.shape[:2]
        boxes = np.asarray(sample["gt_bbox"], np.float64) / [image_w, image_h, image_w, image_h]
        anchor_branch = np.random.uniform(0.0, 1.0) > self.sampling_prob and bool(self.anchor_sampler)
        candidates = self._candidates(boxes, image_w, image_h, anchor_branch)
        faces = np.arange(len(boxes)).reshape(-1, 1)  # carried as the "labels": which faces the crop keeps
        while candidates:
            box = candidates.pop(int(np.random.uniform(0, len(candidates))))
            if not anchor_branch:
                box = op_helper.clip_bbox(box)
            crop_boxes, kept, _ = op_helper.filter_and_process(box, boxes.tolist(), faces)
            crop_boxes, kept, _ = op_helper.bbox_area_sampling(crop_boxes, kept, None, self.target_size, self.min_size)
            if self.avoid_no_bbox and len(crop_boxes) < 1:
                continue
            if anchor_branch:
                image = crop_and_resize(image, box, self.target_size)
            else:
                image = image[int(box[1] * image_h):int(box[3] * image_h), int(box[0] * image_w):int(box[2] * image_w)]
            height, width = image.shape[:2]
            kept = np.asarray(kept, np.int64).reshape(-1)
            sample["image"] = image
            sample["gt_bbox"] = (np.asarray(crop_boxes, np.float32).reshape(-1, 4)
                                 * np.array([width, height, width, height], np.float32))
            sample["gt_class"] = np.asarray(sample["gt_class"], np.int32).reshape(-1, 1)[kept]
            if "gt_landmarks" in sample:
                sample["gt_landmarks"] = crop_points(sample["gt_landmarks"][kept], (image_w, image_h), box,
                                                     (width, height))
            return sample
        return sample
