"""The cascade's first stage: k-NN search of a sparse subset of a query's intervals, optionally among a shortlist.

Searching every query interval (every 0.5 s) is the scan's main cost, and most of it is redundant: a copy
of a few seconds already gives several consistent hits when only every second or fourth interval is searched.
The first stage searches intervals ``search.first_stage_step`` seconds apart; alignment turns their hits into
candidate (reference, line) segments, with ``align.min_hits`` scaled to the intervals searched; and refinement
(:mod:`avm.match.refine`) then follows every candidate at full resolution against the reference's stored
fingerprints, so the copy's extent and score still come from every query interval.

With ``search.shortlist`` = R, a coarser stage runs first: each of the query's segment vectors (means of
``index.segment_window`` seconds of intervals) votes for the reference of its nearest stored segment vector, and
the R most-voted references of every ``search.shortlist_window`` seconds of the query, per modality (their union
over windows and modalities), are the only ones whose stored fingerprints the intervals are then searched among,
exactly. Counting votes per window keeps a short copy inside a long query, and every reference of a compilation,
from being outvoted by the query's other content. Its cost grows with the catalog ten times slower
than interval search (one segment row per ``segment_window`` / 2 s), the rest does not grow at all.
"""

from __future__ import annotations

import collections
import dataclasses
import logging
import math
from collections.abc import Sequence

import numpy as np

from avm.index import FingerprintStore, SearchOptions, knn
from avm.match.matcher import ReferenceLookup
from avm.match.options import MatchOptions
from avm.types import Fingerprints, Hits

log = logging.getLogger(__name__)

MIN_SPARSE_HITS = 2  # the fewest first-stage hits that make a candidate, however sparse the search


def stride_of(t_start: np.ndarray, step: float) -> int:
    """Every how many intervals of a sequence starting at ``t_start`` one is searched, for ``step`` seconds
    between searched intervals (1: every interval; ``step`` ≤ 0 searches every interval)."""
    if step <= 0 or len(t_start) < 2:
        return 1
    native = float(np.median(np.diff(np.asarray(t_start, np.float64))))
    return max(1, int(round(step / native))) if native > 0 else 1


def first_stage_hits(store: FingerprintStore, modality: str, prints: Fingerprints, search: SearchOptions,
                     exclude_video_id: str | None = None) -> tuple[Hits, int]:
    """The k-NN hits of every ``stride``-th interval of ``prints`` (``query_index`` into all of its intervals),
    and that stride."""
    stride = stride_of(prints.t_start, search.first_stage_step)
    rows = np.arange(0, len(prints), stride)
    hits = knn(store, modality, prints.vectors[rows], search.k, exclude_video_id=exclude_video_id)
    return dataclasses.replace(hits, query_index=rows[hits.query_index].astype(np.int32)), stride


def sparse_options(opts: MatchOptions, stride: int) -> MatchOptions:
    """``opts`` for aligning hits of every ``stride``-th interval: the fewest hits of a segment scaled down."""
    if stride <= 1:
        return opts
    min_hits = max(MIN_SPARSE_HITS, math.ceil(opts.align.min_hits / stride))
    return dataclasses.replace(opts, align=dataclasses.replace(opts.align, min_hits=min(min_hits, opts.align.min_hits)))


def most_voted(video_ids: np.ndarray, times: np.ndarray, top: int, window: float) -> set[str]:
    """The ``top`` most frequent of ``video_ids`` (votes cast at ``times``, seconds) in every ``window`` seconds,
    their union (``window`` ≤ 0: of all the votes at once)."""
    bins = np.floor_divide(times, window).astype(np.int64) if window > 0 else np.zeros(len(times), np.int64)
    chosen: set[str] = set()
    for b in np.unique(bins):
        chosen.update(v for v, _ in collections.Counter(video_ids[bins == b].tolist()).most_common(top))
    return chosen


def shortlist(store: FingerprintStore, prints: dict[str, Fingerprints], search: SearchOptions,
              exclude_video_id: str | None = None) -> list[str]:
    """The ``search.shortlist`` references per modality voted for by most of the query's segment vectors in every
    ``search.shortlist_window`` seconds (each segment votes for the reference of its nearest stored segment
    vector), their union over windows and modalities, sorted."""
    chosen: set[str] = set()
    for modality, fp in prints.items():
        if len(fp):
            segments = fp.segments(store.opts.segment_window)
            nearest = knn(store, modality, segments.vectors, 1, exclude_video_id=exclude_video_id, segments=True)
            chosen |= most_voted(nearest.video_id, segments.t_start[nearest.query_index], search.shortlist,
                                 search.shortlist_window)
    return sorted(chosen)


def shortlisted_hits(prints: Fingerprints, candidates: Sequence[str], references: ReferenceLookup,
                     search: SearchOptions) -> tuple[Hits, int]:
    """Exact k-NN of every ``stride``-th interval of ``prints`` among the ``candidates``' stored intervals
    (``query_index`` into all of its intervals), and that stride."""
    stride = stride_of(prints.t_start, search.first_stage_step)
    rows = np.arange(0, len(prints), stride)
    found = [(r, p) for r in candidates if (p := references(prints.modality, r)) is not None and len(p)]
    if not found or not len(rows):
        return Hits.empty(), stride
    stored = Fingerprints.concat([p for _, p in found])
    owner = np.concatenate([np.full(len(p), r, dtype=object) for r, p in found])
    similarity = prints.vectors[rows].astype(np.float32) @ stored.vectors.astype(np.float32).T
    k = min(search.k, similarity.shape[1])
    top = np.argpartition(-similarity, k - 1, axis=1)[:, :k]
    flat = top.ravel()
    return Hits(np.repeat(rows, k).astype(np.int32), owner[flat], stored.t_start[flat].astype(np.float32),
                stored.t_end[flat].astype(np.float32),
                np.take_along_axis(similarity, top, 1).ravel().astype(np.float32)), stride


def shortlist_ready(store: FingerprintStore, modalities: Sequence[str], search: SearchOptions) -> bool:
    """Whether a scan with these options shortlists: ``search.shortlist`` > 0 and every searchable video's
    fingerprints of ``modalities`` have their segment vectors stored (else the whole catalog is searched)."""
    if search.shortlist <= 0:
        return False
    if store.opts.segment_window <= 0:
        log.warning("search.shortlist=%d needs index.segment_window > 0: searching the whole catalog", search.shortlist)
        return False
    missing = {m: len(store.missing_segments(m)) for m in modalities}
    if any(missing.values()):
        log.warning("videos without stored segment vectors (%s): searching the whole catalog; the next ingest or "
                    "reindex into this store derives them", ", ".join(f"{m}: {n}" for m, n in missing.items() if n))
        return False
    return True


def candidate_hits(store: FingerprintStore, prints: dict[str, Fingerprints], search: SearchOptions,
                   references: ReferenceLookup, shortlisted: bool,
                   exclude_video_id: str | None = None) -> dict[str, tuple[Hits, int]]:
    """Each modality's first-stage hits and stride: among the :func:`shortlist`'s references when
    ``shortlisted`` (see :func:`shortlist_ready`), else in the whole catalog."""
    prints = {m: fp for m, fp in prints.items() if len(fp)}
    if not shortlisted:
        return {m: first_stage_hits(store, m, fp, search, exclude_video_id) for m, fp in prints.items()}
    candidates = shortlist(store, prints, search, exclude_video_id)
    return {m: shortlisted_hits(fp, candidates, references, search) for m, fp in prints.items()}
