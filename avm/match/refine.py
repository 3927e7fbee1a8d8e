"""Refine candidate segments against the reference's own fingerprints, along the copy's time line.

k-NN hits are sparse: under heavy edits a copied interval's true match may rank below the k nearest or
under the hit threshold, so runs of hits break into fragments, stop short of the copy's ends, and give a
rough line when the copy was sped up or slowed down. Once a candidate segment is known, every query
interval can be compared directly with the reference interval that a line ``ref = speed · query + offset``
maps it to. Refinement

1. fits the line: the speed (on the aligner's grid) and offset (within ``offset_tolerance``) whose mapping
   gives the highest mean similarity over the candidate's span;
2. follows that line's similarity *track* along the whole query: the copy is the stretch of the track that
   stays at or above ``track_similarity`` (holes up to ``max_gap`` closed) around the candidate.

Fragments of one copy grow into the same stretch and collapse into one segment; boundaries come from the
track at the query step instead of from wherever the last k-NN hit happened to be.
"""

from __future__ import annotations

import dataclasses

import numpy as np

from avm.match.align import candidate_speeds, max_speed_deviation, segment_on_line
from avm.match.options import MatchOptions
from avm.types import Fingerprints, Segment

FIT_SECONDS = 120.0  # the line is fitted on at most this much of the candidate, around its middle
SHIFT_STEP = 0.25  # seconds between the offsets tried within ±offset_tolerance
REFIT_ROUNDS = 3


