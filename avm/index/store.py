"""The fingerprint store: LanceDB tables for videos and per-modality fingerprints (LanceDB only here).

Writes are batched into a few large commits. A video's fingerprints are committed before its ``ok`` row in
the videos table, so a job that dies half way leaves at most orphan fingerprints of videos not marked
``ok``; the next run deletes those before writing them again, ending in the state of one clean run.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Any

import lancedb
import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from avm.schema import (
    CALIBRATION_SCHEMA,
    VIDEO_STATUS_OK,
    VIDEOS_SCHEMA,
    fingerprint_schema,
    fingerprint_table_name,
)

log = logging.getLogger(__name__)

VIDEOS_TABLE = "videos"
CALIBRATION_TABLE = "calibration"


@dataclass(frozen=True)
class IndexOptions:
    """Where the store lives and how its ANN index is built and searched (mirrors the ``index`` config)."""

    uri: str = "outputs/lancedb"
    storage_options: dict[str, str] = field(default_factory=dict)
    build_min_rows: int = 100_000  # exact (brute-force) search below this many rows per table
    index_type: str = "IVF_PQ"  # or IVF_RQ
    num_partitions: int | None = None  # None: LanceDB's default for the table size
    num_sub_vectors: int | None = None  # None: dim / 8 (PQ only)
    nprobes: int = 32
    refine_factor: int | None = 10  # re-rank refine_factor * k candidates with exact distances
    cleanup_older_than_days: float = 7.0  # optimize() drops table versions older than this


def _sql_list(values: list[str]) -> str:
    quoted = ", ".join("'" + v.replace("'", "''") + "'" for v in values)
    return f"({quoted})"


def fingerprint_rows(video_id: str, modality: str, t_start: np.ndarray, t_end: np.ndarray,
                     vectors: np.ndarray, model_version: str) -> pa.Table:
    """Arrow rows of one video's fingerprints for one modality, in the fingerprints schema."""
    n, dim = vectors.shape
    return pa.table({
        "video_id": pa.array([video_id] * n, pa.string()),
        "modality": pa.array([modality] * n, pa.string()),
        "t_start": pa.array(t_start, pa.float32()),
        "t_end": pa.array(t_end, pa.float32()),
        "vector": pa.FixedSizeListArray.from_arrays(pa.array(vectors.astype(np.float16).ravel(), pa.float16()), dim),
        "model_version": pa.array([model_version] * n, pa.string()),
    }, schema=fingerprint_schema(dim))


