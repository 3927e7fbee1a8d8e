"""Options of the index stage: the ``index`` config group (the store) and the ``search`` group (k-NN)."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class IndexOptions:
    """Where the store lives and how its ANN index is built and searched (the ``index`` config group)."""

    uri: str = "outputs/lancedb"
    storage_options: dict[str, str] = field(default_factory=dict)
    build_min_rows: int = 100_000  # exact (brute-force) search below this many rows per table
    index_type: str = "IVF_PQ"  # or IVF_RQ, IVF_HNSW_SQ, IVF_HNSW_PQ (avm.index.maintenance.INDEX_TYPES)
    num_partitions: int | None = None  # None: LanceDB's default for the table size
    num_sub_vectors: int | None = None  # None: dim / 4 (a code byte per 4 dimensions; PQ only)
    nprobes: int = 32
    refine_factor: int | None = 10  # re-rank refine_factor * k candidates with exact distances
    ef: int | None = None  # IVF_HNSW_*: candidates kept while walking each partition's graph (None: LanceDB's)
    cleanup_older_than_days: float = 7.0  # optimize() drops table versions older than this
    rebuild_growth: float = 2.0  # retrain a table's ANN index once it holds this many times the rows it was trained on
    # without a commit lock (object stores), leftover rows younger than this may belong to a commit in flight
    leftover_grace_minutes: float = 60.0
    # seconds of the segment vectors stored beside the fingerprints (mean of a stretch's interval vectors, one
    # every segment_window / 2 s; avm.types.Fingerprints.segments) that shortlist references; 0: none stored
    segment_window: float = 10.0


@dataclass
class SearchOptions:
    """k-NN search of query intervals, the first stage of matching (the ``search`` config group)."""

    k: int = 10  # nearest reference intervals retrieved for every query interval searched
    # seconds between the query intervals searched by the cascade's first stage (avm.match.cascade); refinement
    # still compares every interval with the candidates' stored fingerprints. 0: every interval is searched
    first_stage_step: float = 1.0
    # references shortlisted per modality by the query's segment vectors (avm.match.cascade) before the first
    # stage searches only their stored fingerprints; 0: the whole catalog is searched
    shortlist: int = 5
    # nearest stored segment vectors of each query segment: it votes for their references, each by how far it
    # stands above the last of them (avm.match.cascade.most_voted)
    shortlist_neighbours: int = 10
    # the shortlist is the union of the most-voted references of every shortlist_window seconds of the query, so
    # that a long query or a compilation of many references keeps each one; 0: one vote count for the whole query
    shortlist_window: float = 60.0
    # the least share of a shortlisted pair's sampled query intervals whose shortlist_support_k nearest in the
    # whole catalog hold its stretch of the reference (avm.match.cascade.CatalogCheck); 0: not checked
    shortlist_support: float = 0.6
    # nearest stored intervals of each sampled interval in that check: more than search.k, so that a true copy's
    # reference stays among them where the ANN index ranks other near content first (short or still shots, a large
    # catalog)
    shortlist_support_k: int = 30
    # query intervals of each shortlisted pair searched in that check, evenly spread over the pair
    shortlist_support_samples: int = 16
