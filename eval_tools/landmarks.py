"""Five-point facial landmark accuracy: NME and failure rate over matched faces, for any detector's landmarks.

The five points, in image order as RetinaFace, SCRFD, YuNet and the ArcFace alignment template use them: the eye
on the image's left, the eye on the image's right, the nose tip, the mouth corner on the image's left, the one on
the image's right (:data:`FIVE_POINTS`). Ground truth with 68 points (the iBUG 300-W scheme, e.g. dlib's
``*_with_face_landmarks.xml``) is reduced to them by :func:`five_from_68`: eye centres = mean of each eye's six
points (36-41, 42-47), nose tip = 30, mouth corners = 48 and 54.

NME of a face: the mean Euclidean distance of its five points to the ground truth divided by
``sqrt(w * h)`` of its ground-truth box. A face counts when a detection overlaps its box with IoU >= 0.5 (each
detection used once, best score first); a failure is a matched face with NME > 0.1.
"""
from __future__ import annotations

import dataclasses
import xml.etree.ElementTree as ET

import numpy as np

from .boxes import box_iou, xywh_to_corners
from .retinaface_labels import read_retinaface_labels

__all__ = ["FIVE_POINTS", "LandmarkFaces", "NmeResult", "evaluate_landmarks", "five_from_68", "match_detections",
           "read_dlib_landmarks", "read_label_landmarks"]

#: The five points, in order (left / right as seen in the image).
FIVE_POINTS = ("eye_left", "eye_right", "nose", "mouth_left", "mouth_right")
#: A matched face fails above this NME.
FAILURE_NME = 0.1


@dataclasses.dataclass
class LandmarkFaces:
    """The faces of one image with five points each.

    Attributes:
        image: the image file name.
        boxes: float64 ``[N, 4]`` ``x1, y1, x2, y2``.
        points: float64 ``[N, 5, 2]`` in :data:`FIVE_POINTS` order.
    """

    image: str
    boxes: np.ndarray
    points: np.ndarray


@dataclasses.dataclass
class NmeResult:
    """NME over the matched faces.

    Attributes:
        nme: per matched face, float64 ``[M]``.
        total: ground-truth faces.
    """

    nme: np.ndarray
    total: int

    @property
    def matched(self) -> int:
        return len(self.nme)

    @property
    def mean(self) -> float:
        """Mean NME of the matched faces (NaN without any)."""
        return float(self.nme.mean()) if len(self.nme) else float("nan")

    @property
    def failure_rate(self) -> float:
        """Share of the matched faces with NME > :data:`FAILURE_NME` (NaN without any)."""
        return float((self.nme > FAILURE_NME).mean()) if len(self.nme) else float("nan")


def five_from_68(points68):
    """``[..., 68, 2]`` iBUG points -> ``[..., 5, 2]`` in :data:`FIVE_POINTS` order."""
    p = np.asarray(points68, np.float64)
    if p.shape[-2:] != (68, 2):
        raise ValueError(f"expected [..., 68, 2] points, got {p.shape}")
    return np.stack([p[..., 36:42, :].mean(-2), p[..., 42:48, :].mean(-2), p[..., 30, :], p[..., 48, :],
                     p[..., 54, :]], axis=-2)


def read_dlib_landmarks(path):
    """The faces with 68 landmarks of a dlib imglab XML file (``*_with_face_landmarks.xml``), reduced to five.

    Boxes without 68 parts are left out.

    Returns:
        list[LandmarkFaces]: one per image that has such faces, in file order.

    Raises:
        ValueError: a box or part attribute is missing or not a number (naming the image).
    """
    out = []
    for image in ET.parse(path).getroot().iter("image"):
        boxes, points = [], []
        for box in image.iter("box"):
            parts = {int(p.get("name")): (float(p.get("x")), float(p.get("y"))) for p in box.iter("part")}
            if sorted(parts) != list(range(68)):
                continue
            try:
                left, top = float(box.get("left")), float(box.get("top"))
                boxes.append([left, top, left + float(box.get("width")), top + float(box.get("height"))])
            except (TypeError, ValueError):
                raise ValueError(f"{path}: {image.get('file')}: a box without left / top / width / height") from None
            points.append([parts[i] for i in range(68)])
        if boxes:
            out.append(LandmarkFaces(image.get("file"), np.array(boxes), five_from_68(np.array(points))))
    return out


def read_label_landmarks(path):
    """The faces with five points of a RetinaFace ``label.txt`` (:mod:`eval_tools.retinaface_labels`; e.g. the
    synthetic sets' exact points); faces without points and images left without faces are dropped.

    Returns:
        list[LandmarkFaces]
    """
    faces = []
    for image in read_retinaface_labels(path):
        known = np.isfinite(image.points).all(axis=(1, 2))
        if known.any():
            faces.append(LandmarkFaces(image.name, xywh_to_corners(image.boxes[known]), image.points[known]))
    return faces


def match_detections(det_boxes, det_scores, gt_boxes, iou_threshold=0.5):
    """``{gt index: detection index}``: detections best score first, each to its best free face with IoU >= t.

    Args:
        det_boxes: ``[K, 4]`` ``x1, y1, x2, y2``.
        det_scores: ``[K]``.
        gt_boxes: ``[N, 4]`` ``x1, y1, x2, y2``.
        iou_threshold (float): Default: 0.5.
    """
    pairs, free = {}, set(range(len(gt_boxes)))
    for d in np.argsort(-np.asarray(det_scores)):
        if not free:
            break
        iou = box_iou(det_boxes[d], gt_boxes)
        g = max(free, key=lambda i: iou[i])
        if iou[g] >= iou_threshold:
            pairs[g] = int(d)
            free.discard(g)
    return pairs


def evaluate_landmarks(predictions, ground_truth, iou_threshold=0.5):
    """NME of a detector's five points over the faces it finds.

    Args:
        predictions (dict): image name -> ``(boxes [K, 4] x1 y1 x2 y2, scores [K], points [K, 5, 2])``; an image
            missing here has no detections.
        ground_truth (list[LandmarkFaces]): e.g. :func:`read_dlib_landmarks`.
        iou_threshold (float): box overlap for a match. Default: 0.5.

    Returns:
        NmeResult: per matched face NME, and the number of faces.
    """
    nmes, total = [], 0
    for faces in ground_truth:
        total += len(faces.boxes)
        boxes, scores, points = predictions.get(faces.image, (np.zeros((0, 4)), np.zeros(0), np.zeros((0, 5, 2))))
        for g, d in match_detections(np.asarray(boxes, np.float64), scores, faces.boxes, iou_threshold).items():
            w, h = faces.boxes[g, 2] - faces.boxes[g, 0], faces.boxes[g, 3] - faces.boxes[g, 1]
            err = np.linalg.norm(np.asarray(points[d], np.float64) - faces.points[g], axis=1).mean()
            nmes.append(err / np.sqrt(w * h))
    return NmeResult(np.asarray(nmes, np.float64), total)
