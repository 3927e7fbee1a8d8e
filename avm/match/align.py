"""Temporal alignment: k-NN hits of one query's intervals → segment pairs along straight lines in time.

A copy maps query time ``q`` to reference time ``r = speed · q + offset``: ``speed`` is 1 for a plain copy and
differs from 1 by up to ``max_speed_change`` when the pirate sped the video up or slowed it down. For each
reference, every candidate speed on a grid votes its hits into offset bins (``offset_tolerance`` wide); the
strongest (speed, offset) line wins and its hits are split into runs along the query wherever they pause for more than ``max_gap``. Every long and strong enough
run becomes a segment pair; the strongest remaining line is tried next, so one query may yield several
segments from several references.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pyarrow as pa


@dataclass(frozen=True)
class MatchOptions:
    """Thresholds of the aligner for one modality (mirrors the ``match`` config)."""

    min_similarity: float = 0.5  # hits below this similarity are ignored (a floor under the calibrated threshold)
    hit_quantile: float = 0.99  # calibrated hit threshold: this quantile of similarities between unrelated videos
    calibration_samples: int = 2000  # stored intervals sampled to estimate that distribution
    min_calibration_samples: int = 100  # fewer (a tiny catalog): min_similarity is used as it is
    offset_tolerance: float = 1.0  # seconds: hits within this of a line are consistent with it
    max_speed_change: float = 0.1  # lines with speed (reference s per query s) in [1 − this, 1 + this]
    speed_step: float = 0.005  # grid step of candidate speeds
    speed_margin: float = 0.01  # refinement keeps speed 1 unless another raises the mean similarity by this much
    max_gap: float = 4.0  # seconds without a consistent hit that end a segment
    min_duration: float = 4.0  # shortest segment reported (query side, seconds)
    min_hits: int = 3  # fewest consistent hits in a reported segment
    min_score: float = 0.0  # lowest segment score reported (after refinement: the mean similarity along the copy)
    # decision threshold: min_score is raised so that time-reversed catalog videos, matched as negative queries
    # (`null_hours` of them), give at most `false_positives_per_hour` segments per query-hour
    null_hours: float = 10.0
    false_positives_per_hour: float = 0.1
    # a query interval whose hits reach this many different references is recurring content (a jingle, a
    # station logo, silence, a black frame): its hits are ignored (0: never)
    recurring_references: int = 4
    max_segments_per_query: int = 50
    suppress_overlap: float = 0.5  # a weaker segment of the same pair overlapping a stronger one by more is dropped
    # share of an interval's window that must lie inside a copy for the interval to match (a property of the
    # model: 0.5 when a window matches once most of it is copied, 1.0 when only wholly copied windows match);
    # it sets how far a run's outer hits are moved to estimate the copy's boundaries
    window_overlap: float = 0.5
    # refinement along each candidate's line (avm.match.refine): intervals whose similarity to the reference
    # position the line maps them to reaches this threshold belong to the copy; calibrated like the hit
    # threshold from `track_quantile` of the impostor similarities (this value is the floor); a negative
    # track_quantile turns refinement off
    track_quantile: float = 0.5
    track_similarity: float = 0.0
    edge_quantile: float = 0.9
    edge_similarity: float = 0.0
    # a copy's first and last intervals must also reach this fraction of the way from track_similarity up to
    # the median track along the copy (0: off): a window half inside a clean copy still scores high, so an
    # absolute edge threshold lets boundaries spill over by a window; a level relative to the copy's own
    # similarity places them where windows are about half copied
    edge_fraction: float = 0.0


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
    speed: float = 1.0  # reference seconds per query second (> 1: the copy was sped up)

    @property
    def offset(self) -> float:
        """``ref_start − speed · query_start``: the line ``ref = speed · query + offset`` of this copy."""
        return self.ref_start - self.speed * self.query_start


def _runs(times: np.ndarray, max_gap: float) -> list[np.ndarray]:
    """Split sorted positions into index groups wherever consecutive times differ by more than ``max_gap``."""
    order = np.argsort(times, kind="stable")
    breaks = np.nonzero(np.diff(times[order]) > max_gap)[0] + 1
    return np.split(order, breaks)


def _overlap_fraction(a: Segment, b: Segment) -> float:
    inter = min(a.query_end, b.query_end) - max(a.query_start, b.query_start)
    shorter = min(a.query_end - a.query_start, b.query_end - b.query_start)
    return max(0.0, inter) / shorter if shorter > 0 else 0.0


def boundary_margin(query_t_start: np.ndarray, query_t_end: np.ndarray, window_overlap: float = 0.5) -> float:
    """How far a run's outer interval edges lie outside the copy (negative: inside it).

    A window matches once ``window_overlap`` of it lies inside the copy, so the first matching window starts
    about ``(1 − window_overlap) · window`` before the copy, give or take half a step:
    ``margin = (1 − window_overlap) · window − step / 2``. With 0.5 this is half of (window − step): a run
    spans from its first centre − step/2 to its last centre + step/2.
    """
    if len(query_t_start) < 2:
        return 0.0
    window = float(np.median(query_t_end - query_t_start))
    step = float(np.median(np.diff(np.sort(query_t_start))))
    return (1.0 - window_overlap) * window - step / 2


def candidate_speeds(opts: MatchOptions) -> np.ndarray:
    """The grid of speeds tried, 1.0 first (ties between speeds go to the plainest copy)."""
    if opts.max_speed_change <= 0 or opts.speed_step <= 0:
        return np.ones(1)
    n = int(np.floor(opts.max_speed_change / opts.speed_step + 1e-9))
    deltas = np.arange(1, n + 1) * opts.speed_step
    return np.concatenate([[1.0], np.ravel(np.column_stack([1.0 + deltas, 1.0 - deltas]))])


def _strongest_line(q: np.ndarray, r: np.ndarray, sim: np.ndarray, speeds: np.ndarray,
                    tolerance: float) -> tuple[float, float]:
    """The (speed, offset) whose ±tolerance band around ``r = speed·q + offset`` holds the most similarity."""
    offsets = r[None, :] - speeds[:, None] * q[None, :]  # [speeds, hits]
    order = np.argsort(offsets, axis=1, kind="stable")
    sorted_offsets = np.take_along_axis(offsets, order, axis=1)
    cumulative = np.concatenate([np.zeros((len(speeds), 1)), np.cumsum(sim[order], axis=1)], axis=1)
    # one searchsorted over all rows: shift each row into its own range
    span = float(sorted_offsets.max() - sorted_offsets.min()) + 4 * tolerance + 1.0
    shifted = (sorted_offsets + np.arange(len(speeds))[:, None] * span).ravel()
    lo = np.searchsorted(shifted, shifted - tolerance, side="left").reshape(offsets.shape)
    hi = np.searchsorted(shifted, shifted + tolerance, side="right").reshape(offsets.shape)
    row_start = (np.arange(len(speeds)) * offsets.shape[1])[:, None]
    votes = np.take_along_axis(cumulative, hi - row_start, axis=1) - np.take_along_axis(cumulative, lo - row_start,
                                                                                         axis=1)
    best = votes.max()
    row = int(np.argmax(votes.max(axis=1) >= best - 1e-9))  # first row: the speed closest to 1 among ties
    return float(speeds[row]), float(sorted_offsets[row, int(np.argmax(votes[row]))])


def segment_on_line(query_id: str, ref_id: str, start: float, end: float, speed: float, offset: float,
                    ref_limit: float, score: float, modality: str, n_hits: int) -> Segment:
    """The segment of query ``[start, end]`` on the line ``ref = speed · query + offset``, with the query span
    clipped to where the line maps into the reference (``[0, ref_limit]``) and to the query's start."""
    start = max(start, 0.0, -offset / speed)
    end = max(start, min(end, (ref_limit - offset) / speed))
    return Segment(query_id, start, end, ref_id, speed * start + offset, speed * end + offset, score, modality,
                   n_hits, speed)


