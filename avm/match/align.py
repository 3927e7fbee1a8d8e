"""Temporal alignment: k-NN hits of one query's intervals → segment pairs along straight lines in time.

A copy maps query time ``q`` to reference time ``r = speed · q + offset``: ``speed`` is 1 for a plain copy and
lies in ``[min_speed, max_speed]`` when the pirate sped the video up or slowed it down. For each
reference, every candidate speed on a grid votes its hits into offset bins (``offset_tolerance`` wide); the
strongest (speed, offset) line wins and its hits are split into runs along the query wherever they pause
for more than ``max_gap``. Every long and strong enough run becomes a segment pair; the strongest remaining
line is tried next, so one query may yield several segments from several references.
"""

from __future__ import annotations

import numpy as np

from avm.match.options import AlignOptions
from avm.types import Hits, Segment


def _runs(times: np.ndarray, max_gap: float) -> list[np.ndarray]:
    """Split sorted positions into index groups wherever consecutive times differ by more than ``max_gap``."""
    order = np.argsort(times, kind="stable")
    breaks = np.nonzero(np.diff(times[order]) > max_gap)[0] + 1
    return np.split(order, breaks)


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


def candidate_speeds(opts: AlignOptions) -> np.ndarray:
    """The grid of speeds tried: from 1 out to ``min_speed`` and to ``max_speed`` (both included) in even steps
    of log speed no longer than ``log(1 + speed_step)``, ordered by distance from 1 in log scale, 1.0 first
    (ties between speeds go to the plainest copy)."""
    if not 0 < opts.min_speed <= opts.max_speed < float("inf"):
        raise ValueError(f"match.align speeds must satisfy 0 < min_speed <= max_speed (got {opts.min_speed}, "
                         f"{opts.max_speed})")
    limits = [limit for limit in (max(opts.max_speed, 1.0), min(opts.min_speed, 1.0)) if limit != 1.0]
    if opts.speed_step <= 0 or not limits:
        return np.ones(1)
    sides = []
    for limit in limits:
        n = int(np.ceil(abs(np.log(limit)) / np.log1p(opts.speed_step) - 1e-9))
        sides.append(np.exp(np.linspace(0.0, np.log(limit), n + 1)[1:]))
    speeds = np.concatenate([[1.0], *sides])
    return speeds[np.argsort(np.abs(np.log(speeds)), kind="stable")]


def max_speed_deviation(opts: AlignOptions) -> float:
    """How far from 1 the farthest candidate speed lies (the reach of a line per second of query)."""
    return float(max(abs(max(opts.max_speed, 1.0) - 1.0), abs(1.0 - min(opts.min_speed, 1.0))))


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
                     r_end: np.ndarray, sim: np.ndarray, modality: str, opts: AlignOptions,
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


def align_hits(query_id: str, query_t_start: np.ndarray, query_t_end: np.ndarray, hits: Hits, modality: str,
               opts: AlignOptions) -> list[Segment]:
    """Segment pairs of one query from its k-NN ``hits`` (``query_index`` into the query times)."""
    if len(hits) == 0:
        return []
    hits = hits.select(hits.similarity.astype(np.float64) >= opts.min_similarity)
    if opts.recurring_references > 0 and len(hits):
        hits = hits.select(_references_per_interval(hits.query_index, hits.video_id) < opts.recurring_references)
    qi, ref_ids, sim = hits.query_index, hits.video_id, hits.similarity.astype(np.float64)
    r_start, r_end = hits.t_start.astype(np.float64), hits.t_end.astype(np.float64)
    q_start, q_end = query_t_start.astype(np.float64)[qi], query_t_end.astype(np.float64)[qi]
    margin = boundary_margin(query_t_start, query_t_end, opts.window_overlap)
    segments: list[Segment] = []
    for ref_id in np.unique(ref_ids):
        mask = ref_ids == ref_id
        segments += _align_reference(query_id, str(ref_id), q_start[mask], q_end[mask], r_start[mask], r_end[mask],
                                     sim[mask], modality, opts, margin)
    return suppress_overlaps(segments, opts)


def suppress_overlaps(segments: list[Segment], opts: AlignOptions) -> list[Segment]:
    """Keep the strongest segments; drop a weaker one of the same (query, ref) pair that mostly overlaps a kept one."""
    kept: list[Segment] = []
    for seg in sorted(segments, key=lambda s: (-s.score * s.n_hits, s.query_start)):
        if any(k.ref_id == seg.ref_id and k.overlap_of_shorter(seg) > opts.suppress_overlap for k in kept):
            continue
        kept.append(seg)
        if len(kept) >= opts.max_segments_per_query:
            break
    return sorted(kept, key=lambda s: (s.query_start, s.ref_id))
