"""The cascade's first stage: k-NN search of a sparse subset of a query's intervals, optionally among a shortlist.

Searching every query interval (every 0.5 s) is the scan's main cost, and most of it is redundant: a copy
of a few seconds already gives several consistent hits when only every second or fourth interval is searched.
The first stage searches intervals ``search.first_stage_step`` seconds apart; alignment turns their hits into
candidate (reference, line) segments, with ``align.min_hits`` scaled to the intervals searched; and refinement
(:mod:`avm.match.refine`) then follows every candidate at full resolution against the reference's stored
fingerprints, so the copy's extent and score still come from every query interval.

With ``search.shortlist`` = R, a coarser stage runs first: each of the query's segment vectors (means of
``index.segment_window`` seconds of intervals) votes once for every reference among its
``search.shortlist_neighbours`` nearest stored segment vectors, weighted by how far that reference stands above
the last of them (:func:`most_voted`), and the R most-voted references of every ``search.shortlist_window``
seconds of the query, per modality (their union over windows and modalities), are the only ones whose stored
fingerprints the intervals are then searched among, exactly. Voting for every reference near a segment, not only
the nearest one, keeps each reference that holds the same content (one film under two ids, a compilation, an
earlier re-upload kept in the catalog): the nearest segment may always belong to the same one of them. Counting
votes per window keeps a short copy inside a long query, and every reference of a compilation, from being
outvoted by the query's other content. Query segments whose nearest stored segment lies in content that catalog
videos share (:mod:`avm.match.shared`: intros, outros, logos) do not vote, and the query intervals covered only
by such segments are not searched: searched among a few references, they would find those references' unrelated
content, where among the whole catalog they find the shared content, whose hits the matcher drops. Its cost
grows with the catalog ten times slower than interval search (one segment row per ``segment_window`` / 2 s), the
rest does not grow at all.

A pair found among a shortlist must then hold up in the whole catalog (:class:`CatalogCheck`): searched among a
few references, a query stretch the catalog lacks still finds its nearest stretch of them, and refinement can
follow that chance along a line. Up to ``search.shortlist_support_samples`` of the pair's query intervals are
searched in the whole catalog, and the pair is kept when the ``search.shortlist_support_k`` nearest of at least
``search.shortlist_support`` of them hold the pair's stretch of its reference, in any of the query's modalities: a
copy's reference stretch is near most of its intervals, chance's is not. The check runs on each modality's pairs
before they are fused, so a chance pair never wins the query time of the other modality's true pair; a pair that
is the same copy as one of the other modality already supported is not searched again. This costs one k-NN search
per sampled interval of the pairs found, not of the query.
"""

from __future__ import annotations

import collections
import logging
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace

import numpy as np

from avm.index import FingerprintStore, SearchOptions, knn
from avm.match.fuse import same_copy
from avm.match.matcher import ReferenceLookup
from avm.match.options import MatchOptions
from avm.match.shared import SharedContent
from avm.types import Fingerprints, Hits, Segment

log = logging.getLogger(__name__)

MIN_SPARSE_HITS = 2  # the fewest first-stage hits that make a candidate, however sparse the search
# share of a pair's query span an already supported pair of the other modality, the same copy, must cover for the
# pair to be kept without a search of its own (fusion merges the two, so its uncovered rest would go unchecked)
VOUCHED_OVERLAP = 0.8


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
    return replace(hits, query_index=rows[hits.query_index].astype(np.int32)), stride


def sparse_options(opts: MatchOptions, stride: int) -> MatchOptions:
    """``opts`` for aligning hits of every ``stride``-th interval: the fewest hits of a segment scaled down."""
    if stride <= 1:
        return opts
    min_hits = max(MIN_SPARSE_HITS, math.ceil(opts.align.min_hits / stride))
    return replace(opts, align=replace(opts.align, min_hits=min(min_hits, opts.align.min_hits)))


