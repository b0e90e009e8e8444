"""WIDER FACE annotations and the training/eval dataset.

The annotation file (``wider_face_*_bbx_gt.txt``) is read by :func:`eval_tools.wider_format.read_gt_txt`,
the one reader of the WIDER formats (format, and the rule for images with 0 faces, in
:mod:`eval_tools.wider_format`); :func:`parse_wider_annotations` turns its records into the dataset's
boxes.
"""
import copy
import logging
import multiprocessing
import os

import numpy as np
from ppdet.core.workspace import register, serializable
from ppdet.data.source.dataset import DetDataset

from eval_tools.retinaface_labels import read_retinaface_labels
from eval_tools.wider_format import WiderFormatError, read_gt_txt

from .image_io import BadImageError, read_image_rgb

__all__ = ["AnnotationError", "parse_wider_annotations", "landmarks_for_boxes", "WIDERFaceDetDataset"]

logger = logging.getLogger("ppdet_face.data")

AnnotationError = WiderFormatError
"""Earlier name of :class:`eval_tools.wider_format.WiderFormatError` (the same class), caught by
``tools/train.py`` and users of ``ppdet_face.data``."""


def parse_wider_annotations(path):
    """Read a WIDER FACE ``*_bbx_gt.txt`` file into the dataset's boxes.

    Args:
        path (str): the annotation file.

    Returns:
        tuple: ``(records, stats)``; each record is a dict with ``name`` (relative image path)
        and ``boxes`` (float32 [N, 4] as x, y, w, h); ``stats`` counts ``images``, ``faces`` and
        ``dropped`` (boxes with non-positive width or height, removed).

    Raises:
        WiderFormatError: (also known as ``AnnotationError``) naming ``path`` and the 1-based line
            of the first malformed entry.
    """
    records, dropped = [], 0
    for rec in read_gt_txt(path):
        keep = (rec.boxes[:, 2] > 0) & (rec.boxes[:, 3] > 0)
        dropped += int((~keep).sum())
        records.append({"name": rec.name, "boxes": rec.boxes[keep].astype(np.float32).reshape(-1, 4)})
    stats = {"images": len(records), "faces": int(sum(len(r["boxes"]) for r in records)), "dropped": dropped}
    return records, stats


def landmarks_for_boxes(labelled, boxes, tolerance=0.5):
    """Each box's landmarks from a ``label.txt`` image: the labelled face with the same box.

    Args:
        labelled (LabelledImage|None): the image's faces in the label file (None: not in it).
        boxes (np.ndarray): ``[N, 4]`` ``x, y, w, h`` of the annotation file.
        tolerance (float): largest coordinate difference (pixels) of the same box. Default: 0.5.

    Returns:
        np.ndarray: float32 ``[N, 10]`` ``x, y`` pairs in pixels; NaN for a box without a labelled twin or
        whose twin has no landmarks.
    """
    out = np.full((len(boxes), 10), np.nan, np.float32)
    if labelled is None or len(labelled.boxes) == 0:
        return out
    for i, box in enumerate(boxes):
        same = np.flatnonzero(np.abs(labelled.boxes - box).max(axis=1) <= tolerance)
        if len(same):
            out[i] = labelled.points[same[0]].reshape(-1)
    return out


