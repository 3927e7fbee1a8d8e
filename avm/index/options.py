"""Options of the index stage: the ``index`` config group (the store) and the ``search`` group (k-NN)."""

from __future__ import annotations

from dataclasses import dataclass, field

from avm.config import one_of, ranged

INDEX_TYPES = ("IVF_PQ", "IVF_RQ", "IVF_HNSW_SQ", "IVF_HNSW_PQ")  # the ANN indexes AVM builds (avm.index.maintenance)


@dataclass
class IndexOptions:
    """Where the store lives and how its ANN index is built and searched (the ``index`` config group)."""

    uri: str = "outputs/lancedb"
    storage_options: dict[str, str] = field(default_factory=dict)
    build_min_rows: int = ranged(100_000, 0)  # exact (brute-force) search below this many rows per table
    # a table without an ANN index and at most this many rows is read into memory once per version and searched
    # there exactly (rows × dim × 4 bytes per reader); a larger one by LanceDB's flat scan of every row per query
    in_memory_max_rows: int = ranged(200_000, 0)
    index_type: str = one_of("IVF_PQ", INDEX_TYPES)
    num_partitions: int | None = ranged(None, 1)  # None: LanceDB's default for the table size
    num_sub_vectors: int | None = ranged(None, 1)  # None: dim / 4 (a code byte per 4 dimensions; PQ only)
    nprobes: int = ranged(32, 1)
    refine_factor: int | None = ranged(10, 0)  # re-rank refine_factor * k candidates with exact distances (0, None: off)
    ef: int | None = ranged(None, 1)  # IVF_HNSW_*: candidates kept while walking each partition's graph (None: LanceDB's)
    cleanup_older_than_days: float = ranged(7.0, 0.0)  # optimize() drops table versions older than this
    rebuild_growth: float = ranged(2.0, 1.0)  # retrain a table's ANN index once it holds this many times the rows it was trained on
    # without a commit lock (object stores), leftover rows younger than this may belong to a commit in flight
    leftover_grace_minutes: float = ranged(60.0, 0.0)
    # seconds of the segment vectors stored beside the fingerprints (mean of a stretch's interval vectors, one
    # every segment_window / 2 s; avm.types.Fingerprints.segments) that shortlist references; 0: none stored
    segment_window: float = ranged(10.0, 0.0)


@dataclass
class SearchOptions:
    """k-NN search of query intervals, the first stage of matching (the ``search`` config group)."""

    k: int = ranged(10, 1)  # nearest reference intervals retrieved for every query interval searched
    # seconds between the query intervals searched by the cascade's first stage (avm.match.cascade); refinement
    # still compares every interval with the candidates' stored fingerprints. 0: every interval is searched
    first_stage_step: float = ranged(1.0, 0.0)
    # references shortlisted per modality by the query's segment vectors (avm.match.cascade) before the first
    # stage searches only their stored fingerprints; 0: the whole catalog is searched
    shortlist: int = ranged(5, 0)
    # nearest stored segment vectors of each query segment: it votes for their references, each by how far it
    # stands above the last of them (avm.match.cascade.most_voted)
    shortlist_neighbours: int = ranged(10, 1)
    # the shortlist is the union of the most-voted references of every shortlist_window seconds of the query, so
    # that a long query or a compilation of many references keeps each one; 0: one vote count for the whole query
    shortlist_window: float = ranged(60.0, 0.0)
    # the least share of a shortlisted pair's sampled query intervals whose shortlist_support_k nearest in the
    # whole catalog hold its stretch of the reference (avm.match.cascade.CatalogCheck); 0: not checked
    shortlist_support: float = ranged(0.6, 0.0, 1.0)
    # nearest stored intervals of each sampled interval in that check: more than search.k, so that a true copy's
    # reference stays among them where the ANN index ranks other near content first (short or still shots, a large
    # catalog)
    shortlist_support_k: int = ranged(30, 1)
    # query intervals of each shortlisted pair searched in that check, evenly spread over the pair
    shortlist_support_samples: int = ranged(16, 1)
