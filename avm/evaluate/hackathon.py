"""The hackathon metric, as the organisers compute it.

Rows are grouped by (piracy id, license id) pair. Per pair, ``TP = min(#pred, #true)``, surplus
predictions are FP, missing ones FN; every prediction of a pair absent from the ground truth is
FP. Each ground-truth row scores the best ``IoU(piracy) * IoU(license)`` over the predictions of
its pair (0 if none), with 1-D interval IoU on ``[start, end]`` in seconds. Then

    IoU_final = sum(row IoUs) / (N_gt + FP)
    final     = harmonic mean of F1 and IoU_final.

Scores are ignored. Inputs are pair frames (:mod:`avm.evaluate.pairs`). Submissions are whole seconds, so
``avm.evaluate.metrics.evaluate`` scores ``to_whole_seconds`` of the predictions.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from avm.evaluate.pairs import PAIR_KEY


def harmonic_mean(a: float, b: float) -> float:
    """``2ab / (a + b)``, or 0 when both are 0."""
    return 2.0 * a * b / (a + b) if a + b > 0 else 0.0


def _ratio(num: float, den: float) -> float:
    return num / den if den > 0 else 0.0


def interval_iou(a_start, a_end, b_start, b_end) -> np.ndarray:
    """Element-wise IoU of intervals ``[a_start, a_end]`` and ``[b_start, b_end]`` (0 if empty union)."""
    a_start, a_end, b_start, b_end = (np.asarray(x, dtype=np.float64) for x in (a_start, a_end, b_start, b_end))
    inter = np.clip(np.minimum(a_end, b_end) - np.maximum(a_start, b_start), 0.0, None)
    union = (a_end - a_start) + (b_end - b_start) - inter
    return np.divide(inter, union, out=np.zeros_like(inter), where=union > 0)


def _pair_counts(pred: pd.DataFrame, gt: pd.DataFrame) -> pd.DataFrame:
    """One row per pair seen in either table with ``n_pred`` and ``n_true``."""
    keys = pd.concat([pred[PAIR_KEY], gt[PAIR_KEY]]).drop_duplicates()
    counts = keys.merge(pred.groupby(PAIR_KEY).size().rename("n_pred").reset_index(), on=PAIR_KEY, how="left")
    counts = counts.merge(gt.groupby(PAIR_KEY).size().rename("n_true").reset_index(), on=PAIR_KEY, how="left")
    return counts.fillna({"n_pred": 0, "n_true": 0})


def _best_iou_per_gt_row(pred: pd.DataFrame, gt: pd.DataFrame) -> np.ndarray:
    """For each ground-truth row, the best piracy-IoU x license-IoU over its pair's predictions."""
    cand = gt.reset_index(names="gt_row").merge(pred, on=PAIR_KEY, suffixes=("", "_pred"))
    cand["iou"] = interval_iou(
        cand["query_start"], cand["query_end"], cand["query_start_pred"], cand["query_end_pred"]
    ) * interval_iou(cand["ref_start"], cand["ref_end"], cand["ref_start_pred"], cand["ref_end_pred"])
    best = cand.groupby("gt_row")["iou"].max()
    return best.reindex(range(len(gt)), fill_value=0.0).to_numpy()


def hackathon_metrics(pred: pd.DataFrame, gt: pd.DataFrame) -> dict[str, float | int]:
    """Hackathon score of predicted segment pairs against ground truth, both pair frames (see module docstring)."""
    counts = _pair_counts(pred, gt)
    tp = int(np.minimum(counts["n_pred"], counts["n_true"]).sum())
    fp = int((counts["n_pred"] - counts["n_true"]).clip(lower=0).sum())
    fn = int((counts["n_true"] - counts["n_pred"]).clip(lower=0).sum())

    precision = _ratio(tp, tp + fp)
    recall = _ratio(tp, tp + fn)
    f1 = harmonic_mean(precision, recall)
    iou = _ratio(float(_best_iou_per_gt_row(pred, gt).sum()), len(gt) + fp)
    return {
        "final": harmonic_mean(f1, iou),
        "f1": f1,
        "precision": precision,
        "recall": recall,
        "iou": iou,
        "tp": tp,
        "fp": fp,
        "fn": fn,
        "n_gt": len(gt),
        "n_pred": len(pred),
        "n_pairs": int(gt[PAIR_KEY].drop_duplicates().shape[0]),
        "n_queries": int(gt["query_id"].nunique()),
    }
