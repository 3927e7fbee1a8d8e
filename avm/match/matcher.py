"""One query's k-NN hits of every modality → its fused segment pairs."""

from __future__ import annotations

from collections.abc import Callable

from avm.match.align import align_hits, boundary_margin, suppress_overlaps
from avm.match.fuse import LineSupport, fuse_modalities
from avm.match.options import FuseOptions, MatchOptions
from avm.match.refine import line_support, refine_segment
from avm.types import Fingerprints, Hits, Segment

# (modality, reference video id) → that reference's stored interval fingerprints, or None if it has none
ReferenceLookup = Callable[[str, str], Fingerprints | None]
# (each modality's segments, offset tolerance in seconds) → those that hold up (avm.match.cascade.CatalogCheck)
PairCheck = Callable[[dict[str, list[Segment]], float], dict[str, list[Segment]]]


def match_segments(query_id: str, prints: dict[str, Fingerprints], hits: dict[str, Hits],
                   opts: dict[str, MatchOptions], references: ReferenceLookup | None = None,
                   fuse: FuseOptions | None = None, check: PairCheck | None = None) -> list[Segment]:
    """Align each modality's hits into segments, refine them along their lines, keep those that pass ``check``,
    and fuse the modalities.

    ``prints`` are the query's fingerprints per modality and ``hits`` their k-NN hits. With ``references``,
    every segment is refined against its reference's fingerprints (``avm.match.refine``) where the modality's
    refinement is enabled, and contradicting segments of two modalities are settled by how well each modality
    follows their lines (``avm.match.fuse``).
    """
    per_modality = {}
    for m, found in hits.items():
        query, o = prints[m], opts[m]
        segments = align_hits(query_id, query.t_start, query.t_end, found, m, o.align)
        if references is not None and o.refine.enabled and segments:
            margin = boundary_margin(query.t_start, query.t_end, o.align.window_overlap)
            refined = []
            for seg in segments:
                reference = references(m, seg.ref_id)
                refined.append(seg if reference is None else refine_segment(seg, query, reference, o, margin))
            segments = suppress_overlaps(refined, o.align)
        per_modality[m] = [s for s in segments if s.score >= o.align.min_score]
    tolerance = max(o.align.offset_tolerance for o in opts.values()) if opts else 0.0
    if check is not None:
        per_modality = check(per_modality, tolerance)
    support = None if references is None else _support_along_lines(prints, opts, references)
    min_duration = min(o.align.min_duration for o in opts.values()) if opts else 0.0
    return fuse_modalities(per_modality, tolerance, support=support, min_duration=min_duration, opts=fuse)


def _support_along_lines(prints: dict[str, Fingerprints], opts: dict[str, MatchOptions],
                         references: ReferenceLookup) -> LineSupport:
    """Sum over the query's modalities of the share of a span's intervals whose similarity along a segment's
    line reaches that modality's track threshold (modalities without refinement are left out)."""
    def support(seg: Segment, start: float, end: float) -> float:
        total = 0.0
        for m, query in prints.items():
            reference = references(m, seg.ref_id) if opts[m].refine.enabled else None
            if reference is not None:
                total += line_support(seg, start, end, query, reference, opts[m].refine.track_similarity)
        return total
    return support