def votes(hits: Hits, times: np.ndarray, window: float,
          above_background: bool = True) -> dict[int, collections.Counter[str]]:
    """Each reference's votes in every ``window`` seconds of the query (keyed by window number; ``window`` ≤ 0:
    one count for the whole query, key 0).

    Each query segment (``hits.query_index``, starting at ``times[query_index]`` seconds) votes once for every
    reference among its hits, weighted by how far that reference's best similarity stands above the segment's
    last hit (the background of unrelated content any segment finds). A copied segment gives its reference, and
    every reference holding the same content, a strong vote; a segment of content the catalog lacks spreads
    weak votes over whatever is merely near, so a short copy is not outvoted by the rest of its window. Without
    ``above_background`` each vote is the reference's raw best similarity (for comparison only)."""
    best: dict[tuple[int, str], float] = {}
    background: dict[int, float] = {}
    for segment, video_id, similarity in zip(hits.query_index.tolist(), hits.video_id.tolist(),
                                             hits.similarity.tolist(), strict=True):
        best[segment, video_id] = max(best.get((segment, video_id), -1.0), similarity)
        background[segment] = min(background.get(segment, 1.0), similarity)
    counts: dict[int, collections.Counter[str]] = collections.defaultdict(collections.Counter)
    for (segment, video_id), similarity in best.items():
        weight = similarity - background[segment] if above_background else similarity
        counts[int(times[segment] // window) if window > 0 else 0][video_id] += weight
    return dict(counts)


def most_voted(hits: Hits, times: np.ndarray, top: int, window: float) -> set[str]:
    """The ``top`` references with the most :func:`votes` in every ``window`` seconds of the query, their union."""
    return {video_id for counts in votes(hits, times, window).values() for video_id, _ in counts.most_common(top)}


@dataclass(frozen=True)
class Shortlist:
    """The references a query's intervals are searched among, and per modality the query intervals not searched
    (True where every segment holding the interval found shared content nearest)."""

    references: list[str]
    muted: dict[str, np.ndarray] = field(default_factory=dict)


def covered_only_by(t: np.ndarray, segments: Fingerprints, flagged: np.ndarray) -> np.ndarray:
    """Whether each time of ``t`` lies in at least one of ``segments`` and in none that is not ``flagged``."""
    def holding(chosen: np.ndarray) -> np.ndarray:
        return (np.searchsorted(np.sort(segments.t_start[chosen]), t, "right")
                - np.searchsorted(np.sort(segments.t_end[chosen]), t, "right"))
    return (holding(np.ones(len(segments), dtype=bool)) > 0) & (holding(~flagged) == 0)


def nearest_of_each(hits: Hits) -> Hits:
    """The most similar of the hits of each query row."""
    order = np.lexsort((-hits.similarity, hits.query_index))
    rows = hits.query_index[order]
    return hits.select(order[np.r_[True, rows[1:] != rows[:-1]]])


def shortlist(store: FingerprintStore, prints: dict[str, Fingerprints], search: SearchOptions,
              exclude_video_id: str | None = None, shared: SharedContent | None = None,
              shared_min_videos: Mapping[str, int] | None = None) -> Shortlist:
    """The ``search.shortlist`` references per modality voted for most by the query's segment vectors in every
    ``search.shortlist_window`` seconds (:func:`most_voted` of each segment's ``search.shortlist_neighbours``
    nearest stored segment vectors), their union over windows and modalities, sorted; segments whose nearest
    stored segment lies in content ``shared`` by ``shared_min_videos`` (per modality, default 2) or more catalog
    videos do not vote, and the intervals only they hold are muted."""
    chosen: set[str] = set()
    muted: dict[str, np.ndarray] = {}
    for modality, fp in prints.items():
        if not len(fp):
            continue
        segments = fp.segments(store.opts.segment_window)
        nearest = knn(store, modality, segments.vectors, search.shortlist_neighbours,
                      exclude_video_id=exclude_video_id, segments=True)
        on_shared = np.zeros(len(segments), dtype=bool)
        if shared is not None and len(nearest):
            top = nearest_of_each(nearest)
            on_shared[top.query_index] = shared.covers(modality, top.video_id, top.t_start, top.t_end,
                                                       (shared_min_videos or {}).get(modality, 2))
            nearest = nearest.select(~on_shared[nearest.query_index])
        muted[modality] = covered_only_by(fp.t_start, segments, on_shared)
        chosen |= most_voted(nearest, segments.t_start, search.shortlist, search.shortlist_window)
    return Shortlist(sorted(chosen), muted)


def shortlisted_hits(prints: Fingerprints, candidates: Sequence[str], references: ReferenceLookup,
                     search: SearchOptions, muted: np.ndarray | None = None) -> tuple[Hits, int]:
    """Exact k-NN of every ``stride``-th interval of ``prints`` (but the ``muted`` ones) among the
    ``candidates``' stored intervals (``query_index`` into all of its intervals), and that stride."""
    stride = stride_of(prints.t_start, search.first_stage_step)
    rows = np.arange(0, len(prints), stride)
    if muted is not None:
        rows = rows[~muted[rows]]
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
                   references: ReferenceLookup, shortlisted: bool, exclude_video_id: str | None = None,
                   shared: SharedContent | None = None,
                   shared_min_videos: Mapping[str, int] | None = None) -> dict[str, tuple[Hits, int]]:
    """Each modality's first-stage hits and stride: among the :func:`shortlist`'s references when
    ``shortlisted`` (see :func:`shortlist_ready`; ``shared`` content as there), else in the whole catalog."""
    prints = {m: fp for m, fp in prints.items() if len(fp)}
    if not shortlisted:
        return {m: first_stage_hits(store, m, fp, search, exclude_video_id) for m, fp in prints.items()}
    chosen = shortlist(store, prints, search, exclude_video_id, shared, shared_min_videos)
    return {m: shortlisted_hits(fp, chosen.references, references, search, chosen.muted.get(m))
            for m, fp in prints.items()}


def sampled_rows(prints: Fingerprints, start: float, end: float, samples: int) -> np.ndarray:
    """Up to ``samples`` evenly spread rows of ``prints`` whose intervals start in [start, end)."""
    inside = np.flatnonzero((prints.t_start >= start) & (prints.t_start < end))
    if len(inside) <= samples:
        return inside
    return inside[np.round(np.linspace(0, len(inside) - 1, samples)).astype(int)]


@dataclass(frozen=True)
class CatalogCheck:
    """Checks the pairs one query found among a shortlist against the whole catalog, before the modalities are
    fused (so a chance pair never wins a fusion contest against the other modality's true pair).

    ``prints`` are the query's fingerprints per modality; hits on the video ``exclude_video_id`` are ignored;
    hits in content ``shared`` by ``shared_min_videos`` or more catalog videos tell nothing about any one reference:
    they never confirm a pair, and a sampled interval whose ``k`` nearest all lie there is left out of the share (a
    pair all of whose sampled intervals are left out has a share of 0: shared content is never a copy)."""

    store: FingerprintStore
    prints: dict[str, Fingerprints]
    k: int
    threshold: float
    samples: int
    exclude_video_id: str | None = None
    shared: SharedContent = field(default_factory=SharedContent)
    shared_min_videos: Mapping[str, int] = field(default_factory=dict)

    @classmethod
    def of(cls, store: FingerprintStore, prints: dict[str, Fingerprints], search: SearchOptions,
           exclude_video_id: str | None = None, shared: SharedContent | None = None,
           shared_min_videos: Mapping[str, int] | None = None) -> CatalogCheck:
        """The check ``search`` configures (``search.shortlist_support_k`` nearest of
        ``search.shortlist_support_samples`` intervals per pair, ``search.shortlist_support`` of them agreeing)."""
        return cls(store, {m: fp for m, fp in prints.items() if len(fp)}, search.shortlist_support_k,
                   search.shortlist_support, search.shortlist_support_samples, exclude_video_id,
                   shared or SharedContent(), shared_min_videos or {})

    def support(self, segments: Sequence[Segment], tolerance: float, enough: float | None = None) -> np.ndarray:
        """For each segment, the share of its sampled query intervals (:func:`sampled_rows`) whose ``k`` nearest
        stored intervals in the whole catalog hold its reference's stretch (``ref_start`` to ``ref_end``,
        ± ``tolerance`` seconds): the best over the query's modalities, its own first (NaN where no modality has
        an interval in its span). With ``enough``, a segment one modality already supports that much is not
        searched in the next.

        The stretch, not the segment's line: a still or slow shot puts a true copy's nearest reference intervals
        seconds off its line, where chance puts the reference's intervals outside the stretch as often as inside."""
        support = np.full(len(segments), np.nan)
        for own in (True, False):
            for modality in self.prints:
                todo = [i for i, s in enumerate(segments) if (modality in s.modality.split("+")) == own
                        and not (enough is not None and support[i] >= enough)]
                if todo:
                    shares = self._shares(modality, [segments[i] for i in todo], tolerance)
                    support[todo] = np.fmax(support[todo], shares)
        return support

    def _shares(self, modality: str, segments: Sequence[Segment], tolerance: float) -> np.ndarray:
        """Each segment's share of sampled intervals of ``modality`` that confirm its stretch (NaN: none sampled)."""
        fp = self.prints[modality]
        sampled = [sampled_rows(fp, s.query_start, s.query_end, self.samples) for s in segments]
        owner = np.concatenate([np.full(len(r), i) for i, r in enumerate(sampled)]).astype(int)
        shares = np.full(len(segments), np.nan)
        if not len(owner):
            return shares
        hits = knn(self.store, modality, fp.vectors[np.concatenate(sampled)], self.k,
                   exclude_video_id=self.exclude_video_id)
        pair = owner[hits.query_index]
        ref_id = np.array([s.ref_id for s in segments], dtype=object)
        ref_start = np.array([s.ref_start for s in segments]) - tolerance
        ref_end = np.array([s.ref_end for s in segments]) + tolerance
        shared = self.shared.covers(modality, hits.video_id, hits.t_start, hits.t_end,
                                    self.shared_min_videos.get(modality, 2))
        inside = ((hits.video_id == ref_id[pair]) & (hits.t_start >= ref_start[pair])
                  & (hits.t_start <= ref_end[pair]) & ~shared)
        confirmed = np.zeros(len(owner), dtype=bool)
        confirmed[hits.query_index[inside]] = True
        telling = np.zeros(len(owner), dtype=bool)
        telling[hits.query_index[~shared]] = True
        counted = np.bincount(owner, weights=telling, minlength=len(segments))
        agreeing = np.bincount(owner, weights=confirmed & telling, minlength=len(segments))
        sampled_any = np.array([len(r) > 0 for r in sampled])
        shares[sampled_any] = np.divide(agreeing, counted, out=np.zeros(len(segments)), where=counted > 0)[sampled_any]
        return shares

    def __call__(self, per_modality: dict[str, list[Segment]], tolerance: float) -> dict[str, list[Segment]]:
        """Each modality's segments whose :meth:`support` reaches ``threshold`` (a segment with no interval to
        check is kept; a threshold ≤ 0 keeps all). A segment that is the same copy as one of another modality
        already supported (:func:`avm.match.fuse.same_copy`: fusion will merge them) and covered by it over
        ``VOUCHED_OVERLAP`` of its query span is kept without a search."""
        if self.threshold <= 0:
            return per_modality
        kept: dict[str, list[Segment]] = {}
        supported: list[Segment] = []
        checked = dropped = 0
        for modality, found in per_modality.items():
            vouched = [any(same_copy(s, other, tolerance) and s.share_covered_by(other) >= VOUCHED_OVERLAP
                           for other in supported) for s in found]
            rest = [s for s, v in zip(found, vouched, strict=True) if not v]
            support = self.support(rest, tolerance, enough=self.threshold).tolist()
            passed = {id(s) for s, share in zip(rest, support, strict=True)
                      if math.isnan(share) or share >= self.threshold}
            supported += [s for s, share in zip(rest, support, strict=True) if share >= self.threshold]
            kept[modality] = [s for s, v in zip(found, vouched, strict=True) if v or id(s) in passed]
            checked, dropped = checked + len(rest), dropped + len(rest) - len(passed)
        if dropped:
            log.debug("%d of %d pairs found among the shortlist not supported by the whole catalog", dropped, checked)
        return kept
