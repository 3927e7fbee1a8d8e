"""VSC 2022 matching-track metric: segment-level micro average precision.

Re-implemented from the definition in ``match_metric`` of ``vsc/metrics.py`` in
https://github.com/facebookresearch/vsc2022 (itself following VCSL's precision/recall):

* Each match is a box: (query interval) x (reference interval) within one (query, ref) pair.
* Predictions are taken in order of decreasing score; all predictions sharing one score value
  are added together as one step.
* Per pair and per axis (query, reference), after each step:
  ``covered`` = length of the union of the pair's predicted intervals on that axis, and
  ``hit`` = length of that union intersected with the union of the pair's *active* ground-truth
  intervals, where a ground-truth box becomes active once some prediction of the pair overlaps
  it with positive 2-D area (overlap on one axis alone counts for nothing).
* Summing over pairs, per axis: ``precision = hit / covered`` and ``recall = hit / gt`` with
  ``gt`` = summed per-pair union length of ground-truth intervals on that axis. The step's
  precision and recall are the geometric means over the two axes.
* ``AP = sum over steps of precision * (recall - previous recall)`` (no interpolation).

Deviations, all at edges where the original would fail: zero denominators give 0 instead of
raising (an empty ground truth gives AP 0.0), non-finite scores raise ``ValueError``, and ids
are compared as strings without video extension rather than parsed from ``Q…``/``R…`` names.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from avm.evaluate.pairs import SCORE

Box = tuple[float, float, float, float]  # query_start, query_end, ref_start, ref_end
_AXES = ((0, 1), (2, 3))  # box indices of (start, end) on the query and reference axes
_ROW_ORDER = ["query_id", "ref_id", "query_start", "query_end", "ref_start", "ref_end"]


def union_length(intervals: list[tuple[float, float]]) -> float:
    """Total length covered by possibly overlapping intervals."""
    total, reach = 0.0, -math.inf
    for start, end in sorted(intervals):
        if end > reach:
            total += end - max(start, reach)
            reach = end
    return total


def _intersection_length(a: list[tuple[float, float]], b: list[tuple[float, float]]) -> float:
    """Length of (union of a) ∩ (union of b), via |A| + |B| - |A ∪ B|."""
    return union_length(a) + union_length(b) - union_length(a + b)


def _boxes_overlap(a: Box, b: Box) -> bool:
    """True when the two boxes share positive area (touching edges do not count)."""
    return all(min(a[e], b[e]) - max(a[s], b[s]) > 0 for s, e in _AXES)


@dataclass
class _PairState:
    """Predictions added so far for one (query, ref) pair and the ground truth they activated."""

    gts: list[Box] = field(default_factory=list)
    preds: list[Box] = field(default_factory=list)
    active: set[int] = field(default_factory=set)
    hit: np.ndarray = field(default_factory=lambda: np.zeros(2))
    covered: np.ndarray = field(default_factory=lambda: np.zeros(2))

    def gt_length(self) -> np.ndarray:
        return np.array([union_length([(g[s], g[e]) for g in self.gts]) for s, e in _AXES])

    def add(self, box: Box) -> tuple[np.ndarray, np.ndarray]:
        """Add a prediction; return the change of ``hit`` and ``covered`` (per axis).

        ``hit``: length of the pair's predictions on active ground truth; ``covered``: length of
        the pair's predictions.
        """
        self.preds.append(box)
        self.active.update(i for i, g in enumerate(self.gts) if _boxes_overlap(g, box))
        hit, covered = np.zeros(2), np.zeros(2)
        for axis, (s, e) in enumerate(_AXES):
            pred_iv = [(p[s], p[e]) for p in self.preds]
            gt_iv = [(self.gts[i][s], self.gts[i][e]) for i in self.active]
            hit[axis] = _intersection_length(pred_iv, gt_iv)
            covered[axis] = union_length(pred_iv)
        deltas = hit - self.hit, covered - self.covered
        self.hit, self.covered = hit, covered
        return deltas


def _safe_div(num: np.ndarray, den: np.ndarray) -> np.ndarray:
    return np.divide(num, den, out=np.zeros_like(num, dtype=np.float64), where=den > 0)


def segment_pr_curve(pred: pd.DataFrame, gt: pd.DataFrame) -> pd.DataFrame:
    """One row per distinct score (descending): ``score``, ``precision``, ``recall``; inputs are pair frames."""
    if not np.isfinite(pred[SCORE]).all():
        raise ValueError("prediction scores must be finite")
    pred = pred.sort_values(SCORE, ascending=False, kind="stable")

    pairs: dict[tuple[str, str], _PairState] = {}
    for q, r, *box in gt[_ROW_ORDER].itertuples(index=False, name=None):
        pairs.setdefault((q, r), _PairState()).gts.append(tuple(box))
    gt_total = sum((p.gt_length() for p in pairs.values()), np.zeros(2))

    # Running sums over pairs, updated with each touched pair's change.
    hit, covered = np.zeros(2), np.zeros(2)
    rows = list(pred[[*_ROW_ORDER, SCORE]].itertuples(index=False, name=None))
    curve = []
    for i, (q, r, *box, score) in enumerate(rows):
        d_hit, d_covered = pairs.setdefault((q, r), _PairState()).add(tuple(box))
        hit += d_hit
        covered += d_covered
        if i + 1 == len(rows) or rows[i + 1][-1] != score:  # end of a group of equal scores
            precision = math.sqrt(float(np.prod(_safe_div(hit, covered))))
            recall = math.sqrt(float(np.prod(_safe_div(hit, gt_total))))
            curve.append((score, precision, recall))
    return pd.DataFrame(curve, columns=["score", "precision", "recall"])


def segment_ap(pred: pd.DataFrame, gt: pd.DataFrame) -> float:
    """VSC-2022 segment-level micro AP of predictions against ground truth (pair frames)."""
    curve = segment_pr_curve(pred, gt)
    recall_gain = np.diff(curve["recall"].to_numpy(), prepend=0.0)
    return float(np.sum(curve["precision"].to_numpy() * recall_gain))