def _align_reference(query_id: str, ref_id: str, q_start: np.ndarray, q_end: np.ndarray, r_start: np.ndarray,
                     r_end: np.ndarray, sim: np.ndarray, modality: str, opts: MatchOptions,
                     margin: float = 0.0) -> list[Segment]:
    segments: list[Segment] = []
    speeds = candidate_speeds(opts)
    tolerance = opts.offset_tolerance
    remaining = np.ones(len(sim), dtype=bool)
    while remaining.any():
        idx = np.nonzero(remaining)[0]
        speed, offset = _strongest_line(q_start[idx], r_start[idx], sim[idx], speeds, tolerance)
        members = idx[np.abs(r_start[idx] - (speed * q_start[idx] + offset)) <= tolerance + 1e-9]
        remaining[members] = False
        for run in _runs(q_start[members], opts.max_gap):
            hits = members[run]
            # one hit per query interval: the most similar one
            by_sim = hits[np.argsort(-sim[hits], kind="stable")]
            hits = by_sim[np.unique(q_start[by_sim], return_index=True)[1]]
            start, end = float(q_start[hits].min()) + margin, float(q_end[hits].max()) - margin
            score = float(sim[hits].mean())
            line = float(np.median(r_start[hits] - speed * q_start[hits]))
            seg = segment_on_line(query_id, ref_id, start, end, speed, line, float(r_end[hits].max()) - margin * speed,
                                  score, modality, int(len(hits)))
            if len(hits) < opts.min_hits or seg.query_end - seg.query_start < opts.min_duration:
                continue
            segments.append(seg)
    return segments


def _references_per_interval(query_index: np.ndarray, ref_ids: np.ndarray) -> np.ndarray:
    """For each hit, how many different references the hits of its query interval reach."""
    _, ref_codes = np.unique(ref_ids, return_inverse=True)
    pairs = np.unique(np.column_stack([query_index.astype(np.int64), ref_codes.astype(np.int64)]), axis=0)
    intervals, counts = np.unique(pairs[:, 0], return_counts=True)
    return counts[np.searchsorted(intervals, query_index)]


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
    if opts.recurring_references > 0 and len(qi):
        specific = _references_per_interval(qi, ref_ids) < opts.recurring_references
        qi, ref_ids, r_start, r_end, sim = qi[specific], ref_ids[specific], r_start[specific], r_end[specific], sim[specific]
    q_start, q_end = query_t_start.astype(np.float64)[qi], query_t_end.astype(np.float64)[qi]
    margin = boundary_margin(query_t_start, query_t_end, opts.window_overlap)
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
