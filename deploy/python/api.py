"""Face detection in one line, on a bundled model or an export folder, without ppdet or training code::

    from ppdet_face_deploy import FaceDetector
    faces = FaceDetector().detect("photo.jpg")          # the default bundled model on ONNX Runtime
    faces.boxes, faces.scores                            # [K, 4] x1, y1, x2, y2 (pixels), [K]
    cv2.imwrite("out.jpg", faces.draw()); print(faces.to_json())

    FaceDetector(model="blazeface_fpn_ssh", backend="openvino", precision="bf16").detect([path, bgr_array])
"""
import dataclasses
import json
import os
from typing import Optional

import numpy as np

from .align import align_face
from .bundled import DEFAULT_MODEL, resolve_model
from .detector import Detector, detection_record
from .preprocess import DeployError, decode_image
from .record import BASE_RECORD, RecordLayout
from .runners import AUTO_ORDER, BACKENDS, DetectorOptions, check_choice, installed_backends
from .visualize import draw_boxes

__all__ = ["FaceDetector", "Faces"]


@dataclasses.dataclass(frozen=True)
class Faces:
    """The faces found in one image.

    Args:
        detections (np.ndarray): [K, W] float32 rows of ``layout`` (``class, score, x1, y1, x2, y2`` in original
            pixels, then the model's extras), best score first.
        image_shape (tuple): (height, width) of the image.
        source (str|None): the image's path, None for an array.
        labels (tuple): class names of the model. Default: ("face",).
        image (np.ndarray|None): the BGR image (what :meth:`draw` draws on). Default: None.
        layout (RecordLayout): the columns of ``detections`` (the model's ``infer_cfg.yml`` ``record``).
            Default: class, score, box.
    """

    detections: np.ndarray
    image_shape: tuple
    source: Optional[str] = None
    labels: tuple = ("face",)
    image: Optional[np.ndarray] = dataclasses.field(default=None, repr=False, compare=False)
    layout: RecordLayout = dataclasses.field(default_factory=lambda: RecordLayout(BASE_RECORD), repr=False)

    @property
    def boxes(self):
        """np.ndarray: [K, 4] float32 ``x1, y1, x2, y2`` in pixels of the original image."""
        return self.layout.boxes(self.detections)

    @property
    def scores(self):
        """np.ndarray: [K] float32 confidences."""
        return self.layout.scores(self.detections)

    @property
    def landmarks(self):
        """np.ndarray|None: [K, P, 2] points ``x, y`` in pixels when the model outputs ``landmarks``, else None
        (the bundled models detect boxes only)."""
        if "landmarks" not in self.layout.fields:
            return None
        points = self.layout.fields["landmarks"] // 2
        return self.layout.get(self.detections, "landmarks").reshape(len(self.detections), points, 2)
    def __len__(self):
        return len(self.detections)

    def __repr__(self):
        where = f", source={self.source!r}" if self.source else ""
        return f"Faces({len(self)} found, image {self.image_shape[1]}x{self.image_shape[0]}{where})"

    def draw(self, image=None):
        """A copy of ``image`` (default: the detected image) with the faces drawn (box, score).

        Raises:
            DeployError: no image given and none kept (a result built without one).
        """
        image = self.image if image is None else decode_image(image)
        if image is None:
            raise DeployError("Faces.draw: no image to draw on (pass one)")
        return draw_boxes(image, self.detections, self.labels, -np.inf, self.layout)

    def crops(self, size=112):
        """Each face warped onto the ArcFace five-point template (``align.align_face``): ``size x size`` BGR crops,
        for face recognition.

        Raises:
            DeployError: the model outputs no landmarks, or no image is kept.
        """
        points = self.landmarks
        if points is None:
            raise DeployError(f"aligned crops need landmarks; this model's record has {', '.join(self.layout.fields)}")
        if self.image is None:
            raise DeployError("Faces.crops: no image kept")
        return [align_face(self.image, p, size) for p in points]

    def to_dict(self):
        """The JSON record: ``image_file``, ``height``, ``width``, ``detections`` (class_id, label, score, bbox);
        the same record as ``deploy/python/infer.py --save_results``'s bbox.json."""
        return detection_record(self.source or "", self.detections, self.layout, list(self.labels), -np.inf,
                                self.image_shape)

    def to_json(self, indent=None):
        """:meth:`to_dict` as a JSON string."""
        return json.dumps(self.to_dict(), indent=indent)


class FaceDetector:
    """A face detector ready to run.

    Args:
        model (str|os.PathLike): a bundled model name (``ppdet-face models``; short names ``blazeface_fpn_ssh``,
            ``blazeface``) or an export folder (tools/export_model.py). Default: the default bundled model,
            PaddleDetection's published BlazeFace-FPN-SSH.
        backend (str): "auto" (f32: the first installed of onnxruntime, openvino, paddle; bf16 / int8:
            openvino) or one of "onnxruntime", "openvino", "paddle". Default: "auto".
        precision (str): "f32", or with OpenVINO "bf16" (faster on CPUs with bf16) / "int8" (an export quantized
            by tools/quantize.py). Default: "f32".
        threshold (float|None): faces scoring below it are dropped; None: the model's ``draw_threshold`` (0.5).
            Default: None.
        cpu_threads (int|None): CPU threads; None: all cores. Default: None.
        **options: any other :class:`~ppdet_face_deploy.runners.DetectorOptions` field (``batch_size``,
            ``max_side``, ``device``, ...).

    Raises:
        DeployError: an unknown model, backend or option, or a backend that is not installed.
    """

    def __init__(self, model=DEFAULT_MODEL, backend="auto", precision="f32", threshold=None, cpu_threads=None,
                 **options):
        self.model_dir = resolve_model(model)
        backend = _pick_backend(backend, precision)
        self.detector = Detector(self.model_dir, DetectorOptions(
            backend=backend, precision=precision, threshold=threshold, cpu_threads=cpu_threads or os.cpu_count() or 1,
            enable_mkldnn=backend == "paddle"), **options)

    @property
    def backend(self):
        """str: the backend in use."""
        return self.detector.backend

    @property
    def threshold(self):
        """float: the score threshold of :meth:`detect`."""
        return self.detector.threshold

    def detect(self, images):
        """Find the faces in one image or a list of them.

        Args:
            images: an image path, a BGR uint8 array (OpenCV order), encoded bytes, or a list of them.

        Returns:
            Faces | list[Faces]: one result per image (a list for a list).

        Raises:
            DeployError: an image that is missing or cannot be decoded (the message names it).
        """
        single = not isinstance(images, (list, tuple))
        items = [images] if single else list(images)
        results = []
        step = self.detector.batch_size
        for start in range(0, len(items), step):
            chunk = items[start:start + step]
            bgrs = [decode_image(item) for item in chunk]
            for item, bgr, rows in zip(chunk, bgrs, self.detector.predict(bgrs, threshold=self.threshold)):
                source = os.fspath(item) if isinstance(item, (str, os.PathLike)) else None
                results.append(Faces(rows, tuple(bgr.shape[:2]), source, tuple(self.detector.labels), bgr,
                                     self.detector.layout))
        return results[0] if single else results


def _pick_backend(backend, precision):
    """``backend``, or for "auto" openvino for bf16 / int8 and else the first installed backend of ``AUTO_ORDER``."""
    if backend != "auto":
        check_choice("backend", backend, ("auto", *BACKENDS))
        return backend
    if precision != "f32":
        return "openvino"
    found = installed_backends()
    if not found:
        raise DeployError(f"no inference runtime installed: pip install one of {', '.join(AUTO_ORDER)}")
    return found[0]
