"""Scoring segment-pair predictions: the hackathon metric, VSC-2022 segment AP, per-edit tables and reports.

Predictions and ground truth are lists of :class:`avm.types.Segment` (:func:`read_predictions`,
:func:`read_ground_truth_csv`); the metric kernels in :mod:`avm.evaluate.hackathon` and :mod:`avm.evaluate.vsc`
work on their pair frames (:func:`avm.evaluate.pairs.pairs_frame`).
"""

from avm.evaluate.io import read_ground_truth_csv, read_predictions
from avm.evaluate.metrics import evaluate
from avm.evaluate.pairs import pairs_frame
from avm.evaluate.report import REPORT_FILES, write_json, write_report
from avm.evaluate.tables import (
    breakdown,
    edit_names,
    false_positive_counts,
    format_breakdown,
    format_table,
    restrict_to_evidence,
)

__all__ = [
    "REPORT_FILES",
    "breakdown",
    "edit_names",
    "evaluate",
    "false_positive_counts",
    "format_breakdown",
    "format_table",
    "pairs_frame",
    "read_ground_truth_csv",
    "read_predictions",
    "restrict_to_evidence",
    "write_json",
    "write_report",
]