class FingerprintStore:
    """Read and write the AVM tables of one LanceDB database (a local directory or ``s3://`` URI)."""

    def __init__(self, opts: IndexOptions) -> None:
        self.opts = opts
        self.db = lancedb.connect(opts.uri, storage_options=opts.storage_options or None,
                                  read_consistency_interval=timedelta(0))

    # --- tables -------------------------------------------------------------------------------
    def _has_table(self, name: str) -> bool:
        return name in self.db.list_tables().tables

    def _videos(self) -> lancedb.table.Table:
        if not self._has_table(VIDEOS_TABLE):
            self.db.create_table(VIDEOS_TABLE, schema=VIDEOS_SCHEMA, exist_ok=True)
        return self.db.open_table(VIDEOS_TABLE)

    def fingerprints(self, modality: str, dim: int | None = None) -> lancedb.table.Table | None:
        """The fingerprints table of ``modality``; created when ``dim`` is given and it does not exist."""
        name = fingerprint_table_name(modality)
        if not self._has_table(name):
            if dim is None:
                return None
            self.db.create_table(name, schema=fingerprint_schema(dim), exist_ok=True)
        table = self.db.open_table(name)
        if dim is not None:
            stored = table.schema.field("vector").type.list_size
            if stored != dim:
                raise ValueError(f"table {name} holds {stored}-d vectors but the model gives {dim}-d: "
                                 "re-index into a new database (or table) for a new model")
        return table

    # --- videos -------------------------------------------------------------------------------
    def videos(self, columns: list[str] | None = None) -> pa.Table:
        """The whole videos table (one row per file ever ingested)."""
        return self._videos().to_arrow().select(columns) if columns else self._videos().to_arrow()

    def upsert_videos(self, rows: pa.Table) -> None:
        """Insert or replace videos rows by ``video_id`` in one commit."""
        if rows.num_rows:
            rows = rows.select(VIDEOS_SCHEMA.names).cast(VIDEOS_SCHEMA)
            (self._videos().merge_insert("video_id").when_matched_update_all()
             .when_not_matched_insert_all().execute(rows))

    def ok_video_ids(self) -> set[str]:
        """Ids of videos whose fingerprints are complete."""
        table = self.videos(["video_id", "status"])
        return set(pc.filter(table["video_id"], pc.equal(table["status"], VIDEO_STATUS_OK)).to_pylist())

    def state(self, modalities: tuple[str, ...]) -> dict[str, int]:
        """Version of the videos table and of each modality's fingerprints table (changes with every write)."""
        versions = {VIDEOS_TABLE: self._videos().version}
        for m in modalities:
            table = self.fingerprints(m)
            versions[fingerprint_table_name(m)] = table.version if table is not None else 0
        return versions

    # --- calibration --------------------------------------------------------------------------
    def cached_calibration(self, key: str) -> str | None:
        """The calibration stored under ``key`` (JSON text), or None."""
        if not self._has_table(CALIBRATION_TABLE):
            return None
        rows = (self.db.open_table(CALIBRATION_TABLE).search().where(f"key = {_sql_list([key])[1:-1]}")
                .select(["value"]).limit(1).to_arrow())
        return rows["value"][0].as_py() if rows.num_rows else None

    def save_calibration(self, key: str, value: str) -> None:
        """Store a calibration (JSON text) under ``key``, replacing one stored under the same key."""
        row = pa.Table.from_pylist([{"key": key, "created_at": datetime.now(timezone.utc), "value": value}],
                                   schema=CALIBRATION_SCHEMA)
        table = self.db.create_table(CALIBRATION_TABLE, schema=CALIBRATION_SCHEMA, exist_ok=True)
        table.merge_insert("key").when_matched_update_all().when_not_matched_insert_all().execute(row)

    # --- fingerprints -------------------------------------------------------------------------
    def add_fingerprints(self, modality: str, rows: pa.Table) -> None:
        """Append fingerprint rows of one modality in one commit."""
        if rows.num_rows:
            dim = rows.schema.field("vector").type.list_size
            self.fingerprints(modality, dim).add(rows)

    def delete_fingerprints(self, video_ids: list[str], modalities: tuple[str, ...]) -> None:
        """Delete every fingerprint row of ``video_ids`` (one commit per table that has any)."""
        for modality in modalities:
            table = self.fingerprints(modality)
            if table is None or not video_ids:
                continue
            for first in range(0, len(video_ids), 1000):
                predicate = f"video_id IN {_sql_list(video_ids[first:first + 1000])}"
                if table.count_rows(predicate):
                    table.delete(predicate)

    def intervals_of(self, modality: str, video_id: str) -> pa.Table:
        """All fingerprint rows of one video for one modality, in time order."""
        table = self.fingerprints(modality)
        if table is None:
            return fingerprint_schema(1).empty_table()
        rows = (table.search().where(f"video_id = {_sql_list([video_id])[1:-1]}")
                .select(["video_id", "t_start", "t_end", "vector", "model_version"]).limit(None).to_arrow())
        return rows.sort_by("t_start")

    def count(self, modality: str) -> int:
        """Rows in one modality's fingerprints table (0 when it does not exist)."""
        table = self.fingerprints(modality)
        return 0 if table is None else table.count_rows()

    # --- maintenance --------------------------------------------------------------------------
    def has_vector_index(self, modality: str) -> bool:
        table = self.fingerprints(modality)
        return table is not None and any("vector" in idx.columns for idx in table.list_indices())

    def build_vector_index(self, modality: str) -> bool:
        """Build (or rebuild) the ANN index of one modality; returns False when the table is too small."""
        table = self.fingerprints(modality)
        rows = 0 if table is None else table.count_rows()
        if rows < max(self.opts.build_min_rows, 256):
            return False
        dim = table.schema.field("vector").type.list_size
        partitions = self.opts.num_partitions
        if self.opts.index_type.upper() == "IVF_RQ":
            config: Any = lancedb.index.IvfRq(distance_type="dot", num_partitions=partitions)
        else:
            config = lancedb.index.IvfPq(distance_type="dot", num_partitions=partitions,
                                         num_sub_vectors=self.opts.num_sub_vectors or max(1, dim // 8))
        log.info("building %s index on %s (%d rows)", self.opts.index_type, modality, rows)
        table.create_index("vector", config=config, replace=True)
        return True

    def finalize(self, modalities: tuple[str, ...]) -> None:
        """End of a write job: build a missing ANN index once a table is large enough, then optimize all tables."""
        for modality in modalities:
            table = self.fingerprints(modality)
            if table is None:
                continue
            if not self.has_vector_index(modality):
                self.build_vector_index(modality)
            if not any(idx.columns == ["video_id"] for idx in table.list_indices()):
                # per-video reads, deletes and the self-exclusion filter of every search use it
                table.create_scalar_index("video_id", index_type="BTREE")
            table.optimize(cleanup_older_than=timedelta(days=self.opts.cleanup_older_than_days))
        self._videos().optimize(cleanup_older_than=timedelta(days=self.opts.cleanup_older_than_days))
