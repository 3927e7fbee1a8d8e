"""AVM's domain types: one video's fingerprints, the k-NN hits of a query, a segment pair and a reviewer's
verdict on one.

Each type owns its conversions to and from the Arrow tables of :mod:`avm.schema`, so no other module
converts them by hand.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime

import numpy as np
import pyarrow as pa

from avm.schema import HITS_SCHEMA, MATCHES_SCHEMA, PAIR_COLUMNS, VERDICTS_SCHEMA, fingerprint_schema


def vector_matrix(column: pa.ChunkedArray | pa.Array) -> np.ndarray:
    """A column of fixed-size vectors as a float32 matrix [rows, dim]."""
    flat = column.combine_chunks() if isinstance(column, pa.ChunkedArray) else column
    return flat.flatten().to_numpy(zero_copy_only=False).reshape(len(flat), flat.type.list_size).astype(np.float32)


@dataclass(frozen=True)
class Fingerprints:
    """One modality's fingerprints of one video: interval start/end times (s) and L2-normalised vectors."""

    modality: str
    t_start: np.ndarray  # float32 [n]
    t_end: np.ndarray  # float32 [n]
    vectors: np.ndarray  # [n, dim]: float16 as fingerprinted and stored, float32 once read back
    model_version: str = ""

    def __len__(self) -> int:
        return len(self.t_start)

    @property
    def dim(self) -> int:
        """Length of each vector (0 when there are no vectors)."""
        return int(self.vectors.shape[1]) if self.vectors.ndim == 2 else 0

    @staticmethod
    def concat(parts: Sequence[Fingerprints]) -> Fingerprints:
        """The intervals of ``parts`` (one modality and model, at least one part) one after another."""
        return Fingerprints(parts[0].modality, np.concatenate([p.t_start for p in parts]),
                            np.concatenate([p.t_end for p in parts]), np.concatenate([p.vectors for p in parts]),
                            parts[0].model_version)

    def reversed(self) -> Fingerprints:
        """The same intervals with the vectors in reverse order: the video played backwards."""
        return dataclasses.replace(self, vectors=self.vectors[::-1].copy())

    def segments(self, window: float) -> Fingerprints:
        """The mean vector (L2-normalised) of every ``window``-second stretch of intervals, stretches starting
        ``window``/2 apart: a sequence ``window`` / step / 2 times shorter that still tells videos apart (the
        shortlist of :mod:`avm.match.cascade`). ``window`` ≤ 0 or no intervals: these fingerprints."""
        if window <= 0 or not len(self):
            return self
        order = np.argsort(self.t_start, kind="stable")
        t_start, vectors = self.t_start[order].astype(np.float64), self.vectors[order].astype(np.float64)
        first, last = float(t_start[0]), float(np.max(self.t_end))
        starts = np.arange(first, max(last - window, first) + 1e-6, window / 2)
        lo, hi = np.searchsorted(t_start, starts, "left"), np.searchsorted(t_start, starts + window, "left")
        keep = hi > lo
        sums = np.vstack([np.zeros((1, vectors.shape[1])), np.cumsum(vectors, axis=0)])
        means = sums[hi[keep]] - sums[lo[keep]]
        means /= np.linalg.norm(means, axis=1, keepdims=True).clip(1e-9)
        starts = starts[keep]
        return Fingerprints(self.modality, starts.astype(np.float32), np.minimum(starts + window, last).astype(np.float32),
                            means.astype(np.float32), self.model_version)

    def to_rows(self, video_id: str, batch_id: int = 0) -> pa.Table:
        """Rows of the fingerprints table (:func:`avm.schema.fingerprint_schema`), vectors as float16, tagged with
        the write batch ``batch_id``."""
        n, dim = self.vectors.shape
        return pa.table({
            "video_id": pa.array([video_id] * n, pa.string()),
            "batch_id": pa.array(np.full(n, batch_id, np.int64)),
            "modality": pa.array([self.modality] * n, pa.string()),
            "t_start": pa.array(self.t_start, pa.float32()),
            "t_end": pa.array(self.t_end, pa.float32()),
            "vector": pa.FixedSizeListArray.from_arrays(
                pa.array(self.vectors.astype(np.float16).ravel(), pa.float16()), dim),
            "model_version": pa.array([self.model_version] * n, pa.string()),
        }, schema=fingerprint_schema(dim))

    @classmethod
    def from_rows(cls, modality: str, rows: pa.Table) -> Fingerprints:
        """Fingerprints-table rows of one video (in time order) with vectors as float32."""
        version = rows["model_version"][0].as_py() if "model_version" in rows.column_names and rows.num_rows else ""
        return cls(modality, rows["t_start"].to_numpy(), rows["t_end"].to_numpy(), vector_matrix(rows["vector"]),
                   version)


@dataclass(frozen=True)
class Hits:
    """The k nearest stored intervals of each interval of one query in one modality (one entry per hit)."""

    query_index: np.ndarray  # int32: row of the query's fingerprints
    video_id: np.ndarray  # object (str): the reference video of the hit
    t_start: np.ndarray  # float32: the hit interval's start in the reference
    t_end: np.ndarray  # float32
    similarity: np.ndarray  # float32: dot product of the two L2-normalised vectors

    def __len__(self) -> int:
        return len(self.query_index)

    @classmethod
    def empty(cls) -> Hits:
        """No hits."""
        return cls.from_table(HITS_SCHEMA.empty_table())

    @classmethod
    def from_table(cls, table: pa.Table) -> Hits:
        """Hits from a table in :data:`avm.schema.HITS_SCHEMA`."""
        return cls(table["query_index"].to_numpy().astype(np.int32),
                   np.asarray(table["video_id"].to_pylist(), dtype=object),
                   table["t_start"].to_numpy().astype(np.float32), table["t_end"].to_numpy().astype(np.float32),
                   table["similarity"].to_numpy().astype(np.float32))

    def to_table(self) -> pa.Table:
        """The hits as a table in :data:`avm.schema.HITS_SCHEMA`."""
        return pa.table({name: getattr(self, name) for name in HITS_SCHEMA.names}, schema=HITS_SCHEMA)

    def select(self, mask: np.ndarray) -> Hits:
        """The hits where ``mask`` (boolean or index array) selects."""
        return Hits(*(getattr(self, f.name)[mask] for f in dataclasses.fields(self)))


