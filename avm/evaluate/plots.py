"""Report figures as PNG files (800 x 500 px): the segment precision-recall curve and the score histogram.

Figures are drawn on matplotlib's Agg canvas directly, without pyplot, so no global backend is set.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator

FIGSIZE, DPI = (8.0, 5.0), 100


def _new_axes(title: str, xlabel: str, ylabel: str):
    fig = Figure(figsize=FIGSIZE, dpi=DPI)
    FigureCanvasAgg(fig)
    ax = fig.add_subplot()
    ax.set(title=title, xlabel=xlabel, ylabel=ylabel)
    ax.grid(alpha=0.3)
    return fig, ax


def _no_data(ax, text: str) -> None:
    ax.text(0.5, 0.5, text, transform=ax.transAxes, ha="center", va="center", fontsize=14, color="gray")


def _save(fig: Figure, path: str | Path) -> Path:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.tight_layout()
    fig.savefig(path, format="png")
    return path


def plot_pr_curve(curve_df: pd.DataFrame, path: str | Path, title: str = "Segment precision-recall") -> Path:
    """Precision against recall of ``segment_pr_curve`` output (one point per score threshold)."""
    fig, ax = _new_axes(title, "recall (segment length)", "precision (segment length)")
    ax.set(xlim=(0.0, 1.02), ylim=(0.0, 1.02))
    if curve_df.empty:
        _no_data(ax, "no predictions")
    else:
        recall = np.concatenate([[0.0], curve_df["recall"].to_numpy()])
        precision = np.concatenate([curve_df["precision"].to_numpy()[:1], curve_df["precision"].to_numpy()])
        # "pre": precision p_i holds on (r_{i-1}, r_i], so the area under the steps is the segment AP.
        ax.step(recall, precision, where="pre", color="tab:blue", linewidth=2, label="area under the steps = AP")
        ax.plot(curve_df["recall"], curve_df["precision"], "o", color="tab:blue", markersize=3)
        ax.legend(loc="lower left")
    return _save(fig, path)


def plot_score_histogram(scores: np.ndarray, true: np.ndarray, path: str | Path,
                         title: str = "Prediction scores") -> Path:
    """Overlaid histograms of the ``scores`` of true predictions (``true``: those that overlap a ground-truth row
    of their pair, ``tables.assign_predictions``) and of false ones."""
    fig, ax = _new_axes(title, "score", "predictions")
    if len(scores) == 0:
        _no_data(ax, "no predictions")
        return _save(fig, path)
    bins = np.histogram_bin_edges(scores, bins=30)
    for mask, name, color in ((true, "true (overlaps ground truth)", "tab:green"),
                              (~true, "false (overlaps none)", "tab:red")):
        ax.hist(scores[mask], bins=bins, alpha=0.55, color=color, edgecolor=color, label=f"{name}: {mask.sum()}")
    ax.yaxis.set_major_locator(MaxNLocator(integer=True))
    ax.legend(loc="best")
    return _save(fig, path)
