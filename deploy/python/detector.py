"""The predictor: an exported folder's preprocessing, one runner, and the split of its outputs."""
import os
import time

import numpy as np
import yaml

from .memory import HeapGuard, keep_freed_memory_in_heap
from .preprocess import DeployError, Pipeline, decode_image, pad_batch, pad_pixels
from .record import RecordLayout
from .runners import DetectorOptions, create_runner
from .timing import StageTimer

__all__ = ["DEFAULT_DRAW_THRESHOLD", "Detector", "detection_record", "load_infer_cfg"]

#: Drawing / saving threshold for an infer_cfg.yml without ``draw_threshold`` (PaddleDetection's default).
DEFAULT_DRAW_THRESHOLD = 0.5


def load_infer_cfg(model_dir):
    """Read ``<model_dir>/infer_cfg.yml`` (safe YAML) and check the keys the predictor needs.

    Args:
        model_dir (str): the exported folder.

    Returns:
        dict: the configuration.

    Raises:
        DeployError: the file is missing or lacks ``Preprocess`` or ``label_list``.
    """
    path = os.path.join(model_dir, "infer_cfg.yml")
    if not os.path.isfile(path):
        raise DeployError(f"{path} not found: --model_dir must be a folder written by tools/export_model.py")
    with open(path, "r", encoding="utf-8") as f:
        cfg = yaml.safe_load(f) or {}
    for key in ("Preprocess", "label_list"):
        if key not in cfg:
            raise DeployError(f"{path}: missing key {key!r}")
    return cfg


class Detector:
    """Predictor over an exported folder.

    Args:
        model_dir (str): folder with infer_cfg.yml and model.json/.pdmodel + .pdiparams (and
            model.onnx for ``backend="onnxruntime"`` and ``"openvino"``).
        options (DetectorOptions|None): how to run (every option with its default is declared there).
            Default: None, meaning ``DetectorOptions()``.
        **changes: options to change from ``options``, by name (``Detector(d, backend="openvino",
            cpu_threads=2)``).

    Raises:
        DeployError: an unknown or unsupported option, or a model folder the backend cannot load.
    """

    def __init__(self, model_dir, options=None, **changes):
        self.options = (options or DetectorOptions()).replace(**changes)
        options = self.options
        self.model_dir = model_dir
        self.cfg = load_infer_cfg(model_dir)
        on_cpu = options.device == "CPU"
        fixed_shape = not self.cfg.get("use_dynamic_shape", True)
        self.malloc_tuned = on_cpu and (options.malloc_tuning is True or (options.malloc_tuning == "auto"
                                                                           and fixed_shape)) \
            and keep_freed_memory_in_heap()
        self._heap_guard = HeapGuard() if on_cpu else (lambda shape: None)
        self.pipeline = Pipeline(self.cfg["Preprocess"], max_side=options.max_side)
        self.labels = list(self.cfg["label_list"])
        #: The columns of the output rows (infer_cfg.yml's ``record``).
        self.layout = RecordLayout.from_infer_cfg(self.cfg)
        self.batch_size = options.batch_size
        self.threshold = float(self.cfg.get("draw_threshold", DEFAULT_DRAW_THRESHOLD) if options.threshold is None
                               else options.threshold)
        self.backend = options.backend
        self.runner = create_runner(model_dir, self.cfg, options)
        norm = self.pipeline.pixel_normalization
        #: True when the runner normalises the uint8 image inside its model (OpenVINO).
        self.raw_pixels = norm is not None and self.runner.take_pixels(*norm)
        self.timer = StageTimer()

    def preprocess(self, images):
        """Decode (paths, bytes or BGR arrays), preprocess and pad a batch -> model inputs dict."""
        ims, shapes, scales = [], [], []
        prepare = self.pipeline.pixels if self.raw_pixels else self.pipeline
        for image in images:
            bgr = image if isinstance(image, np.ndarray) and image.ndim == 3 and image.shape[2] == 3 \
                and image.dtype == np.uint8 else decode_image(image)
            im, info = prepare(bgr)
            ims.append(im)
            shapes.append(info["im_shape"])
            scales.append(info["scale_factor"])
        batch = pad_pixels(ims, self.pipeline.pixel_normalization[0]) if self.raw_pixels else pad_batch(ims)
        return {"image": batch, "im_shape": np.stack(shapes).astype(np.float32),
                "scale_factor": np.stack(scales).astype(np.float32)}

    def postprocess(self, bbox, bbox_num):
        """Split the model's ``bbox`` [N, W] by ``bbox_num`` [B] into a list of [K_i, W] arrays (W: the width of
        :attr:`layout`)."""
        bbox = self.layout.rows(bbox)
        counts = np.asarray(bbox_num).reshape(-1).astype(np.int64)
        out, start = [], 0
        for n in counts:
            out.append(bbox[start:start + n].copy())
            start += n
        return out

    def predict(self, images, threshold=None):
        """Detect faces in one batch.

        Args:
            images (list): image paths, encoded bytes or BGR uint8 arrays (any sizes; padded).
            threshold (float|None): drop boxes scoring below it; None keeps every model output.
                Default: None.

        Returns:
            list[np.ndarray]: per image, [K, W] rows of :attr:`layout` (``class, score, x1, y1, x2, y2`` in original
            pixels, then the model's extras).
        """
        if not isinstance(images, (list, tuple)):
            images = [images]
        if not images:
            return []
        t0 = time.perf_counter()
        inputs = self.preprocess(images)
        t1 = time.perf_counter()
        bbox, bbox_num = self.runner(inputs)
        t2 = time.perf_counter()
        results = self.postprocess(bbox, bbox_num)
        if threshold is not None:
            results = [r[self.layout.scores(r) >= threshold] for r in results]
        self._heap_guard(inputs["image"].shape)
        t3 = time.perf_counter()
        self.timer.add((t1 - t0) * 1000, (t2 - t1) * 1000, (t3 - t2) * 1000, len(images))
        return results


def detection_record(name, rows, layout, labels, threshold, shape):
    """The JSON record of one image's detections (``bbox.json``, the video's ``<name>_bbox.json``, ``ppdet-face``).

    Args:
        name (str): image path, or ``<video>#<frame>``.
        rows (np.ndarray): [K, W] detection rows of ``layout``.
        layout (RecordLayout): the model's record.
        labels (list[str]): class names.
        threshold (float): rows scoring below it are left out.
        shape (tuple): the image's shape (H, W, ...).

    Returns:
        dict: ``image_file``, ``height``, ``width`` and ``detections`` (class_id, label, score, bbox and each
        extra field of the record by name, e.g. ``landmarks``).
    """
    keep = rows[layout.scores(rows) >= threshold]
    detections = []
    for row in keep:
        c = int(row[layout.slices["class"]][0])
        det = {"class_id": c, "label": labels[c] if 0 <= c < len(labels) else str(c),
               "score": round(float(row[layout.slices["score"]][0]), 6),
               "bbox": [round(float(v), 3) for v in row[layout.slices["box"]]]}
        det.update({name: [round(float(v), 3) for v in row[layout.slices[name]]] for name in layout.extras})
        detections.append(det)
    return {"image_file": name, "height": int(shape[0]), "width": int(shape[1]), "detections": detections}
