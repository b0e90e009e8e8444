"""PaddleDetection's Trainer with our WIDER FACE metric and distributed set-up."""
import collections
import os
import time

import numpy as np
from ppdet.engine import Trainer
from ppdet.engine.callbacks import Callback, ComposeCallback
from ppdet.metrics import Metric

from .. import compat
from ..utils.logging import get_logger

__all__ = ["FaceTrainer", "WiderFaceAPMetric", "NonFiniteLossError", "NonFiniteLossGuard", "DataReaderError",
           "detections_to_wider"]

logger = get_logger(__name__)


def detections_to_wider(bbox, bbox_num):
    """Split ppdet's ``[N, 6]`` output by image into ``[n_i, 5]`` arrays of ``x, y, w, h, score``,
    sorted by descending score (the official WIDER prediction order)."""
    bbox = np.asarray(bbox, np.float32).reshape(-1, 6)
    out, start = [], 0
    for n in np.asarray(bbox_num).reshape(-1).astype(int):
        det = bbox[start:start + n]
        start += n
        xywh = np.stack([det[:, 2], det[:, 3], det[:, 4] - det[:, 2], det[:, 5] - det[:, 3], det[:, 1]], axis=1)
        out.append(xywh[np.argsort(-xywh[:, 4], kind="stable")])
    return out


class WiderFaceAPMetric(Metric):
    """Easy / medium / hard AP of the WIDER protocol over an eval dataset in WIDER layout.

    Args:
        dataset (WIDERFaceDetDataset): the eval dataset (gives image names and the gt file).
        difficulty_file (str|None): per-image easy/medium/hard face indices; default: the
            ``difficulty_easy_medium_hard.txt`` beside the gt file.

    ``get_results()`` returns ``{'bbox': [mean AP], 'easy': .., 'medium': .., 'hard': ..}``;
    the trainer keeps ``best_model`` by the mean.
    """

    def __init__(self, dataset, difficulty_file=None):
        self.dataset = dataset
        self.gt_file = dataset.get_anno()
        self.difficulty_file = difficulty_file
        self.reset()

    def reset(self):
        self.preds = {}
        self.results = {}

    def set_predictions(self, predictions):
        """Predictions ``{"<event>/<name>": [K, 5] left, top, width, height, score}`` to score."""
        self.preds = dict(predictions)

    def update(self, inputs, outputs):
        raise NotImplementedError("WiderFaceAPMetric is fed by FaceTrainer through set_predictions() "
                                  "(the tools/eval.py prediction code), not per batch")

    def accumulate(self):
        from eval_tools import evaluate_widerface

        result = evaluate_widerface(self.preds, self.gt_file, difficulty=self.difficulty_file)
        self.results = {k: float(result.ap[k]) for k in ("easy", "medium", "hard")}
        self.results["bbox"] = [float(np.mean([self.results[k] for k in ("easy", "medium", "hard")]))]

    def log(self):
        r = self.results
        logger.info("WIDER AP  easy %.4f  medium %.4f  hard %.4f", r["easy"], r["medium"], r["hard"])

    def get_results(self):
        return self.results


class NonFiniteLossError(FloatingPointError):
    """Training stopped because the loss became NaN or infinite."""


class DataReaderError(RuntimeError):
    """Training stopped because the data reader failed (a transform or the dataset raised)."""


class NonFiniteLossGuard(Callback):
    """Stop training at the first non-finite loss, or at a finite loss explosion.

    NaN / Inf stop at once. A finite loss counts as exploding when it is more than
    ``explosion_factor`` times the median of the last ``window`` good iterations (once
    ``warmup`` are known); ``patience`` exploding iterations in a row stop training (one odd
    batch does not). Both messages name the epoch and iteration. The check runs after each
    step, before the next checkpoint can be written, so the last checkpoint on disk is the last
    good one (for an explosion: unless an epoch ended within the ``patience`` iterations).

    Args:
        model: the trainer (``cfg.save_dir`` / ``cfg.filename`` name the checkpoint folder).
        explosion_factor (float): 0 disables the explosion check. Default: 100 (config key
            ``loss_explosion_factor``).
        patience (int): exploding iterations in a row that stop training. Default: 3.
        window (int): good iterations the median is taken over. Default: 100.
        warmup (int): good iterations needed before the explosion check starts. Default: 20.
    """

    def __init__(self, model, explosion_factor=100.0, patience=3, window=100, warmup=20):
        super().__init__(model)
        if explosion_factor < 0:
            raise ValueError(f"loss_explosion_factor must be >= 0 (0: off), got {explosion_factor}")
        self.explosion_factor = float(explosion_factor)
        self.patience, self.warmup = int(patience), int(warmup)
        self.history = collections.deque(maxlen=int(window))
        self.exploding = 0

    def _stop(self, what, status):
        cfg = self.model.cfg
        raise NonFiniteLossError(
            f"{what} at epoch {status['epoch_id']}, iteration {status['step_id']}; training stopped. The last good "
            f"checkpoint is in {os.path.join(cfg.save_dir, cfg.filename)} (lower the learning rate or check the "
            "data, then resume with -r)")

    def on_step_end(self, status):
        if status.get("mode") != "train":
            return
        stats = status.get("training_staus")
        meters = getattr(stats, "meters", None) or {}
        if "loss" not in meters or not meters["loss"].deque:
            return
        value = np.asarray(meters["loss"].deque[-1], np.float64)
        if not np.isfinite(value).all():
            self._stop(f"loss is {value.ravel()[0]}", status)
        loss = float(value.ravel()[0])
        if self.explosion_factor and len(self.history) >= self.warmup:
            median = float(np.median(self.history))
            if loss > self.explosion_factor * max(median, 1e-12):
                self.exploding += 1
                if self.exploding >= self.patience:
                    self._stop(f"loss exploded: {loss:.4g}, more than {self.explosion_factor:g}x the median "
                               f"{median:.4g} of the previous {len(self.history)} iterations, for "
                               f"{self.exploding} iterations in a row", status)
                return
        self.exploding = 0
        self.history.append(loss)


