"""Temporal alignment: k-NN hits of one query's intervals → segment pairs at a consistent time offset.

For each reference, hits vote for the offset ``ref_time − query_time``; the strongest offset is taken, its
hits are split into runs along the query wherever the gap exceeds ``max_gap``, and every long and strong
enough run becomes a segment pair. The strongest remaining offset is tried next, so one query may yield
several segments from several references.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pyarrow as pa


@dataclass(frozen=True)
class MatchOptions:
    """Thresholds of the aligner (mirrors the ``match`` config)."""

    min_similarity: float = 0.5  # hits below this similarity are ignored (a floor under the calibrated threshold)
    hit_quantile: float = 0.99  # calibrated hit threshold: this quantile of similarities between unrelated videos
    calibration_samples: int = 2000  # stored intervals sampled to estimate that distribution
    min_calibration_samples: int = 100  # fewer (a tiny catalog): min_similarity is used as it is
    offset_tolerance: float = 1.0  # seconds: hits within this of the peak offset are consistent with it
    max_gap: float = 4.0  # seconds without a consistent hit that end a segment
    min_duration: float = 4.0  # shortest segment reported (query side, seconds)
    min_hits: int = 3  # fewest consistent hits in a reported segment
    min_score: float = 0.0  # lowest segment score reported
    max_segments_per_query: int = 50
    suppress_overlap: float = 0.5  # a weaker segment of the same pair overlapping a stronger one by more is dropped


@dataclass(frozen=True)
class Segment:
    """One reported pair: query [query_start, query_end] ↔ reference [ref_start, ref_end]."""

    query_id: str
    query_start: float
    query_end: float
    ref_id: str
    ref_start: float
    ref_end: float
    score: float
    modality: str
    n_hits: int


def _runs(times: np.ndarray, max_gap: float) -> list[np.ndarray]:
    """Split sorted positions into index groups wherever consecutive times differ by more than ``max_gap``."""
    order = np.argsort(times, kind="stable")
    breaks = np.nonzero(np.diff(times[order]) > max_gap)[0] + 1
    return np.split(order, breaks)


def _overlap_fraction(a: Segment, b: Segment) -> float:
    inter = min(a.query_end, b.query_end) - max(a.query_start, b.query_start)
    shorter = min(a.query_end - a.query_start, b.query_end - b.query_start)
    return max(0.0, inter) / shorter if shorter > 0 else 0.0


def boundary_margin(query_t_start: np.ndarray, query_t_end: np.ndarray) -> float:
    """How far a run's outer interval edges lie outside the copy: half of (window − step).

    A window starts matching before the copy begins and goes on after it ends; each interval stands for the
    step around its centre, so a run spans from its first centre − step/2 to its last centre + step/2.
    """
    if len(query_t_start) < 2:
        return 0.0
    window = float(np.median(query_t_end - query_t_start))
    step = float(np.median(np.diff(np.sort(query_t_start))))
    return max(0.0, (window - step) / 2)


def _align_reference(query_id: str, ref_id: str, q_start: np.ndarray, q_end: np.ndarray, r_start: np.ndarray,
                     r_end: np.ndarray, sim: np.ndarray, modality: str, opts: MatchOptions,
                     margin: float = 0.0) -> list[Segment]:
    segments: list[Segment] = []
    offsets = r_start - q_start
    remaining = np.ones(len(sim), dtype=bool)
    while remaining.any():
        idx = np.nonzero(remaining)[0]
        idx = idx[np.argsort(offsets[idx], kind="stable")]
        # the offset with the most similarity within ±tolerance (evaluated at each hit's own offset)
        cumulative = np.concatenate([[0.0], np.cumsum(sim[idx])])
        lo = np.searchsorted(offsets[idx], offsets[idx] - opts.offset_tolerance, side="left")
        hi = np.searchsorted(offsets[idx], offsets[idx] + opts.offset_tolerance, side="right")
        peak = idx[int(np.argmax(cumulative[hi] - cumulative[lo]))]
        members = idx[np.abs(offsets[idx] - offsets[peak]) <= opts.offset_tolerance]
        remaining[members] = False
        for run in _runs(q_start[members], opts.max_gap):
            hits = members[run]
            # one hit per query interval: the most similar one
            _, first = np.unique(q_start[hits][np.argsort(-sim[hits], kind="stable")], return_index=True)
            hits = hits[np.argsort(-sim[hits], kind="stable")][first]
            start, end = float(q_start[hits].min()) + margin, float(q_end[hits].max()) - margin
            score = float(sim[hits].mean())
            if len(hits) < opts.min_hits or end - start < opts.min_duration or score < opts.min_score:
                continue
            offset = float(np.median(offsets[hits]))
            ref_start = max(0.0, start + offset)
            ref_end = min(end + offset, float(r_end[hits].max()) - margin)
            segments.append(Segment(query_id, start, end, ref_id, ref_start, max(ref_end, ref_start),
                                    score, modality, int(len(hits))))
    return segments


def align_hits(query_id: str, query_t_start: np.ndarray, query_t_end: np.ndarray, hits: pa.Table, modality: str,
               opts: MatchOptions) -> list[Segment]:
    """Segment pairs of one query from its k-NN ``hits`` (HITS_SCHEMA rows; ``query_index`` into the query times)."""
    if hits.num_rows == 0:
        return []
    sim = hits["similarity"].to_numpy().astype(np.float64)
    keep = sim >= opts.min_similarity
    qi = hits["query_index"].to_numpy()[keep]
    ref_ids = np.asarray(hits["video_id"].to_pylist(), dtype=object)[keep]
    r_start = hits["t_start"].to_numpy().astype(np.float64)[keep]
    r_end = hits["t_end"].to_numpy().astype(np.float64)[keep]
    sim = sim[keep]
    q_start, q_end = query_t_start.astype(np.float64)[qi], query_t_end.astype(np.float64)[qi]
    margin = boundary_margin(query_t_start, query_t_end)
    segments: list[Segment] = []
    for ref_id in np.unique(ref_ids):
        mask = ref_ids == ref_id
        segments += _align_reference(query_id, str(ref_id), q_start[mask], q_end[mask], r_start[mask], r_end[mask],
                                     sim[mask], modality, opts, margin)
    return suppress_overlaps(segments, opts)


def suppress_overlaps(segments: list[Segment], opts: MatchOptions) -> list[Segment]:
    """Keep the strongest segments; drop a weaker one of the same (query, ref) pair that mostly overlaps a kept one."""
    kept: list[Segment] = []
    for seg in sorted(segments, key=lambda s: (-s.score * s.n_hits, s.query_start)):
        if any(k.ref_id == seg.ref_id and _overlap_fraction(k, seg) > opts.suppress_overlap for k in kept):
            continue
        kept.append(seg)
        if len(kept) >= opts.max_segments_per_query:
            break
    return sorted(kept, key=lambda s: (s.query_start, s.ref_id))
