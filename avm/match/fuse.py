"""Combine the segments that each modality found for one query."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable

from avm.match.options import FuseOptions
from avm.types import Segment

# (segment, query start, query end) → how well every modality's fingerprints follow the segment's line over
# that span (avm.match.matcher: 0 to the number of modalities)
LineSupport = Callable[[Segment, float, float], float]


def same_copy(a: Segment, b: Segment, tolerance: float) -> bool:
    """Same reference, overlapping in query time, and on about the same line where they overlap."""
    start, end = max(a.query_start, b.query_start), min(a.query_end, b.query_end)
    if a.ref_id != b.ref_id or end <= start:
        return False
    middle = (start + end) / 2
    return abs((a.speed * middle + a.offset) - (b.speed * middle + b.offset)) <= tolerance


def _merge(a: Segment, b: Segment) -> Segment:
    """One segment spanning both, on the line of the better-supported one, scored by the noisy-OR of both."""
    line = a if a.n_hits >= b.n_hits else b
    start, end = min(a.query_start, b.query_start), max(a.query_end, b.query_end)
    modalities = "+".join(sorted(set(a.modality.split("+")) | set(b.modality.split("+"))))
    return Segment(a.query_id, start, end, a.ref_id, max(0.0, line.speed * start + line.offset),
                   line.speed * end + line.offset, 1.0 - (1.0 - a.score) * (1.0 - b.score), modalities,
                   a.n_hits + b.n_hits, line.speed)


def _conflict(a: Segment, b: Segment, overlap: float) -> bool:
    """Same reference and mostly the same query time, on different lines: at most one of them is right."""
    return a.ref_id == b.ref_id and a.overlap_of_shorter(b) > overlap


def _strength(seg: Segment) -> float:
    return seg.score * (seg.query_end - seg.query_start)


def _stronger(a: Segment, b: Segment, support: LineSupport | None, margin: float) -> Segment:
    """Of two contradicting segments, the one whose line the fingerprints of all modalities follow over more
    (by more than ``margin``, summed) of the contested query time; otherwise the stronger (score × duration)."""
    if support is not None:
        start, end = max(a.query_start, b.query_start), min(a.query_end, b.query_end)
        sa, sb = support(a, start, end), support(b, start, end)
        if abs(sa - sb) > margin:
            return a if sa > sb else b
    return max(a, b, key=_strength)


def _trimmed(seg: Segment, start: float, end: float) -> Segment:
    """``seg`` cut to query ``[start, end]`` on its own line, its hit count cut in proportion."""
    share = (end - start) / max(seg.query_end - seg.query_start, 1e-9)
    return dataclasses.replace(seg, query_start=start, query_end=end, ref_start=seg.speed * start + seg.offset,
                               ref_end=seg.speed * end + seg.offset, n_hits=max(1, round(seg.n_hits * share)))


def _uncontested(loser: Segment, winner: Segment, min_duration: float) -> list[Segment]:
    """The parts of ``loser`` before and after ``winner``'s query span that last at least ``min_duration``."""
    parts = [(loser.query_start, min(loser.query_end, winner.query_start)),
             (max(loser.query_start, winner.query_end), loser.query_end)]
    return [_trimmed(loser, a, b) for a, b in parts if b - a >= min_duration]


def fuse_modalities(per_modality: dict[str, list[Segment]], offset_tolerance: float,
                    support: LineSupport | None = None, min_duration: float = 0.0,
                    opts: FuseOptions | None = None) -> list[Segment]:
    """Merge segments of different modalities that describe the same copy; keep the others as they are.

    A merged segment spans both, scores the noisy-OR of both scores (agreeing evidence ranks higher), and is
    labelled with every modality that supports it (e.g. ``audio+visual``). Segments of different modalities that
    pair the same query time (more than ``opts.conflict_overlap`` of the shorter) with the same reference on
    different lines contradict each other: one wins the contested time. With ``support``, the one whose line both
    modalities' fingerprints follow over more of the contested time (by ``opts.support_margin``) wins: a picture
    that repeats in the reference (a still, a loop) lets the visual hits pick the wrong place, while the
    soundtrack there still tells the places apart. Otherwise, or when the support is even, the stronger
    (score × duration) wins. The loser keeps its parts outside the winner's query span that last at least
    ``min_duration`` (a long segment may span a copy the other modality places elsewhere, then one it does not
    contest).
    """
    opts = opts or FuseOptions()
    merged: list[Segment] = []
    pending = [seg for modality in sorted(per_modality) for seg in per_modality[modality]][::-1]
    while pending:
        seg = pending.pop()
        for i, other in enumerate(merged):
            if seg.modality in other.modality.split("+"):
                continue
            if same_copy(other, seg, offset_tolerance):
                merged[i] = _merge(other, seg)
                break
            if _conflict(other, seg, opts.conflict_overlap):
                merged[i] = _stronger(other, seg, support, opts.support_margin)
                loser = seg if merged[i] is other else other
                pending += _uncontested(loser, merged[i], min_duration)[::-1]
                break
        else:
            merged.append(seg)
    return sorted(merged, key=lambda s: (s.query_start, s.ref_id))