@dataclass(frozen=True)
class Segment:
    """One segment pair: query ``[query_start, query_end]`` ↔ reference ``[ref_start, ref_end]`` (seconds).

    ``modality`` is the evidence (``audio``, ``visual`` or ``audio+visual``); a ground-truth pair has none.
    """

    query_id: str
    query_start: float
    query_end: float
    ref_id: str
    ref_start: float
    ref_end: float
    score: float = 1.0
    modality: str = ""
    n_hits: int = 0
    speed: float = 1.0  # reference seconds per query second (> 1: the copy was sped up)

    @property
    def offset(self) -> float:
        """``ref_start − speed · query_start``: the line ``ref = speed · query + offset`` of this copy."""
        return self.ref_start - self.speed * self.query_start

    @property
    def duration(self) -> float:
        """Length of the query side (seconds)."""
        return self.query_end - self.query_start

    def query_overlap(self, other: Segment) -> float:
        """Seconds of query time this segment and ``other`` both cover (0 when they do not meet)."""
        return max(0.0, min(self.query_end, other.query_end) - max(self.query_start, other.query_start))

    def overlap_of_shorter(self, other: Segment) -> float:
        """The share of the shorter of the two query spans that both cover (0 for an empty span)."""
        shorter = min(self.duration, other.duration)
        return self.query_overlap(other) / shorter if shorter > 0 else 0.0

    def share_covered_by(self, other: Segment) -> float:
        """The share of this segment's query span that ``other``'s covers (0 for an empty span)."""
        return self.query_overlap(other) / self.duration if self.duration > 0 else 0.0

    def to_row(self, run_id: str, query_uri: str | None = None, ref_uri: str | None = None) -> dict[str, object]:
        """The segment as one row of :data:`avm.schema.MATCHES_SCHEMA`."""
        return {**dataclasses.asdict(self), "run_id": run_id, "query_uri": query_uri, "ref_uri": ref_uri}

    @classmethod
    def from_row(cls, row: dict[str, object]) -> Segment:
        """A segment from a row holding at least :data:`avm.schema.PAIR_COLUMNS` (other fields keep defaults)."""
        return cls(**{f.name: row[f.name] for f in dataclasses.fields(cls) if f.name in row})

    @staticmethod
    def to_table(segments: Iterable[Segment], run_id: str, query_uris: dict[str, str] | None = None,
                 ref_uris: dict[str, str] | None = None) -> pa.Table:
        """Segments as a table in :data:`avm.schema.MATCHES_SCHEMA`, with each side's file from the uri maps."""
        queries, refs = query_uris or {}, ref_uris or {}
        return pa.Table.from_pylist([s.to_row(run_id, queries.get(s.query_id), refs.get(s.ref_id)) for s in segments],
                                    schema=MATCHES_SCHEMA)

    @classmethod
    def from_table(cls, table: pa.Table) -> list[Segment]:
        """Segments from a table with at least :data:`avm.schema.PAIR_COLUMNS` (MATCHES_SCHEMA or a subset)."""
        missing = set(PAIR_COLUMNS) - set(table.column_names)
        if missing:
            raise ValueError(f"segment table lacks columns {sorted(missing)}")
        names = [f.name for f in dataclasses.fields(cls) if f.name in table.column_names]
        return [cls.from_row(row) for row in table.select(names).to_pylist()]


VERDICTS = ("copy", "not_copy", "unsure")  # what a reviewer can say of a reported pair


@dataclass(frozen=True)
class Verdict:
    """A reviewer's verdict (one of :data:`VERDICTS`) on one reported segment pair of a scan run."""

    run_id: str
    pair: Segment
    verdict: str
    note: str = ""
    reviewer: str = ""
    created_at: datetime = field(default_factory=lambda: datetime.now(UTC))

    def __post_init__(self) -> None:
        if self.verdict not in VERDICTS:
            raise ValueError(f"verdict {self.verdict!r} is not one of {list(VERDICTS)}")

    def to_row(self) -> dict[str, object]:
        """The verdict as one row of :data:`avm.schema.VERDICTS_SCHEMA`."""
        return {**dataclasses.asdict(self.pair), "run_id": self.run_id, "verdict": self.verdict, "note": self.note,
                "reviewer": self.reviewer, "created_at": self.created_at}

    @staticmethod
    def to_table(verdicts: Iterable[Verdict]) -> pa.Table:
        return pa.Table.from_pylist([v.to_row() for v in verdicts], schema=VERDICTS_SCHEMA)

    @classmethod
    def from_table(cls, table: pa.Table) -> list[Verdict]:
        """Verdicts from rows of :data:`avm.schema.VERDICTS_SCHEMA`."""
        return [cls(row["run_id"], Segment.from_row(row), row["verdict"], row["note"] or "", row["reviewer"] or "",
                    row["created_at"]) for row in table.to_pylist()]
