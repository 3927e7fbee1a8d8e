"""Combine the segments that each modality found for one query."""

from __future__ import annotations

from avm.match.align import Segment


def _same_copy(a: Segment, b: Segment, tolerance: float) -> bool:
    """Same reference, overlapping in query time, at about the same time offset."""
    overlap = min(a.query_end, b.query_end) - max(a.query_start, b.query_start)
    offset_a, offset_b = a.ref_start - a.query_start, b.ref_start - b.query_start
    return a.ref_id == b.ref_id and overlap > 0 and abs(offset_a - offset_b) <= tolerance


def fuse_modalities(per_modality: dict[str, list[Segment]], offset_tolerance: float) -> list[Segment]:
    """Merge segments of different modalities that describe the same copy; keep the others as they are.

    A merged segment spans both, scores the noisy-OR of both scores (agreeing evidence ranks higher), and is labelled
    with every modality that supports it (e.g. ``audio+visual``).
    """
    merged: list[Segment] = []
    for modality in sorted(per_modality):
        for seg in per_modality[modality]:
            for i, other in enumerate(merged):
                if other.modality != seg.modality and seg.modality not in other.modality.split("+") \
                        and _same_copy(other, seg, offset_tolerance):
                    modalities = "+".join(sorted(set(other.modality.split("+")) | {seg.modality}))
                    start, end = min(other.query_start, seg.query_start), max(other.query_end, seg.query_end)
                    shift = (other.ref_start - other.query_start) if other.n_hits >= seg.n_hits \
                        else (seg.ref_start - seg.query_start)
                    merged[i] = Segment(seg.query_id, start, end, seg.ref_id, max(0.0, start + shift), end + shift,
                                        1.0 - (1.0 - other.score) * (1.0 - seg.score),
                                        modalities, other.n_hits + seg.n_hits)
                    break
            else:
                merged.append(seg)
    return sorted(merged, key=lambda s: (s.query_start, s.ref_id))
