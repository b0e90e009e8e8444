"""PR-curve plot of a WIDER FACE evaluation (matplotlib, Agg backend)."""
from __future__ import annotations

import os
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