def _bracket(times: np.ndarray, expected: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """For sorted ``times``: the indices of the two entries bracketing each ``expected`` value (both the same
    at the ends), the weight of the later one for linear interpolation, and whether ``expected`` lies within
    the span of ``times`` (half a step of slack at either end)."""
    step = float(np.median(np.diff(times))) if len(times) > 1 else 1.0
    right = np.clip(np.searchsorted(times, expected), 0, len(times) - 1)
    left = np.clip(right - 1, 0, len(times) - 1)
    gap = times[right] - times[left]
    weight = np.clip(np.divide(expected - times[left], gap, out=np.zeros_like(expected), where=gap > 0), 0.0, 1.0)
    inside = (expected >= times[0] - step / 2) & (expected <= times[-1] + step / 2)
    return np.stack([left, right]), weight, inside


def line_track(query: Fingerprints, reference: Fingerprints, speed: float, offset: float) -> np.ndarray:
    """Per query interval, its similarity to the reference at ``speed · t + offset`` (interpolated between the
    two reference intervals bracketing that time); ``-1`` where the line leaves the reference."""
    track = np.full(len(query.t_start), -1.0)
    if len(track) == 0 or len(reference.t_start) == 0:
        return track
    expected = speed * query.t_start.astype(np.float64) + offset
    pair, weight, inside = _bracket(reference.t_start.astype(np.float64), expected)
    rows = np.flatnonzero(inside)
    q = query.vectors[rows].astype(np.float32)
    left, right = (np.einsum("nd,nd->n", q, reference.vectors[pair[k, rows]].astype(np.float32)) for k in (0, 1))
    track[rows] = (1.0 - weight[rows]) * left + weight[rows] * right
    return track


def line_support(seg: Segment, start: float, end: float, query: Fingerprints, reference: Fingerprints,
                 threshold: float) -> float:
    """Share of the query intervals within ``[start, end]`` whose similarity along ``seg``'s line reaches
    ``threshold`` (0 where the line leaves the reference, and when no interval lies within the span)."""
    t = query.t_start.astype(np.float64)
    rows = np.flatnonzero((t >= start) & (query.t_end.astype(np.float64) <= end))
    if len(rows) == 0:
        return 0.0
    track = line_track(query, reference, seg.speed, seg.offset)[rows]
    return float(np.mean(track >= threshold))


def fit_line(seg: Segment, query: Fingerprints, reference: Fingerprints, opts: MatchOptions) -> tuple[float, float]:
    """The (speed, offset) that maximises the mean track over ``seg``'s span (see module docstring)."""
    q_t = query.t_start.astype(np.float64)
    middle = (seg.query_start + seg.query_end) / 2
    half = min(FIT_SECONDS, seg.query_end - seg.query_start) / 2
    rows = np.flatnonzero((q_t >= middle - half) & (q_t <= middle + half))
    if len(rows) < 2 or len(reference.t_start) < 2:
        return seg.speed, seg.offset
    r_t = reference.t_start.astype(np.float64)
    anchor = seg.speed * middle + seg.offset  # reference time of the middle on the aligner's line
    # the reference intervals any tried line can reach from these query intervals
    reach = max_speed_deviation(opts.align) * half + abs(seg.speed - 1.0) * half + opts.align.offset_tolerance + 1.0
    cols = np.flatnonzero((r_t >= anchor - half - reach) & (r_t <= anchor + half + reach))
    if len(cols) < 2:
        return seg.speed, seg.offset
    sims = query.vectors[rows].astype(np.float32) @ reference.vectors[cols].astype(np.float32).T  # [n, m]
    speeds = candidate_speeds(opts.align)
    shifts = np.arange(-opts.align.offset_tolerance, opts.align.offset_tolerance + 1e-9, SHIFT_STEP)
    shifts = shifts[np.argsort(np.abs(shifts), kind="stable")]  # 0 first: ties keep the aligner's offset
    speed_grid, shift_grid = (g.ravel() for g in np.meshgrid(speeds, shifts, indexing="ij"))
    expected = speed_grid[:, None] * (q_t[rows] - middle)[None, :] + (anchor + shift_grid)[:, None]  # [C, n]
    pair, weight, inside = _bracket(r_t[cols], expected)
    n = np.arange(len(rows))[None, :]
    track = (1.0 - weight) * sims[n, pair[0]] + weight * sims[n, pair[1]]
    score = np.where(inside, track, -1.0).mean(axis=1)
    best = int(np.argmax(score))  # first of the ties: speed nearest 1, then the smallest shift
    plain = np.flatnonzero(speed_grid == 1.0)
    plain_best = int(plain[np.argmax(score[plain])])
    if score[best] - score[plain_best] < opts.refine.speed_margin:  # a changed speed must earn its place
        best = plain_best
    speed = float(speed_grid[best])
    return speed, float(anchor + shift_grid[best] - speed * middle)


def stretches(on: np.ndarray, t_start: np.ndarray, max_gap: float) -> list[tuple[int, int]]:
    """``(first, last)`` indices of the runs of ``on`` intervals, holes shorter than ``max_gap`` closed."""
    idx = np.flatnonzero(on)
    if len(idx) == 0:
        return []
    breaks = np.flatnonzero(np.diff(t_start[idx]) > max_gap) + 1
    return [(int(run[0]), int(run[-1])) for run in np.split(idx, breaks)]


def refine_segment(seg: Segment, query: Fingerprints, reference: Fingerprints, opts: MatchOptions,
                   margin: float) -> Segment:
    """``seg`` on its fitted line, its query span set to the track's stretch above ``track_similarity``
    that overlaps it; boundaries move by ``margin`` from the outer intervals (as in alignment).

    A segment whose track has no stretch over it, or one less than half its length, is returned unchanged.
    """
    t_start, t_end = query.t_start.astype(np.float64), query.t_end.astype(np.float64)
    current, span = seg, None
    # fit on the candidate, follow the track, refit on what the track found: a short candidate gives a rough
    # speed that the longer stretch then pins down
    for _ in range(REFIT_ROUNDS):
        speed, offset = fit_line(current, query, reference, opts)
        track = line_track(query, reference, speed, offset)
        found = _covering_stretch(track, t_start, t_end, current, opts)
        if found is None:
            break
        settled, span = found == span, found
        first, last = span
        current = segment_on_line(seg.query_id, seg.ref_id, float(t_start[first]) + margin,
                                  float(t_end[last]) - margin, speed, offset,
                                  float(reference.t_end.max()) - margin * speed, seg.score, seg.modality, seg.n_hits)
        on_line = track[first:last + 1]
        current = dataclasses.replace(current, score=float(on_line[on_line > -1].mean()))
        if settled:
            break
    if span is None or current.query_end - current.query_start < (seg.query_end - seg.query_start) / 2:
        return seg
    return current


def _covering_stretch(track: np.ndarray, t_start: np.ndarray, t_end: np.ndarray, seg: Segment,
                      opts: MatchOptions) -> tuple[int, int] | None:
    """First and last interval of the track's stretches above ``track_similarity`` that overlap ``seg``,
    trimmed to intervals at or above ``edge_similarity`` (and the ``edge_fraction`` level); None when there
    is none."""
    covering = [(a, b) for a, b in stretches(track >= opts.refine.track_similarity, t_start, opts.align.max_gap)
                if t_start[a] <= seg.query_end and t_end[b] >= seg.query_start]
    if not covering:
        return None
    first, last = covering[0][0], covering[-1][1]
    refine = opts.refine
    edge = refine.edge_similarity
    if refine.edge_fraction > 0:
        plateau = float(np.median(track[first:last + 1]))
        edge = max(edge, refine.track_similarity + refine.edge_fraction * (plateau - refine.track_similarity))
    strong = np.flatnonzero(track[first:last + 1] >= edge) + first
    return (int(strong[0]), int(strong[-1])) if len(strong) else None
