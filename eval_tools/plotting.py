"""PR-curve plots of WIDER FACE evaluations (matplotlib, Agg backend): one result, or several compared."""
from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path

import numpy as np

from .widerface import SETTINGS, WiderEvalResult


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
    import matplotlib

    matplotlib.use("Agg", force=True)
    import matplotlib.pyplot as plt

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig, ax = plt.subplots(figsize=(6, 5))
    try:
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
        fig.tight_layout()
        fig.savefig(path, dpi=dpi)
    finally:
        plt.close(fig)
    return path


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
    import matplotlib

    matplotlib.use("Agg", force=True)
    import matplotlib.pyplot as plt

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig, axes = plt.subplots(1, len(SETTINGS), figsize=(6 * len(SETTINGS), 5.5), sharey=True)
    try:
        for ax, setting in zip(axes, SETTINGS):
            for label, result in results.items():
                prec, rec = result.pr_curve[setting][:, 0], result.pr_curve[setting][:, 1]
                ok = np.isfinite(prec) & np.isfinite(rec)
                ax.plot(rec[ok], prec[ok], lw=1.6, label=f"{label}  {result.ap[setting]:.3f}")
            ax.set_xlim(0, 1)
            ax.set_ylim(0, 1.02)
            ax.set_xlabel("Recall")
            ax.set_title(f"{setting.capitalize()} (AP in legend)")
            ax.grid(True, alpha=0.3)
            ax.legend(loc="lower left", fontsize=7)
        axes[0].set_ylabel("Precision")
        fig.suptitle(title or "WIDER FACE val")
        fig.tight_layout()
        fig.savefig(path, dpi=dpi)
    finally:
        plt.close(fig)
    return path
