"""Plots of the evaluations (matplotlib, Agg backend): WIDER FACE PR curves (one result, or several
compared), FDDB ROC curves."""
from __future__ import annotations

import os
from collections.abc import Mapping
from contextlib import contextmanager
from pathlib import Path

import numpy as np

from .fddb import FDDBResult
from .widerface import SETTINGS, WiderEvalResult


@contextmanager
def saved_figure(path, dpi=120, suptitle=None, **subplots):
    """A matplotlib figure (Agg backend) drawn in the ``with`` block, then saved to ``path``.

    Yields ``(fig, axes)`` of ``plt.subplots(**subplots)``. On leaving the block: ``suptitle`` (when given),
    ``tight_layout`` and ``savefig(path, dpi=dpi)`` (parent folders created); the figure is closed in any case
    (nothing is written when the block raises).
    """
    import matplotlib

    matplotlib.use("Agg", force=True)
    import matplotlib.pyplot as plt

    Path(path).parent.mkdir(parents=True, exist_ok=True)
    fig, axes = plt.subplots(**subplots)
    try:
        yield fig, axes
        if suptitle:
            fig.suptitle(suptitle)
        fig.tight_layout()
        fig.savefig(path, dpi=dpi)
    finally:
        plt.close(fig)


def plot_pr_curves(result: WiderEvalResult, path: str | os.PathLike, title: str | None = None,
                   dpi: int = 120) -> Path:
    """Save the easy / medium / hard precision-recall curves as a PNG.

    Args:
        result: the evaluation result.
        path: output ``.png`` (parent folders are created).
        title: figure title (default: ``"WIDER FACE val"``).
        dpi: resolution.

    Returns:
        The written path.
    """
    with saved_figure(path, dpi, figsize=(6, 5)) as (_, ax):
        for setting in SETTINGS:
            prec = result.pr_curve[setting][:, 0]
            rec = result.pr_curve[setting][:, 1]
            ok = np.isfinite(prec) & np.isfinite(rec)
            ap = result.ap[setting]
            ax.plot(rec[ok], prec[ok], lw=2, label=f"{setting.capitalize()}  AP {ap:.4f}")
        ax.set_xlim(0, 1)
        ax.set_ylim(0, 1.02)
        ax.set_xlabel("Recall")
        ax.set_ylabel("Precision")
        ax.set_title(title or "WIDER FACE val")
        ax.grid(True, alpha=0.3)
        ax.legend(loc="lower left")
    return Path(path)


def plot_fddb_roc(results: list[FDDBResult], path: str | os.PathLike, title: str | None = None,
                  max_fp: int | None = None, dpi: int = 120) -> Path:
    """Save every detector's discrete and continuous FDDB ROC (TPR against false positives) as a PNG.

    Args:
        results: one :class:`FDDBResult` per detector.
        path: output ``.png`` (parent folders are created).
        title: figure title. Default: ``"FDDB"`` plus the clipping mode.
        max_fp: right end of the FP axis. Default: 2000 (the range papers show), or just past the
            longest curve when all end before.
        dpi: resolution. Default: 120.

    Returns:
        The written path.
    """
    longest = max((int(r.fp.max()) for r in results if len(r.fp)), default=0)
    max_fp = max_fp or min(2000, max(100, int(np.ceil(longest * 1.05 / 100)) * 100))
    clipped = "clipped to the images" if results and results[0].clipped else "not clipped to the images"
    suptitle = title or f"FDDB ({len(results[0].folds) if results else 0} folds, regions {clipped})"
    with saved_figure(path, dpi, suptitle, ncols=2, figsize=(11, 4.6), sharey=True) as (_, axes):
        for ax, curve, label in zip(axes, ("disc", "cont"), ("Discrete score", "Continuous score")):
            for r in results:
                tpr = r.disc_tpr if curve == "disc" else r.cont_tpr
                order = np.argsort(r.fp, kind="stable")  # FP ascending; steps at equal FP
                fp, tpr = r.fp[order], np.maximum.accumulate(tpr[order])
                at, reached = r.tpr_at(1000, curve)
                where = "1000 FP" if reached else f"{int(r.fp.max()) if len(r.fp) else 0} FP (end)"
                ax.step(fp, tpr, where="post", lw=2, label=f"{r.name}: TPR {at:.4f} at {where}")
            ax.set_xlim(0, max_fp)
            ax.set_ylim(0, 1.0)
            ax.set_xlabel("False positives")
            ax.set_title(label)
            ax.grid(True, alpha=0.3)
            ax.legend(loc="lower right", fontsize=8)
        axes[0].set_ylabel("True positive rate")
    return Path(path)


def plot_pr_comparison(results: Mapping[str, WiderEvalResult], path: str | os.PathLike,
                       title: str | None = None, dpi: int = 120) -> Path:
    """Save the PR curves of several detectors in one PNG: one panel per setting, one line each.

    Args:
        results: ``{label: result}``, in legend order.
        path: output ``.png`` (parent folders are created).
        title: figure title. Default: None (``"WIDER FACE val"``).
        dpi: resolution. Default: 120.

    Returns:
        The written path.

    Raises:
        ValueError: ``results`` is empty.
    """
    if not results:
        raise ValueError("no results to plot")
    with saved_figure(path, dpi, title or "WIDER FACE val", ncols=len(SETTINGS),
                      figsize=(6 * len(SETTINGS), 5.5 + 0.22 * len(results)), sharey=True) as (_, axes):
        for ax, setting in zip(axes, SETTINGS):
            for i, (label, result) in enumerate(results.items()):
                prec, rec = result.pr_curve[setting][:, 0], result.pr_curve[setting][:, 1]
                ok = np.isfinite(prec) & np.isfinite(rec)
                # 10 colours, then the same colours dashed, then dotted: no two lines alike up to 30 rows
                ax.plot(rec[ok], prec[ok], lw=1.6, color=f"C{i % 10}", linestyle=("-", "--", ":")[i // 10 % 3],
                        label=f"{label}  {result.ap[setting]:.3f}")
            ax.set_xlim(0, 1)
            ax.set_ylim(0, 1.02)
            ax.set_xlabel("Recall")
            ax.set_title(f"{setting.capitalize()} (AP in legend)")
            ax.grid(True, alpha=0.3)
            ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.12), fontsize=7, frameon=False)  # below the curves
        axes[0].set_ylabel("Precision")
    return Path(path)
