"""Combine the segments that each modality found for one query."""

from __future__ import annotations

from avm.match.align import Segment


def _same_copy(a: Segment, b: Segment, tolerance: float) -> bool:
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
    inter = min(a.query_end, b.query_end) - max(a.query_start, b.query_start)
    shorter = min(a.query_end - a.query_start, b.query_end - b.query_start)
    return a.ref_id == b.ref_id and shorter > 0 and inter / shorter > overlap


def _strength(seg: Segment) -> float:
    return seg.score * (seg.query_end - seg.query_start)


def fuse_modalities(per_modality: dict[str, list[Segment]], offset_tolerance: float,
                    conflict_overlap: float = 0.5) -> list[Segment]:
    """Merge segments of different modalities that describe the same copy; keep the others as they are.

    A merged segment spans both, scores the noisy-OR of both scores (agreeing evidence ranks higher), and is labelled
    with every modality that supports it (e.g. ``audio+visual``). Segments of different modalities that pair the
    same query time (more than ``conflict_overlap`` of the shorter) with the same reference on different lines
    contradict each other: only the stronger (score × duration) is kept.
    """
    merged: list[Segment] = []
    for modality in sorted(per_modality):
        for seg in per_modality[modality]:
            for i, other in enumerate(merged):
                if seg.modality in other.modality.split("+"):
                    continue
                if _same_copy(other, seg, offset_tolerance):
                    merged[i] = _merge(other, seg)
                    break
                if _conflict(other, seg, conflict_overlap):
                    merged[i] = max(other, seg, key=_strength)
                    break
            else:
                merged.append(seg)
    return sorted(merged, key=lambda s: (s.query_start, s.ref_id))
