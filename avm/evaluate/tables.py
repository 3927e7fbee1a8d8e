"""Metrics per edit, per evidence and per difficulty, false positives on negative queries, and text tables.

Definitions (the benchmark's ``edits.csv`` gives every ground-truth row its ``edits`` and ``evidence``):

* **Assignment.** Each prediction is assigned to the ground-truth row of the same (query, ref) pair that
  it overlaps most on the query axis (interval IoU > 0; ties go to the earlier row). A prediction that
  overlaps no row of its pair is *unassigned*: a false positive that belongs to no edit.
* **Groups** of ground-truth rows: ``all``; per ``edit`` name, the rows carrying that edit (a row with
  several edits is in several groups; a row without edits is in ``none``); per ``evidence`` (``audio``,
  ``visual``, ``both``); per ``difficulty``: ``hard`` when any of the row's edits is in ``HARD_EDITS``,
  ``standard`` otherwise.
* **Per-group metrics** are ``metrics.evaluate`` (hackathon ``final``, ``f1``, ``iou``; VSC
  ``segment_ap``) on (the predictions assigned to the group's rows, those rows), so they measure how well
  those copies are found and bounded: a fragmented detection costs F1 and IoU, a wrong reference offset
  costs IoU. ``recall`` is the share of the group's rows with at least one assigned prediction.
  Unassigned predictions count in no group (not even ``all``); they are reported once (``fp_unassigned``,
  ``fp_negative_queries`` for those on queries that ``queries_meta`` marks ``negative``, and
  ``fp_shared_negative_queries`` for those on the negative queries among them that carry content shared
  across the catalog, such as an intro or a channel logo: a non-empty ``shared`` column), and the overall
  metrics of ``metrics.evaluate`` on everything include them.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any

import numpy as np
import pandas as pd

from avm.evaluate.hackathon import interval_iou
from avm.evaluate.io import segments_from_rows
from avm.evaluate.metrics import evaluate
from avm.evaluate.pairs import PAIR_KEY, pairs_frame, strip_video_ext
from avm.schema import PAIR_COLUMNS
from avm.types import Segment

HARD_EDITS = frozenset({"pip", "hflip", "speed", "pitch", "new_audio", "new_video"})
EVIDENCE_ORDER = ("audio", "visual", "both")
NO_EDIT = "none"
UNASSIGNED = -1
BREAKDOWN_COLUMNS = ["group_type", "group", "n_gt", "n_pred", "final", "f1", "iou", "segment_ap", "recall"]


def edit_names(label: object) -> tuple[str, ...]:
    """``"crop(frac=0.1,x=0.88);volume(db=5)"`` -> ``("crop", "volume")``; empty or NaN -> ``()``."""
    if not isinstance(label, str):
        return ()
    return tuple(name for part in label.split(";") if (name := part.split("(", 1)[0].strip()))


def _assign(pred: pd.DataFrame, gt: pd.DataFrame) -> np.ndarray:
    """:func:`assign_predictions` on pair frames."""
    cand = pred.reset_index(names="pred_row").merge(gt.reset_index(names="gt_row"), on=PAIR_KEY,
                                                    suffixes=("", "_gt"))
    cand["iou"] = interval_iou(cand["query_start"], cand["query_end"], cand["query_start_gt"], cand["query_end_gt"])
    best = (cand[cand["iou"] > 0].sort_values(["pred_row", "iou", "gt_row"], ascending=[True, False, True])
            .drop_duplicates("pred_row").set_index("pred_row")["gt_row"])
    return best.reindex(range(len(pred)), fill_value=UNASSIGNED).to_numpy(dtype=np.int64)


def assign_predictions(pred: Sequence[Segment], gt: Sequence[Segment]) -> np.ndarray:
    """For each prediction, the position of its ground-truth row in ``gt`` (see module docstring),
    or ``UNASSIGNED``."""
    return _assign(pairs_frame(pred), pairs_frame(gt))


def _annotate(gt: pd.DataFrame, edits_df: pd.DataFrame) -> pd.DataFrame:
    """:func:`annotate_ground_truth` on a pair frame."""
    missing_cols = {"edits", "evidence"} - set(edits_df.columns)
    if missing_cols:
        raise ValueError(f"edits table lacks columns {sorted(missing_cols)}; has {list(edits_df.columns)}")
    gt = gt[list(PAIR_COLUMNS)].copy()
    evidence = edits_df["evidence"].fillna("").astype(str).str.strip()
    notes = pairs_frame(segments_from_rows(edits_df, "edits table"))[list(PAIR_COLUMNS)].assign(
        edits=list(map(edit_names, edits_df["edits"])), evidence=evidence.where(evidence != "", "unknown").to_numpy())
    keys = [*PAIR_COLUMNS, "_nth"]
    gt["_nth"] = gt.groupby(list(PAIR_COLUMNS)).cumcount()
    notes["_nth"] = notes.groupby(list(PAIR_COLUMNS)).cumcount()
    out = gt.merge(notes, on=keys, how="left", indicator=True)
    missing = out[out["_merge"] != "both"]
    if len(missing):
        first = missing.iloc[0][list(PAIR_COLUMNS)].to_dict()
        raise ValueError(f"{len(missing)} ground-truth rows have no row in the edits table, e.g. {first}")
    out["hard"] = [any(e in HARD_EDITS for e in names) for names in out["edits"]]
    return out.drop(columns=["_nth", "_merge"])


def annotate_ground_truth(gt: Sequence[Segment], edits_df: pd.DataFrame) -> pd.DataFrame:
    """The pair frame of ``gt`` (without ``score``) with ``edits`` (tuple of names), ``evidence`` and ``hard`` from
    an edits table (text cells; its pairs in any layout of :func:`avm.evaluate.io.segments_from_rows`).

    Rows are matched on the six pair columns (the k-th duplicate with the k-th duplicate); a ground-truth
    row without an edits row raises ``ValueError``.
    """
    return _annotate(pairs_frame(gt), edits_df)


def _groups(notes: pd.DataFrame | None, n_gt: int) -> Iterator[tuple[str, str, np.ndarray]]:
    """``(group_type, group, boolean mask over ground-truth rows)`` for every non-empty group."""
    yield "all", "all", np.ones(n_gt, dtype=bool)
    if notes is None:
        return
    hard = notes["hard"].to_numpy(dtype=bool)
    yield from (("difficulty", name, mask) for name, mask in (("standard", ~hard), ("hard", hard)) if mask.any())
    evidence = notes["evidence"].to_numpy()
    present = set(evidence)
    for name in [e for e in EVIDENCE_ORDER if e in present] + sorted(present - set(EVIDENCE_ORDER)):
        yield "evidence", name, evidence == name
    names = [set(e) or {NO_EDIT} for e in notes["edits"]]
    for name in sorted(set().union(*names)):
        yield "edit", name, np.array([name in n for n in names], dtype=bool)


def breakdown(pred: Sequence[Segment], gt: Sequence[Segment], edits_df: pd.DataFrame | None = None) -> pd.DataFrame:
    """One row per group (``BREAKDOWN_COLUMNS``): metrics of the group's assigned predictions against its
    ground-truth rows. Without ``edits_df`` only the ``all`` row."""
    gt_frame = pairs_frame(gt)
    notes = _annotate(gt_frame, edits_df) if edits_df is not None else None
    assigned = _assign(pairs_frame(pred), gt_frame)
    rows = []
    for group_type, group, mask in _groups(notes, len(gt)):
        in_group = np.flatnonzero(mask)
        group_pred = [pred[i] for i in np.flatnonzero(np.isin(assigned, in_group))]
        found = np.isin(in_group, assigned)
        metrics = evaluate(group_pred, [gt[i] for i in in_group])
        rows.append({"group_type": group_type, "group": group, "n_gt": len(in_group), "n_pred": len(group_pred),
                     **{k: metrics[k] for k in ("final", "f1", "iou", "segment_ap")}, "recall": float(found.mean())})
    return pd.DataFrame(rows, columns=BREAKDOWN_COLUMNS)


def false_positive_counts(pred: Sequence[Segment], gt: Sequence[Segment],
                          queries_meta: pd.DataFrame | None = None) -> dict[str, int]:
    """``fp_unassigned``; with ``queries_meta`` (``video_id, kind[, shared]``) also ``negative_queries``,
    ``fp_negative_queries`` (unassigned predictions on them) and ``negative_queries_flagged``; and when it has
    a ``shared`` column, ``shared_negative_queries`` (negative queries whose ``shared`` is not empty) and
    ``fp_shared_negative_queries`` (unassigned predictions on those)."""
    pred_frame = pairs_frame(pred)
    unassigned = _assign(pred_frame, pairs_frame(gt)) == UNASSIGNED
    counts = {"fp_unassigned": int(unassigned.sum())}
    if queries_meta is not None:
        kind = queries_meta["kind"].astype(str).str.strip().str.lower()
        negative = set(queries_meta.loc[kind == "negative", "video_id"].map(strip_video_ext))
        on_negative = unassigned & pred_frame["query_id"].isin(negative).to_numpy()
        counts |= {"negative_queries": len(negative), "fp_negative_queries": int(on_negative.sum()),
                   "negative_queries_flagged": int(pred_frame.loc[on_negative, "query_id"].nunique())}
        if "shared" in queries_meta.columns:
            shared = queries_meta["shared"].fillna("").astype(str).str.strip() != ""
            with_shared = set(queries_meta.loc[(kind == "negative") & shared, "video_id"].map(strip_video_ext))
            on_shared = unassigned & pred_frame["query_id"].isin(with_shared).to_numpy()
            counts |= {"shared_negative_queries": len(with_shared), "fp_shared_negative_queries": int(on_shared.sum())}
    return counts


def restrict_to_evidence(pred: Sequence[Segment], gt: Sequence[Segment], edits_df: pd.DataFrame,
                         evidence: Sequence[str]) -> tuple[list[Segment], list[Segment]]:
    """The ground-truth segments whose evidence is in ``evidence``, and the predictions to score against them.

    For scoring one modality on the copies it can see (e.g. audio-only matching on copies whose audio was
    kept: ``evidence=("audio", "both")``). Predictions on a pair whose ground-truth rows all carry other
    evidence are dropped (those copies are out of scope, neither found nor missed); every other prediction
    stays, so a pair found where there is no copy still counts as a false positive.
    """
    gt_frame = pairs_frame(gt)
    kept = _annotate(gt_frame, edits_df)["evidence"].isin(list(evidence)).to_numpy()
    in_scope = set(map(tuple, gt_frame.loc[kept, PAIR_KEY].to_numpy()))
    out_of_scope = set(map(tuple, gt_frame.loc[~kept, PAIR_KEY].to_numpy())) - in_scope
    pair = map(tuple, pairs_frame(pred)[PAIR_KEY].to_numpy())
    return ([s for s, p in zip(pred, pair, strict=True) if p not in out_of_scope],
            [s for s, k in zip(gt, kept, strict=True) if k])


def _text_table(header: Sequence[str], rows: Sequence[Sequence[str]], left: Sequence[bool]) -> str:
    """Columns separated by two spaces, each left-aligned where ``left`` says so, else right-aligned."""
    widths = [max(len(cell) for cell in column) for column in zip(header, *rows, strict=True)]

    def line(cells: Sequence[str]) -> str:
        aligned = zip(cells, widths, left, strict=True)
        return "  ".join(f"{c:<{w}}" if is_left else f"{c:>{w}}" for c, w, is_left in aligned)

    return "\n".join([line(header), line(["-" * w for w in widths]), *map(line, rows)])


def _cell(value: Any, decimals: int) -> str:
    return f"{value:.{decimals}f}" if isinstance(value, float) else str(value)


def format_table(metrics: dict[str, float | int]) -> str:
    """Two aligned columns, ``metric`` and ``value``; floats with 4 decimals."""
    return _text_table(["metric", "value"], [[str(k), _cell(v, 4)] for k, v in metrics.items()], left=[True, False])


def format_breakdown(df: pd.DataFrame) -> str:
    """A table such as :func:`breakdown`'s as plain text: text columns left-aligned, floats with 3 decimals."""
    rows = [[_cell(v, 3) for v in row] for row in df.itertuples(index=False, name=None)]
    left = [not pd.api.types.is_numeric_dtype(df[c]) for c in df.columns]
    return _text_table([str(c) for c in df.columns], rows, left=left)