@register
@serializable
class WIDERFaceDetDataset(DetDataset):
    """WIDER FACE (or any data in its layout) for ppdet's reader.

    Args:
        dataset_dir (str): dataset root. Default: "dataset/wider_face".
        image_dir (str): images, relative to ``dataset_dir``. Default: "WIDER_train/images".
        anno_path (str): annotation file, relative to ``dataset_dir``.
            Default: "wider_face_split/wider_face_train_bbx_gt.txt".
        data_fields (list[str]): fields to emit. Default: ["image", "gt_bbox", "gt_class"].
        sample_num (int): keep only the first N images (-1: all). Default: -1.
        keep_empty (bool): keep images without faces (they teach the background). Default: True.
        landmark_path (str|None): RetinaFace's ``label.txt`` with five landmarks per face (real RetinaFace
            annotations, or ``tools/label_landmarks.py``'s), relative to ``dataset_dir`` unless absolute; each
            annotated box takes the points of the labelled face with the same box (NaN: none). Adds the field
            ``gt_landmarks`` (float32 ``[G, 10]`` pixels). Default: None (boxes only).

    Boxes are converted to x1, y1, x2, y2; boxes with non-positive size are dropped
    (counted in the log).

    Boxes outside the image: once an image is decoded (its size is known), every box is clipped
    to the image (``0 <= x <= width``, ``0 <= y <= height``) and a box with no area left (entirely
    outside, or on an edge) is dropped with its class. Each image with clipped or dropped boxes
    gets a DEBUG log line naming it, and after the first pass over the whole dataset one WARNING
    gives the totals (:attr:`clipped_boxes`, :attr:`dropped_boxes`; counted once per image across
    DataLoader workers). The annotation file is not changed.

    Images are decoded here with :func:`read_image_rgb`; an unusable
    image (missing, empty, truncated, not an image, ...) is skipped with one warning naming
    the file and the next image is used instead; :attr:`bad_images` counts them across
    DataLoader workers (the trainer reports it at each epoch end). ppdet's ``Decode`` op
    passes the decoded array through unchanged.
    """

    def __init__(self, dataset_dir="dataset/wider_face", image_dir="WIDER_train/images",
                 anno_path="wider_face_split/wider_face_train_bbx_gt.txt", data_fields=("image", "gt_bbox", "gt_class"),
                 sample_num=-1, keep_empty=True, landmark_path=None, **kwargs):
        super().__init__(dataset_dir=dataset_dir, image_dir=image_dir, anno_path=anno_path,
                         data_fields=list(data_fields), sample_num=sample_num, **kwargs)
        self.keep_empty = keep_empty
        self.landmark_path = landmark_path
        self._bad_count = multiprocessing.Value("i", 0)  # shared with forked DataLoader workers
        self._warned = set()
        # box clipping statistics, shared with forked workers: per image "seen" flags and totals
        self._box_stats = multiprocessing.Array("q", 3)  # clipped, dropped, images seen
        self._seen = None

    @property
    def bad_images(self):
        """How many requested samples were unusable so far (all workers; once per image per epoch)."""
        return self._bad_count.value

    @property
    def clipped_boxes(self):
        """Boxes clipped to their image so far (each image counted once, all workers)."""
        return int(self._box_stats[0])

    @property
    def dropped_boxes(self):
        """Boxes dropped for lying entirely outside their image so far (each image counted once)."""
        return int(self._box_stats[1])

    def _clip_boxes(self, roidb, idx):
        """Clip ``roidb['gt_bbox']`` to the decoded image; drop boxes without area; count once per image."""
        boxes = roidb.get("gt_bbox")
        if boxes is None or len(boxes) == 0:
            self._mark_seen(idx, 0, 0)
            return
        h, w = roidb["image"].shape[:2]
        clipped = boxes.copy()
        np.clip(clipped[:, 0::2], 0, w, out=clipped[:, 0::2])
        np.clip(clipped[:, 1::2], 0, h, out=clipped[:, 1::2])
        keep = (clipped[:, 2] > clipped[:, 0]) & (clipped[:, 3] > clipped[:, 1])
        changed = np.any(clipped != boxes, axis=1) & keep
        n_clipped, n_dropped = int(changed.sum()), int((~keep).sum())
        if n_dropped:
            roidb["gt_bbox"] = clipped[keep]
            for key in ("gt_class", "difficult", "is_crowd", "gt_score", "gt_landmarks"):
                if key in roidb:
                    roidb[key] = roidb[key][keep]
        elif n_clipped:
            roidb["gt_bbox"] = clipped
        self._mark_seen(idx, n_clipped, n_dropped, roidb)

    def _mark_seen(self, idx, n_clipped, n_dropped, roidb=None):
        with self._box_stats.get_lock():
            if self._seen is None or len(self._seen) != len(self.roidbs):
                return
            if self._seen[idx]:
                return
            self._seen[idx] = 1
            self._box_stats[0] += n_clipped
            self._box_stats[1] += n_dropped
            self._box_stats[2] += 1
            done = self._box_stats[2] == len(self.roidbs)
            total_clipped, total_dropped = self._box_stats[0], self._box_stats[1]
        if n_clipped or n_dropped:
            logger.debug("%s: %d boxes clipped to the %dx%d image, %d outside it dropped", roidb["im_file"],
                         n_clipped, roidb["image"].shape[1], roidb["image"].shape[0], n_dropped)
        if done and (total_clipped or total_dropped):
            logger.warning("%s: %d boxes reached outside their image and were clipped to it, %d lay entirely "
                           "outside and were dropped (DEBUG logging of ppdet_face.data names the images)",
                           os.path.join(self.dataset_dir, self.anno_path), total_clipped, total_dropped)

    def __getitem__(self, idx):
        n = len(self.roidbs)
        for attempt in range(n):
            roidb = copy.deepcopy(self.roidbs[idx % n])
            try:
                roidb["image"] = read_image_rgb(roidb["im_file"])
            except BadImageError as exc:
                if attempt == 0:  # count each requested sample once, not the fall-through attempts
                    with self._bad_count.get_lock():
                        self._bad_count.value += 1
                if roidb["im_file"] not in self._warned:
                    self._warned.add(roidb["im_file"])
                    logger.warning("skipping unusable image: %s", exc)
                self._mark_seen(idx % n, 0, 0)
                idx += 1
                continue
            self._clip_boxes(roidb, idx % n)
            roidb["curr_iter"] = self._curr_iter
            self._curr_iter += 1
            return self.transform(roidb)
        raise BadImageError(f"none of the {n} images of {self.anno_path} can be read")

    def check_images_exist(self):
        """Fail before training when no listed image can be used.

        Raises FileNotFoundError when none of the listed images exists (a wrong ``image_dir``),
        and BadImageError when they exist but none decodes (e.g. Git LFS pointer files named
        ``.jpg``). Reads images in list order and stops at the first usable one, so a normal
        dataset costs one read. Without it, such a dataset fails inside the DataLoader, which
        with ``worker_num: 0`` prints a traceback and then hangs.
        """
        if not self.roidbs:
            return
        anno = os.path.join(self.dataset_dir, self.anno_path)
        if not any(os.path.isfile(r["im_file"]) for r in self.roidbs):
            raise FileNotFoundError(f"none of the {len(self.roidbs)} images listed in {anno} exists under "
                                    f"{os.path.join(self.dataset_dir, self.image_dir)} "
                                    f"(first: {self.roidbs[0]['im_file']})")
        first_error = None
        for roidb in self.roidbs:
            try:
                read_image_rgb(roidb["im_file"])
                return
            except BadImageError as exc:
                first_error = first_error or exc
        raise BadImageError(f"none of the {len(self.roidbs)} images listed in {anno} is usable "
                            f"(first: {first_error})")

    def _landmark_labels(self):
        """``{image name: LabelledImage}`` of :attr:`landmark_path`, or None without one."""
        if not self.landmark_path:
            return None
        path = os.path.join(self.dataset_dir, self.landmark_path)
        if not os.path.isfile(path):
            raise FileNotFoundError(f"landmark file not found: {path} (RetinaFace's label.txt; "
                                    "tools/label_landmarks.py writes one)")
        return {image.name: image for image in read_retinaface_labels(path)}

    def parse_dataset(self):
        anno = os.path.join(self.dataset_dir, self.anno_path)
        if not os.path.isfile(anno):
            raise FileNotFoundError(f"WIDER annotation file not found: {anno} "
                                    "(see dataset/wider_face/download_wider_face.sh)")
        parsed, stats = parse_wider_annotations(anno)
        if stats["dropped"]:
            logger.warning("%s: dropped %d boxes with zero or negative width/height", anno, stats["dropped"])
        labels = self._landmark_labels()
        records = []
        for idx, item in enumerate(parsed):
            if self.sample_num > 0 and idx >= self.sample_num:
                break
            boxes = item["boxes"].copy()
            if len(boxes) == 0 and not self.keep_empty:
                continue
            boxes[:, 2:] += boxes[:, :2]
            rec = {"im_file": os.path.join(self.dataset_dir, self.image_dir, item["name"]),
                   "im_id": np.array([idx]), "im_name": item["name"]}
            if "gt_bbox" in self.data_fields:
                rec["gt_bbox"] = boxes
                rec["gt_class"] = np.zeros((len(boxes), 1), np.int32)
                if labels is not None:
                    rec["gt_landmarks"] = landmarks_for_boxes(labels.get(item["name"]), item["boxes"])
            records.append(rec)
        if not records:
            raise ValueError(f"no images found in {anno}")
        if labels is not None:
            with_points = sum(int((~np.isnan(r["gt_landmarks"][:, 0])).sum()) for r in records if "gt_landmarks" in r)
            logger.info("%s: %d of %d faces have landmarks", self.landmark_path, with_points,
                        sum(len(r.get("gt_bbox", ())) for r in records))
        self.roidbs, self.cname2cid = records, {"face": 0}
        self._seen = multiprocessing.Array("b", len(records), lock=False)  # guarded by _box_stats' lock
        self._box_stats[:] = [0, 0, 0]
