"""One call that scores predictions with both metrics, text tables, JSON, and the full evaluation report."""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pandas as pd

from avm.evaluate.hackathon import hackathon_metrics
from avm.evaluate.segments import as_pairs, to_whole_seconds
from avm.evaluate.vsc import segment_ap, segment_pr_curve

REPORT_FILES = ("metrics.json", "per_edit.csv", "pr_curve.png", "score_hist.png")


def evaluate(pred_df: pd.DataFrame, gt_df: pd.DataFrame) -> dict[str, float | int]:
    """Hackathon metrics on whole-second predictions (as a CSV submission would be scored)
    plus ``segment_ap`` (VSC 2022) on the unrounded predictions and their scores."""
    pred, gt = as_pairs(pred_df, with_score=True), as_pairs(gt_df)
    metrics = hackathon_metrics(to_whole_seconds(pred), gt)
    metrics["segment_ap"] = segment_ap(pred, gt)
    return metrics


def _text_table(header: Sequence[str], rows: Sequence[Sequence[str]], left: Sequence[bool]) -> str:
    """Columns separated by two spaces, each left-aligned where ``left`` says so, else right-aligned."""
    widths = [max(len(cell) for cell in column) for column in zip(header, *rows)]

    def line(cells: Sequence[str]) -> str:
        return "  ".join(f"{c:<{w}}" if is_left else f"{c:>{w}}" for c, w, is_left in zip(cells, widths, left))

    return "\n".join([line(header), line(["-" * w for w in widths]), *map(line, rows)])


def _cell(value: Any, decimals: int) -> str:
    return f"{value:.{decimals}f}" if isinstance(value, float) else str(value)


def format_table(metrics: dict[str, float | int]) -> str:
    """Two aligned columns, ``metric`` and ``value``; floats with 4 decimals."""
    return _text_table(["metric", "value"], [[str(k), _cell(v, 4)] for k, v in metrics.items()], left=[True, False])


def format_breakdown(df: pd.DataFrame) -> str:
    """A table such as ``breakdown``'s as plain text: text columns left-aligned, floats with 3 decimals."""
    rows = [[_cell(v, 3) for v in row] for row in df.itertuples(index=False, name=None)]
    left = [not pd.api.types.is_numeric_dtype(df[c]) for c in df.columns]
    return _text_table([str(c) for c in df.columns], rows, left=left)


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


def write_report(pred_df: pd.DataFrame, gt_df: pd.DataFrame, out_dir: str | Path,
                 edits_df: pd.DataFrame | None = None, queries_meta: pd.DataFrame | None = None,
                 label: str = "avm", evidence: Sequence[str] = ()) -> dict[str, Any]:
    """Write ``REPORT_FILES`` under ``out_dir`` and return what ``metrics.json`` holds.

    ``metrics.json``: ``label``, the overall ``evaluate`` metrics and the false-positive counts at top
    level, and ``breakdown``, a list of the ``per_edit.csv`` rows (definitions in ``breakdown``).
    ``edits_df``: the benchmark's ``edits.csv`` table; ``queries_meta``: ``video_id, kind`` rows.
    ``evidence`` (needs ``edits_df``): score only the copies with that evidence, e.g. ``("audio", "both")``
    for a system that matches audio alone (``breakdown.restrict_to_evidence``).
    """
    # Imported here: breakdown scores its groups with evaluate() above, and matplotlib loads only for reports.
    from avm.evaluate.breakdown import breakdown, false_positive_counts, restrict_to_evidence
    from avm.evaluate.plots import plot_pr_curve, plot_score_histogram

    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    pred, gt = as_pairs(pred_df, with_score=True), as_pairs(gt_df)
    if evidence:
        if edits_df is None:
            raise ValueError("scoring by evidence needs the edits table (edits.csv)")
        pred, gt = restrict_to_evidence(pred, gt, edits_df, list(evidence))
    table = breakdown(pred, gt, edits_df)
    report = {"label": label, "evidence": list(evidence) or "all", **evaluate(pred, gt),
              **false_positive_counts(pred, gt, queries_meta), "breakdown": table.to_dict(orient="records")}
    table.to_csv(out_dir / "per_edit.csv", index=False)
    write_json(report, out_dir / "metrics.json")
    plot_pr_curve(segment_pr_curve(pred, gt), out_dir / "pr_curve.png",
                  title=f"{label}: segment precision-recall (AP {report['segment_ap']:.3f})")
    plot_score_histogram(pred, gt, out_dir / "score_hist.png", title=f"{label}: scores of true vs false predictions")
    return report
