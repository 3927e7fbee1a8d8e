"""Scoring segment-pair predictions: the hackathon metric and VSC-2022 segment AP."""

from avm.evaluate.hackathon import hackathon_metrics, interval_iou
from avm.evaluate.report import evaluate, format_breakdown, format_table, write_json, write_report
from avm.evaluate.segments import (
    read_ground_truth_csv,
    read_predictions,
    to_whole_seconds,
    write_hackathon_csv,
)
from avm.evaluate.vsc import segment_ap, segment_pr_curve

__all__ = [
    "evaluate",
    "format_breakdown",
    "format_table",
    "hackathon_metrics",
    "interval_iou",
    "read_ground_truth_csv",
    "read_predictions",
    "segment_ap",
    "segment_pr_curve",
    "to_whole_seconds",
    "write_hackathon_csv",
    "write_json",
    "write_report",
]
