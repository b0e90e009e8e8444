"""PaddleDetection's Trainer with our WIDER FACE metric, loss guards and data-reader error reporting."""
import collections
import os
import time

import numpy as np
from ppdet.engine import Trainer
from ppdet.engine.callbacks import Callback, ComposeCallback

from .. import compat, config_keys
from ..evaluation import WiderFaceAPMetric, WiderFacePredictor, list_wider_images, predict_widerface
from ..utils.logging import get_logger

__all__ = ["FaceTrainer", "NonFiniteLossError", "NonFiniteLossGuard", "DataReaderError"]

logger = get_logger(__name__)


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
        explosion_factor (float): 0 disables the explosion check. Default: the config key
            ``loss_explosion_factor``'s (:mod:`ppdet_face.config_keys`).
        patience (int): exploding iterations in a row that stop training. Default: 3.
        window (int): good iterations the median is taken over. Default: 100.
        warmup (int): good iterations needed before the explosion check starts. Default: 20.
    """

    def __init__(self, model, explosion_factor=config_keys.KEYS["loss_explosion_factor"].default, patience=3,
                 window=100, warmup=20):
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


def _under(name, prefixes):
    return any(name == p or name.startswith(p + ".") for p in prefixes)


def freeze_except(model, prefixes):
    """Train only the parameters under ``prefixes`` (module paths of ``model``): every other parameter stops its
    gradient and every BatchNorm outside them normalises with its running statistics (which stop updating).

    Returns:
        tuple: ``(trained, frozen)`` parameter counts.

    Raises:
        config_keys.ConfigError: a prefix that names no parameter (the message lists the top-level modules).
    """
    import paddle

    names = [n for n, _ in model.named_parameters()]
    unknown = [p for p in prefixes if not any(_under(n, [p]) for n in names)]
    if unknown:
        tops = sorted({n.split(".")[0] for n in names})
        raise config_keys.ConfigError(f"train_only: {', '.join(unknown)} name no parameter of the model "
                                      f"(its modules: {', '.join(tops)})")
    for name, param in model.named_parameters():
        param.stop_gradient = not _under(name, prefixes)
    for name, layer in model.named_sublayers():
        if isinstance(layer, paddle.nn.layer.norm._BatchNormBase) and not _under(name, prefixes):
            layer._use_global_stats = True
    trained = sum(not p.stop_gradient for p in model.parameters())
    return trained, len(names) - trained


class FaceTrainer(Trainer):
    """ppdet's Trainer, evaluating with :class:`WiderFaceAPMetric` when ``metric: WiderFace``,
    stopping at a non-finite loss, reporting skipped images and ``num_max_boxes`` truncation."""

    def __init__(self, cfg, mode="train"):
        super().__init__(cfg, mode=mode)
        if self.mode == "train":
            check_num_max_boxes(self.dataset, self.cfg.get("TrainReader", {}))
            only = config_keys.get(self.cfg, "train_only")
            if only:
                trained, frozen = freeze_except(self.model, only)
                logger.info("train_only: %d parameters train, %d are frozen", trained, frozen)

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
            self._metrics = [WiderFaceAPMetric(dataset, config_keys.get(self.cfg, "difficulty_file"))]
            return
        super()._init_metrics(validate=validate)

    def _eval_with_loader(self, loader):
        """WIDER evaluation with the same prediction code as tools/eval.py (single- or multi-scale
        by ``multi_scale_eval``), then the official-protocol AP; other metrics use ppdet's loop."""
        if not (self._metrics and isinstance(self._metrics[0], WiderFaceAPMetric)):
            return super()._eval_with_loader(loader)
        tic = time.time()
        self._compose_callback.on_epoch_begin(self.status)
        self.status["mode"] = "eval"
        model = getattr(self.model, "_layers", self.model)
        model.eval()
        dataset = self.cfg["EvalDataset"]
        images, _ = list_wider_images(dataset.dataset_dir, dataset.image_dir, dataset.anno_path)
        predictor = WiderFacePredictor.from_config(self.cfg, model, backend="dygraph")
        pred_dir = os.path.join(self.cfg.save_dir, self.cfg.filename, "eval_pred")
        run = predict_widerface(predictor, images, pred_dir, multi_scale=config_keys.get(self.cfg, "multi_scale_eval"),
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
            factor = config_keys.get(self.cfg, "loss_explosion_factor")
            self._callbacks += [NonFiniteLossGuard(self, explosion_factor=factor), BadImageReport(self)]
            self._compose_callback = ComposeCallback(self._callbacks)
