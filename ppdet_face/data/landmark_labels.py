"""Five landmarks for a WIDER-layout dataset without them, labelled as a user without annotators would: a
pretrained five-point detector (YuNet, ``cv2.FaceDetectorYN``) runs on every image, and each ground-truth face that
one of its detections overlaps with IoU >= 0.5 (best score first, each detection once) takes that detection's
points; the other faces get none. The result is RetinaFace's ``label.txt`` (``eval_tools.retinaface_labels``), which
the dataset also reads for users who have RetinaFace's real annotations.

numpy + OpenCV only (no paddle, no ppdet).
"""
import os

import cv2
import numpy as np

from eval_tools.boxes import xywh_to_corners
from eval_tools.landmarks import match_detections
from eval_tools.retinaface_labels import LabelledImage
from eval_tools.wider_format import read_gt_txt

__all__ = ["YuNetLandmarks", "label_faces", "label_wider_split"]


class YuNetLandmarks:
    """YuNet through ``cv2.FaceDetectorYN`` at each image's own size: boxes, scores and five points.

    Args:
        model (str): the ONNX file (e.g. ``<shared>/peers/yunet/face_detection_yunet_2026may.onnx``).
        score_threshold (float): minimum score. Default: 0.5.
        nms_threshold (float): NMS IoU. Default: 0.3.

    Raises:
        FileNotFoundError: no such model file.
    """

    def __init__(self, model, score_threshold=0.5, nms_threshold=0.3):
        if not os.path.isfile(model):
            raise FileNotFoundError(f"{model}: YuNet model not found")
        self.det = cv2.FaceDetectorYN.create(str(model), "", (640, 640), score_threshold, nms_threshold, 5000)
        self.size = (640, 640)

    def rows(self, bgr):
        """FaceDetectorYN's ``[K, 15]`` rows: ``x, y, w, h``, five points (the image-left one of each pair first),
        score."""
        h, w = bgr.shape[:2]
        if (w, h) != self.size:
            self.det.setInputSize((w, h))
            self.size = (w, h)
        faces = self.det.detect(bgr)[1]
        return np.zeros((0, 15), np.float32) if faces is None or not len(faces) else np.asarray(faces, np.float32)

    def __call__(self, bgr):
        """``(boxes [K, 4] x1 y1 x2 y2, scores [K], points [K, 5, 2])`` in ``eval_tools.landmarks.FIVE_POINTS``
        order."""
        faces = self.rows(bgr)
        return (np.column_stack([faces[:, :2], faces[:, :2] + faces[:, 2:4]]), faces[:, -1],
                faces[:, 4:14].reshape(-1, 5, 2))


def label_faces(gt_boxes, detections, iou_threshold=0.5):
    """The points of each ground-truth face from the detection that matches it.

    Args:
        gt_boxes (np.ndarray): ``[N, 4]`` ``x y w h``.
        detections (tuple): ``(boxes [K, 4] x1 y1 x2 y2, scores [K], points [K, 5, 2])``.
        iou_threshold (float): Default: 0.5.

    Returns:
        tuple: ``(points [N, 5, 2], confidence [N])``, NaN for faces no detection matches.
    """
    boxes, scores, points = detections
    out, conf = np.full((len(gt_boxes), 5, 2), np.nan), np.full(len(gt_boxes), np.nan)
    corners = xywh_to_corners(np.asarray(gt_boxes, np.float64).reshape(-1, 4))
    for g, d in match_detections(np.asarray(boxes, np.float64), scores, corners, iou_threshold).items():
        out[g], conf[g] = points[d], scores[d]
    return out, conf


def label_wider_split(dataset_dir, split, detector, progress=True):
    """Label every image of ``<dataset_dir>/WIDER_<split>`` (ground truth ``wider_face_<split>_bbx_gt.txt``).

    Returns:
        list[LabelledImage]: in ground-truth order (write with ``write_retinaface_labels``).

    Raises:
        FileNotFoundError: the ground truth or an image is missing.
    """
    from tqdm import tqdm

    gt_path = os.path.join(dataset_dir, "wider_face_split", f"wider_face_{split}_bbx_gt.txt")
    out = []
    for record in tqdm(read_gt_txt(gt_path), desc=f"labelling {split}", unit="img", disable=not progress):
        path = os.path.join(dataset_dir, f"WIDER_{split}", "images", record.name)
        bgr = cv2.imread(path)
        if bgr is None:
            raise FileNotFoundError(f"{path}: image missing or unreadable")
        boxes = record.boxes
        points, conf = label_faces(boxes, detector(bgr))
        out.append(LabelledImage(record.name, boxes.astype(np.float64), points, conf))
    return out
