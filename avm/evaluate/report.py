"""One call that scores predictions with both metrics, plus a text table and a JSON dump."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd

from avm.evaluate.hackathon import hackathon_metrics
from avm.evaluate.segments import as_pairs, to_whole_seconds
from avm.evaluate.vsc import segment_ap


def evaluate(pred_df: pd.DataFrame, gt_df: pd.DataFrame) -> dict[str, float | int]:
    """Hackathon metrics on whole-second predictions (as a CSV submission would be scored)
    plus ``segment_ap`` (VSC 2022) on the unrounded predictions and their scores."""
    pred, gt = as_pairs(pred_df, with_score=True), as_pairs(gt_df)
    metrics = hackathon_metrics(to_whole_seconds(pred), gt)
    metrics["segment_ap"] = segment_ap(pred, gt)
    return metrics


def format_table(metrics: dict[str, float | int]) -> str:
    """Two aligned columns, ``metric`` and ``value``; floats with 4 decimals."""
    cells = [(str(k), f"{v:.4f}" if isinstance(v, float) else str(v)) for k, v in metrics.items()]
    width = max([len("metric")] + [len(k) for k, _ in cells])
    value_width = max([len("value")] + [len(v) for _, v in cells])
    lines = [f"{'metric':<{width}}  {'value':>{value_width}}", f"{'-' * width}  {'-' * value_width}"]
    lines += [f"{k:<{width}}  {v:>{value_width}}" for k, v in cells]
    return "\n".join(lines)


def write_json(metrics: dict[str, float | int], path: str | Path) -> None:
    """Write metrics as an indented JSON object (numpy scalars become plain numbers)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    plain = {k: v.item() if hasattr(v, "item") else v for k, v in metrics.items()}
    path.write_text(json.dumps(plain, indent=2) + "\n")
