"""Both metrics of one set of predictions in one call."""

from __future__ import annotations

from collections.abc import Iterable

from avm.evaluate.hackathon import hackathon_metrics
from avm.evaluate.pairs import pairs_frame, to_whole_seconds
from avm.evaluate.vsc import segment_ap
from avm.types import Segment


def evaluate(pred: Iterable[Segment], gt: Iterable[Segment]) -> dict[str, float | int]:
    """Hackathon metrics on whole-second predictions (as a CSV submission would be scored)
    plus ``segment_ap`` (VSC 2022) on the unrounded predictions and their scores."""
    pred_frame, gt_frame = pairs_frame(pred), pairs_frame(gt)
    metrics = hackathon_metrics(to_whole_seconds(pred_frame), gt_frame)
    metrics["segment_ap"] = segment_ap(pred_frame, gt_frame)
    return metrics
