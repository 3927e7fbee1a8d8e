"""One query against the catalog: k-NN search of its intervals in the store, then :func:`match_segments`."""

from __future__ import annotations

import functools

from avm.index import FingerprintStore, SearchOptions
from avm.match.cascade import CatalogCheck, candidate_hits, sparse_options
from avm.match.matcher import ReferenceLookup, match_segments
from avm.match.options import FuseOptions, MatchOptions
from avm.match.shared import SharedContent
from avm.types import Fingerprints, Segment

REFERENCE_CACHE_SIZE = 256  # (modality, reference) fingerprint sets a lookup keeps between queries


def stored_fingerprints(store: FingerprintStore, modality: str, video_id: str) -> Fingerprints | None:
    """One catalog video's stored interval fingerprints of one modality (None when it has none)."""
    rows = store.intervals_of(modality, video_id)
    return Fingerprints.from_rows(modality, rows) if rows.num_rows else None


def reference_lookup(store: FingerprintStore, size: int = REFERENCE_CACHE_SIZE) -> ReferenceLookup:
    """Stored fingerprints by (modality, video id), the ``size`` most recently used kept in memory."""
    return functools.lru_cache(maxsize=size)(functools.partial(stored_fingerprints, store))


def match_query(store: FingerprintStore, query_id: str, prints: dict[str, Fingerprints], search: SearchOptions,
                opts: dict[str, MatchOptions], references: ReferenceLookup | None = None,
                fuse: FuseOptions | None = None, shared: SharedContent | None = None,
                exclude_self: bool = False, shortlisted: bool = False) -> list[Segment]:
    """Search one query's intervals in each modality's table (every interval, or a sparse first stage, among
    a shortlist of references when ``shortlisted``: :mod:`avm.match.cascade`), align and refine the hits, fuse the
    modalities; pairs found among a shortlist are kept, before fusion, only where the whole catalog supports them.

    With ``exclude_self`` (the query is a catalog video) the video with its id is excluded; so are hits on
    content ``shared`` by ``calibration.shared_min_videos`` or more catalog videos. ``references`` (by default a
    lookup for this query alone) gives the references' stored fingerprints for refinement.
    """
    shared = shared or SharedContent()
    references = references or reference_lookup(store)
    hits, aligned = {}, dict(opts)
    exclude = query_id if exclude_self else None
    min_videos = {m: o.calibration.shared_min_videos for m, o in opts.items()}
    found = candidate_hits(store, prints, search, references, shortlisted, exclude, shared, min_videos)
    for m, (first, stride) in found.items():
        hits[m] = shared.drop_hits(m, first, opts[m].calibration.shared_min_videos)
        aligned[m] = sparse_options(opts[m], stride)
    check = CatalogCheck.of(store, prints, search, exclude, shared, min_videos) if shortlisted else None
    return match_segments(query_id, prints, hits, aligned, references=references, fuse=fuse, check=check)
