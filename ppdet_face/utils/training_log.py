"""Training curves from a training log: loss per epoch and the WIDER AP of each evaluation.

Reads two kinds of lines and ignores every other line:

* PaddleDetection's training lines,
  ``... ppdet.engine INFO: Epoch: [E] [I/N] learning_rate: ... loss: X loss_loc: ... loss_conf: ...``;
  every ``loss*: value`` field is collected and averaged per epoch ``E`` (as logged, 0-based);
* our evaluation lines, ``... INFO: WIDER AP  easy A  medium B  hard C``, logged after each
  evaluation (by ``ppdet_face.evaluation.metric``; older logs name ``ppdet_face.engine.trainer``;
  any logger name is read); an evaluation belongs to the last training epoch seen before it (one
  seen before any training line is ignored).

Numpy only (matplotlib for the plot): no paddle import.
"""
from __future__ import annotations

import math
import re
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from eval_tools.plotting import saved_figure

__all__ = ["TrainingLog", "TrainingLogError", "parse_training_log", "read_training_log", "plot_training_curves",
           "summary"]

_NUMBER = r"[-+]?(?:\d+\.?\d*(?:[eE][-+]?\d+)?|nan|inf)"
_TRAIN_RE = re.compile(r"Epoch: \[(\d+)\]\s*\[\s*(\d+)\s*/\s*(\d+)\]")
_LOSS_RE = re.compile(rf"\b(loss\w*): ({_NUMBER})\b", re.IGNORECASE)
_AP_RE = re.compile(rf"WIDER AP\s+easy ({_NUMBER})\s+medium ({_NUMBER})\s+hard ({_NUMBER})")
SETTINGS = ("easy", "medium", "hard")


class TrainingLogError(ValueError):
    """A log without training lines, or one that cannot be read; one-line message."""


@dataclass
class TrainingLog:
    """Per-epoch curves of one log.

    Attributes:
        epochs: int ``[E]``, the epochs with training lines, ascending.
        losses: per loss field (``loss``, ``loss_loc``, ...) float ``[E]``, the mean of the epoch's
            lines (NaN where the field was absent or not finite on all of them).
        eval_epochs: int ``[M]``, the epoch of each evaluation, in log order.
        ap: per setting float ``[M]``.
        train_lines: training lines read.
        ignored_evals: evaluation lines before any training line.
    """

    epochs: np.ndarray
    losses: dict = field(default_factory=dict)
    eval_epochs: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64))
    ap: dict = field(default_factory=dict)
    train_lines: int = 0
    ignored_evals: int = 0


def parse_training_log(lines, source="<log>"):
    """Parse log lines (format in the module docstring).

    Args:
        lines: iterable of text lines.
        source: name for the error message. Default: "<log>".

    Returns:
        :class:`TrainingLog`.

    Raises:
        TrainingLogError: no training line at all.
    """
    values = defaultdict(lambda: defaultdict(list))  # epoch -> loss name -> values
    evals, epoch, ignored, n_train = [], None, 0, 0
    for line in lines:
        m = _TRAIN_RE.search(line)
        if m:
            epoch = int(m.group(1))
            n_train += 1
            for name, value in _LOSS_RE.findall(line[m.end():]):
                values[epoch][name.lower()].append(float(value))
            continue
        m = _AP_RE.search(line)
        if m:
            if epoch is None:
                ignored += 1
            else:
                evals.append((epoch, *(float(v) for v in m.groups())))
    if not n_train:
        raise TrainingLogError(f"{source}: no training lines ('Epoch: [E] [I/N] ... loss: X') found")
    epochs = np.array(sorted(values), np.int64)
    names = sorted({n for per in values.values() for n in per}, key=lambda n: (n != "loss", n))
    losses = {n: np.array([_mean(values[e].get(n, [])) for e in epochs]) for n in names}
    ev = np.array(evals, np.float64).reshape(-1, 4)
    return TrainingLog(epochs=epochs, losses=losses, eval_epochs=ev[:, 0].astype(np.int64),
                       ap={s: ev[:, i + 1] for i, s in enumerate(SETTINGS)}, train_lines=n_train,
                       ignored_evals=ignored)


def _mean(values):
    finite = [v for v in values if math.isfinite(v)]
    return float(np.mean(finite)) if finite else math.nan


def read_training_log(path):
    """:func:`parse_training_log` of a file.

    Raises:
        TrainingLogError: a missing or unreadable file, or no training line.
    """
    try:
        with open(path, encoding="utf-8", errors="replace") as f:
            return parse_training_log(f, source=str(path))
    except OSError as exc:
        raise TrainingLogError(f"cannot read {path}: {exc.strerror or exc}") from None


def plot_training_curves(log, path, title=None, dpi=120):
    """Save loss per epoch (top) and the WIDER AP of each evaluation (bottom) as one PNG.

    Args:
        log: a :class:`TrainingLog`.
        path: output ``.png`` (parent folders are created).
        title: figure title. Default: None ("Training").
        dpi: resolution. Default: 120.

    Returns:
        The written path.
    """
    with saved_figure(path, dpi, title or "Training", nrows=2, figsize=(8, 7), sharex=True) as (_, (ax_loss, ax_ap)):
        for name, curve in log.losses.items():
            total = name == "loss"
            ax_loss.plot(log.epochs, curve, marker="o" if total else None, ms=3, lw=2 if total else 1,
                         ls="-" if total else "--", label=f"{name} (mean per epoch)")
        ax_loss.set_ylabel("loss")
        ax_loss.grid(True, alpha=0.3)
        ax_loss.legend(loc="upper right", fontsize=8)
        if len(log.eval_epochs):
            for s in SETTINGS:
                ax_ap.plot(log.eval_epochs, log.ap[s], marker="o", label=f"{s} (last {log.ap[s][-1]:.4f})")
            ax_ap.legend(loc="lower right", fontsize=8)
        else:
            ax_ap.text(0.5, 0.5, "no WIDER AP lines in the log", ha="center", va="center", transform=ax_ap.transAxes)
        ax_ap.set_ylim(0, 1)
        ax_ap.set_ylabel("WIDER AP")
        ax_ap.set_xlabel("epoch (as logged, 0-based)")
        ax_ap.grid(True, alpha=0.3)
    return Path(path)


def summary(log):
    """One line: epochs, last mean loss, evaluations and the best hard AP."""
    text = (f"{log.train_lines} training lines, epochs {log.epochs[0]}-{log.epochs[-1]}, "
            f"last mean loss {log.losses['loss'][-1]:.4f}" if "loss" in log.losses else
            f"{log.train_lines} training lines, epochs {log.epochs[0]}-{log.epochs[-1]}")
    if len(log.eval_epochs):
        best = int(np.nanargmax(log.ap["hard"])) if np.isfinite(log.ap["hard"]).any() else -1
        text += (f"; {len(log.eval_epochs)} evaluations, last easy / medium / hard "
                 f"{log.ap['easy'][-1]:.4f} / {log.ap['medium'][-1]:.4f} / {log.ap['hard'][-1]:.4f}")
        if best >= 0:
            text += f", best hard {log.ap['hard'][best]:.4f} (epoch {log.eval_epochs[best]})"
    else:
        text += "; no evaluation yet"
    return text
