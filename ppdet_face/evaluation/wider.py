"""Walking a WIDER layout and writing the official prediction folder."""
import os
import sys
import time
from dataclasses import dataclass, field

import numpy as np

from eval_tools.boxes import corners_to_wider
from eval_tools.wider_format import pred_file_path, write_pred_file

from ..data.image_io import BadImageError, read_image_rgb

__all__ = ["PredictionRun", "WiderImage", "list_wider_images", "predict_widerface"]


@dataclass
class WiderImage:
    """One image of a WIDER layout: ``key`` is ``"<event>/<name>"`` (no extension, see
    :func:`eval_tools.wider_format.image_key`)."""

    key: str
    path: str

    @property
    def file_name(self):
        return os.path.basename(self.path)


def list_wider_images(dataset_dir, image_dir="WIDER_val/images",
                      anno_path="wider_face_split/wider_face_val_bbx_gt.txt"):
    """The images of a WIDER layout, in annotation order (or sorted ``<event>/<image>`` without one).

    Args:
        dataset_dir (str): dataset root.
        image_dir (str): images, relative to ``dataset_dir``. Default: "WIDER_val/images".
        anno_path (str): annotation file, relative to ``dataset_dir`` (falsy: list the folder).
            Default: "wider_face_split/wider_face_val_bbx_gt.txt".

    Returns:
        ``(images, anno_file)``: a list of :class:`WiderImage` and the annotation file used
        (``None`` when it does not exist and the image folder was listed instead).

    An image listed by the annotations but absent from disk stays in the list: prediction reports
    it (one warning) and counts it as an image without detections, like any unreadable image.

    Raises:
        FileNotFoundError: a missing image folder, or none of the annotated images exists
            (a wrong ``dataset_dir`` / ``image_dir``).
        ValueError: a malformed annotation file (:class:`eval_tools.wider_format.WiderFormatError`,
            also for an image path without event folder), or no image at all.

    Images in the folder are those with an extension of
    :data:`eval_tools.wider_format.IMAGE_EXTENSIONS` (any case).
    """
    from eval_tools.wider_format import image_key, is_image_name, read_gt_txt

    root = os.path.join(dataset_dir, image_dir)
    anno = os.path.join(dataset_dir, anno_path) if anno_path else None
    images = []
    if anno and os.path.isfile(anno):
        for rec in read_gt_txt(anno):
            key = image_key(rec.name, f"{anno}:{rec.line}")
            images.append(WiderImage(key, os.path.join(root, rec.name.replace("\\", "/"))))
        if images and not any(os.path.isfile(im.path) for im in images):
            raise FileNotFoundError(f"none of the {len(images)} images listed in {anno} exists under {root} "
                                    f"(first: {images[0].path})")
    else:
        if not os.path.isdir(root):
            raise FileNotFoundError(f"image folder not found: {root}")
        anno = None
        for event in sorted(os.listdir(root)):
            folder = os.path.join(root, event)
            if not os.path.isdir(folder):
                continue
            for fname in sorted(os.listdir(folder)):
                if is_image_name(fname):
                    images.append(WiderImage(image_key(f"{event}/{fname}"), os.path.join(folder, fname)))
    if not images:
        raise ValueError(f"no images found under {root}")
    return images, anno


@dataclass
class PredictionRun:
    """Result of :func:`predict_widerface`."""

    predictions: dict = field(default_factory=dict)  # key -> [K, 5] left top width height score
    seconds: list = field(default_factory=list)  # per image: read + predict + write
    passes: int = 0  # network passes (a batch of 2 counts once)
    failed: dict = field(default_factory=dict)  # key -> why the image could not be used (empty prediction file)
    multi_scale: bool = False
    pred_dir: str = ""
    warmup_seconds: float = 0.0

    @property
    def total_seconds(self):
        return float(sum(self.seconds))

    @property
    def seconds_per_image(self):
        return self.total_seconds / max(len(self.seconds), 1)


def predict_widerface(predictor, images, pred_dir, multi_scale=False, progress=True, warmup="auto"):
    """Predict every image and write ``<pred_dir>/<event>/<name>.txt`` (official format).

    Args:
        predictor: a :class:`WiderFacePredictor`.
        images: :class:`WiderImage` list (see :func:`list_wider_images`).
        pred_dir: output folder.
        multi_scale: the multi-scale recipe instead of one pass.
        progress: show a tqdm bar (images/s).
        warmup: call :meth:`WiderFacePredictor.warmup` first (not counted in ``seconds``);
            ``"auto"``: only for 10 images or more, where it pays for itself.

    Images are read with :func:`ppdet_face.data.image_io.read_image_rgb` (grayscale, RGBA and 16-bit
    files are converted to 8-bit RGB). An unusable image (missing, empty, truncated, not an image,
    smaller than 8 px, larger than 100 Mpx) gets one ``warning:`` line on stderr, an empty prediction
    file (it counts as an image without detections) and an entry in ``run.failed``; the run continues.

    Returns:
        :class:`PredictionRun`.
    """
    run = PredictionRun(multi_scale=bool(multi_scale), pred_dir=str(pred_dir))
    if warmup is True or (warmup == "auto" and len(images) >= 10):
        run.warmup_seconds = predictor.warmup(multi_scale)
    bar = None
    if progress:
        from tqdm import tqdm

        bar = tqdm(total=len(images), unit="img", desc="multi-scale" if multi_scale else "single-scale",
                   dynamic_ncols=True)
    try:
        for item in images:
            _predict_one(predictor, item, pred_dir, run, bar)
            if bar is not None:
                bar.update(1)
    finally:
        if bar is not None:
            bar.close()
    return run


def _predict_one(predictor, item, pred_dir, run, bar):
    """Predict one image into ``run`` and its prediction file; an unusable image gets a warning."""
    t0 = time.perf_counter()
    out_file = pred_file_path(pred_dir, item.key)
    try:
        rgb = read_image_rgb(item.path)
    except BadImageError as exc:
        message = f"warning: {exc}; counted as no detections"
        if bar is not None:
            bar.write(message, file=sys.stderr)
        else:
            print(message, file=sys.stderr, flush=True)
        write_pred_file(out_file, item.file_name, np.zeros((0, 5), np.float32))
        run.predictions[item.key] = np.zeros((0, 5), np.float32)
        run.failed[item.key] = str(exc)
        return
    boxes = corners_to_wider(predictor.predict(rgb, multi_scale=run.multi_scale))
    write_pred_file(out_file, item.file_name, boxes)
    run.predictions[item.key] = boxes
    run.seconds.append(time.perf_counter() - t0)
    run.passes += len(predictor.last_scales)
