"""RetinaFace's ``label.txt``: WIDER FACE boxes with five landmarks per face (the annotation RetinaFace, SCRFD-KPS
and this project's landmark models train on).

One block per image::

    # <event>/<name>.jpg
    x y w h  l0x l0y v0  l1x l1y v1  l2x l2y v2  l3x l3y v3  l4x l4y v4  confidence

per face (box in pixels, ``x y`` its top-left corner): the five points in ``eval_tools.landmarks.FIVE_POINTS`` order
(image-left eye, image-right eye, nose, image-left mouth corner, image-right mouth corner), each with a flag (0.0 as
RetinaFace's files write it), then a confidence of the points. A face without landmarks has ``-1.0`` in all 16
values after the box (RetinaFace's convention); a line may also stop after the box.
"""
from __future__ import annotations

import dataclasses
import os

import numpy as np

__all__ = ["LabelledImage", "RetinaFaceLabelError", "read_retinaface_labels", "write_retinaface_labels"]


class RetinaFaceLabelError(ValueError):
    """A malformed ``label.txt``; the message names the file and the 1-based line."""


@dataclasses.dataclass
class LabelledImage:
    """The faces of one image.

    Attributes:
        name: ``<event>/<name>.jpg`` as written after ``#``.
        boxes: float64 ``[N, 4]`` ``x y w h``.
        points: float64 ``[N, 5, 2]``; NaN for a face without landmarks.
        confidence: float64 ``[N]``; NaN for a face without landmarks.
    """

    name: str
    boxes: np.ndarray
    points: np.ndarray
    confidence: np.ndarray

    @property
    def has_points(self) -> np.ndarray:
        """bool ``[N]``: which faces have landmarks."""
        return ~np.isnan(self.points).any(axis=(1, 2))


def _face(path, number, line):
    try:
        values = [float(v) for v in line.split()]
    except ValueError:
        raise RetinaFaceLabelError(f"{path}:{number}: not numbers: {line.strip()[:60]}") from None
    if len(values) not in (4, 20):
        raise RetinaFaceLabelError(f"{path}:{number}: {len(values)} values; expected 4 (box) or 20 (box, 5 x (x y "
                                   "flag), confidence)")
    box = values[:4]
    if len(values) == 4 or values[4] < 0:
        return box, np.full((5, 2), np.nan), np.nan
    return box, np.array(values[4:19]).reshape(5, 3)[:, :2], values[19]


def read_retinaface_labels(path: str | os.PathLike) -> list[LabelledImage]:
    """Read a RetinaFace ``label.txt`` (format in the module docstring).

    Raises:
        RetinaFaceLabelError: a face line before the first ``#`` line, or a malformed face line.
        OSError: the file cannot be read.
    """
    images, current = [], None
    with open(path, encoding="utf-8") as f:
        for number, line in enumerate(f, 1):
            if not line.strip():
                continue
            if line.startswith("#"):
                current = (line[1:].strip(), [])
                images.append(current)
                continue
            if current is None:
                raise RetinaFaceLabelError(f"{path}:{number}: a face before the first '# <image>' line")
            current[1].append(_face(path, number, line))
    out = []
    for name, faces in images:
        boxes = np.array([b for b, _, _ in faces], np.float64).reshape(-1, 4)
        points = np.array([p for _, p, _ in faces], np.float64).reshape(-1, 5, 2)
        out.append(LabelledImage(name, boxes, points, np.array([c for _, _, c in faces], np.float64)))
    return out


def write_retinaface_labels(path: str | os.PathLike, images) -> None:
    """Write ``images`` (:class:`LabelledImage`, NaN points for faces without landmarks) as a ``label.txt``."""
    with open(path, "w", encoding="utf-8") as f:
        for image in images:
            f.write(f"# {image.name}\n")
            for box, points, conf in zip(image.boxes, image.points, image.confidence):
                head = " ".join(f"{v:g}" for v in box)
                if np.isnan(points).any():
                    f.write(head + " " + " ".join(["-1.0"] * 16) + "\n")
                    continue
                marks = " ".join(f"{x:.3f} {y:.3f} 0.0" for x, y in points)
                f.write(f"{head} {marks} {conf:.4f}\n")