class BadImageReport(Callback):
    """At each training epoch end, log how many unusable images the dataset skipped."""

    def __init__(self, model):
        super().__init__(model)
        self.reported = 0

    def on_epoch_end(self, status):
        if status.get("mode") != "train":
            return
        count = getattr(self.model.dataset, "bad_images", 0)
        if count > self.reported:
            logger.warning("epoch %d: %d unusable images skipped so far (%d this epoch); see the warnings above",
                           status["epoch_id"], count, count - self.reported)
            self.reported = count


def check_num_max_boxes(dataset, reader_cfg):
    """Log how many training faces ``PadBox`` drops; warn (and return the message) when any is.

    With ``PadGT`` in ``batch_transforms`` instead (each batch padded to its most crowded image) no
    face is dropped, and the log says ``0``.
    """
    limits = [t["PadBox"].get("num_max_boxes", 50) for t in reader_cfg.get("sample_transforms", [])
              if isinstance(t, dict) and "PadBox" in t]
    counts = [len(r.get("gt_bbox", ())) for r in getattr(dataset, "roidbs", None) or []]
    over = [c for c in counts if limits and c > min(limits)]
    if not over:
        logger.info("faces truncated by the reader: 0 of %d (%s)", sum(counts),
                    f"PadBox num_max_boxes={min(limits)}" if limits else "no PadBox limit")
        return None
    limit = min(limits)
    msg = (f"{len(over)} training images have more than num_max_boxes={limit} faces (up to {max(over)}); "
           f"PadBox keeps only the first {limit} of each: {sum(c - limit for c in over)} of {sum(counts)} faces "
           "are dropped and trained as background. Raise PadBox num_max_boxes, or replace PadBox by "
           "'PadGT: {return_gt_mask: False}' in batch_transforms (our loss ignores padding and bounds its memory).")
    logger.warning(msg)
    return msg


class FaceTrainer(Trainer):
    """ppdet's Trainer, evaluating with :class:`WiderFaceAPMetric` when ``metric: WiderFace``,
    stopping at a non-finite loss, reporting skipped images and ``num_max_boxes`` truncation."""

    def __init__(self, cfg, mode="train"):
        super().__init__(cfg, mode=mode)
        if self.mode == "train":
            check_num_max_boxes(self.dataset, self.cfg.get("TrainReader", {}))

    def train(self, validate=False):
        """ppdet's training loop; a failing data reader raises :class:`DataReaderError` naming the error."""
        try:
            return super().train(validate=validate)
        except SystemError as exc:  # Paddle's "Blocking queue is killed because the data reader raises"
            failure = compat.reader_failure()
            if failure is None:
                raise
            raise DataReaderError(f"the data reader failed: {failure} (its traceback is above); training stopped. "
                                  f"The last checkpoint is in {os.path.join(self.cfg.save_dir, self.cfg.filename)}"
                                  ) from exc

    def _init_metrics(self, validate=False):
        if self.cfg.get("metric") == "WiderFace" and (self.mode == "eval" or (self.mode == "train" and validate)):
            dataset = self.cfg["EvalDataset"]
            if not dataset.roidbs:
                dataset.parse_dataset()
            self._metrics = [WiderFaceAPMetric(dataset, self.cfg.get("difficulty_file"))]
            return
        super()._init_metrics(validate=validate)

    def _eval_with_loader(self, loader):
        """WIDER evaluation with the same prediction code as tools/eval.py (single- or multi-scale
        by ``multi_scale_eval``), then the official-protocol AP; other metrics use ppdet's loop."""
        if not (self._metrics and isinstance(self._metrics[0], WiderFaceAPMetric)):
            return super()._eval_with_loader(loader)
        from .widerface_eval import WiderFacePredictor, list_wider_images, multi_scale_eval_enabled, predict_widerface

        tic = time.time()
        self._compose_callback.on_epoch_begin(self.status)
        self.status["mode"] = "eval"
        model = getattr(self.model, "_layers", self.model)
        model.eval()
        dataset = self.cfg["EvalDataset"]
        images, _ = list_wider_images(dataset.dataset_dir, dataset.image_dir, dataset.anno_path)
        predictor = WiderFacePredictor.from_config(self.cfg, model, backend="dygraph")
        pred_dir = os.path.join(self.cfg.save_dir, self.cfg.filename, "eval_pred")
        run = predict_widerface(predictor, images, pred_dir, multi_scale=multi_scale_eval_enabled(self.cfg),
                                progress=False)
        metric = self._metrics[0]
        metric.set_predictions(run.predictions)
        metric.accumulate()
        metric.log()
        self.status["sample_num"] = len(images)
        self.status["cost_time"] = time.time() - tic
        self._compose_callback.on_epoch_end(self.status)
        self._reset_metrics()

    def _init_callbacks(self):
        super()._init_callbacks()
        if self.mode == "eval":  # ppdet adds its own WIDER callback (face_eval_run); we evaluate ourselves
            self._callbacks = [c for c in self._callbacks if type(c).__name__ != "WiferFaceEval"]
            self._compose_callback = ComposeCallback(self._callbacks)
        elif self.mode == "train":
            guard = {"explosion_factor": float(self.cfg["loss_explosion_factor"])} \
                if "loss_explosion_factor" in self.cfg else {}  # else the guard's default
            self._callbacks += [NonFiniteLossGuard(self, **guard), BadImageReport(self)]
            self._compose_callback = ComposeCallback(self._callbacks)
