"""The full evaluation report: metrics, per-group table, false positives, JSON and figures, in one call."""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pandas as pd

from avm.evaluate.metrics import evaluate
from avm.evaluate.pairs import SCORE, pairs_frame
from avm.evaluate.tables import (
    UNASSIGNED,
    assign_predictions,
    breakdown,
    false_positive_counts,
    restrict_to_evidence,
)
from avm.evaluate.vsc import segment_pr_curve
from avm.types import Segment

REPORT_FILES = ("metrics.json", "per_edit.csv", "pr_curve.png", "score_hist.png")


def _plain(value: Any) -> Any:
    """numpy scalars (and anything with ``.item()``) as plain Python numbers, for ``json``."""
    if hasattr(value, "item"):
        return value.item()
    raise TypeError(f"{type(value).__name__} is not JSON serialisable")


def write_json(metrics: dict[str, Any], path: str | Path) -> None:
    """Write metrics as an indented JSON object (numpy scalars become plain numbers; nesting allowed)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(metrics, indent=2, default=_plain) + "\n")


def write_report(pred: Sequence[Segment], gt: Sequence[Segment], out_dir: str | Path,
                 edits_df: pd.DataFrame | None = None, queries_meta: pd.DataFrame | None = None,
                 label: str = "avm", evidence: Sequence[str] = ()) -> dict[str, Any]:
    """Write ``REPORT_FILES`` under ``out_dir`` and return what ``metrics.json`` holds.

    ``metrics.json``: ``label``, the overall ``evaluate`` metrics and the false-positive counts at top
    level, and ``breakdown``, a list of the ``per_edit.csv`` rows (definitions in :mod:`avm.evaluate.tables`).
    ``edits_df``: the benchmark's ``edits.csv`` table; ``queries_meta``: ``video_id, kind`` rows.
    ``evidence`` (needs ``edits_df``): score only the copies with that evidence, e.g. ``("audio", "both")``
    for a system that matches audio alone (``tables.restrict_to_evidence``).
    """
    # matplotlib takes about a second to import: it loads only when a report is drawn.
    from avm.evaluate.plots import plot_pr_curve, plot_score_histogram

    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    if evidence:
        if edits_df is None:
            raise ValueError("scoring by evidence needs the edits table (edits.csv)")
        pred, gt = restrict_to_evidence(pred, gt, edits_df, list(evidence))
    table = breakdown(pred, gt, edits_df)
    report = {"label": label, "evidence": list(evidence) or "all", **evaluate(pred, gt),
              **false_positive_counts(pred, gt, queries_meta), "breakdown": table.to_dict(orient="records")}
    table.to_csv(out_dir / "per_edit.csv", index=False)
    write_json(report, out_dir / "metrics.json")
    pred_frame, gt_frame = pairs_frame(pred), pairs_frame(gt)
    plot_pr_curve(segment_pr_curve(pred_frame, gt_frame), out_dir / "pr_curve.png",
                  title=f"{label}: segment precision-recall (AP {report['segment_ap']:.3f})")
    true = assign_predictions(pred, gt) != UNASSIGNED
    plot_score_histogram(pred_frame[SCORE].to_numpy(), true, out_dir / "score_hist.png",
                         title=f"{label}: scores of true vs false predictions")
    return report
