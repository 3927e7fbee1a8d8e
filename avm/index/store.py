"""The fingerprint store: the videos table and one fingerprints table per modality in one LanceDB database.

Writes are batched into a few large commits. A video's fingerprints are committed before its ``ok`` row in
the videos table, so a job that dies half way leaves at most orphan fingerprints of videos not marked
``ok``; the next run deletes those before writing them again, ending in the state of one clean run.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from datetime import timedelta
from typing import Any

import lancedb
import pyarrow as pa
import pyarrow.compute as pc

from avm.index.options import IndexOptions
from avm.index.sql import sql_list, sql_literal
from avm.schema import VIDEO_STATUS_OK, VIDEOS_SCHEMA, fingerprint_schema, fingerprint_table_name

log = logging.getLogger(__name__)

VIDEOS_TABLE = "videos"


class FingerprintStore:
    """Read and write the AVM tables of one LanceDB database (a local directory or ``s3://`` URI)."""

    def __init__(self, opts: IndexOptions) -> None:
        self.opts = opts
        self.db = lancedb.connect(opts.uri, storage_options=opts.storage_options or None,
                                  read_consistency_interval=timedelta(0))

    # --- tables -------------------------------------------------------------------------------
    def has_table(self, name: str) -> bool:
        """Whether the database holds a table called ``name``."""
        return name in self.db.list_tables().tables

    def _videos(self) -> lancedb.table.Table:
        if not self.has_table(VIDEOS_TABLE):
            self.db.create_table(VIDEOS_TABLE, schema=VIDEOS_SCHEMA, exist_ok=True)
        return self.db.open_table(VIDEOS_TABLE)

    def fingerprints(self, modality: str, dim: int | None = None) -> lancedb.table.Table | None:
        """The fingerprints table of ``modality``; created when ``dim`` is given and it does not exist."""
        name = fingerprint_table_name(modality)
        if not self.has_table(name):
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

    def ok_videos(self, columns: list[str] | None = None) -> pa.Table:
        """The videos rows whose fingerprints are complete (status ``ok``), in table order."""
        table = self.videos()
        table = table.filter(pc.equal(table["status"], VIDEO_STATUS_OK))
        return table.select(columns) if columns else table

    def state(self, modalities: Sequence[str]) -> dict[str, int]:
        """Version of the videos table and of each modality's fingerprints table (changes with every write)."""
        versions = {VIDEOS_TABLE: self._videos().version}
        for m in modalities:
            table = self.fingerprints(m)
            versions[fingerprint_table_name(m)] = table.version if table is not None else 0
        return versions

    # --- fingerprints -------------------------------------------------------------------------
    def add_fingerprints(self, modality: str, rows: pa.Table) -> None:
        """Append fingerprint rows of one modality in one commit."""
        if rows.num_rows:
            dim = rows.schema.field("vector").type.list_size
            self.fingerprints(modality, dim).add(rows)

    def delete_fingerprints(self, video_ids: list[str], modalities: Sequence[str]) -> None:
        """Delete every fingerprint row of ``video_ids`` (one commit per table that has any)."""
        for modality in modalities:
            table = self.fingerprints(modality)
            if table is None or not video_ids:
                continue
            for first in range(0, len(video_ids), 1000):
                predicate = f"video_id IN {sql_list(video_ids[first:first + 1000])}"
                if table.count_rows(predicate):
                    table.delete(predicate)

    def intervals_of(self, modality: str, video_id: str) -> pa.Table:
        """All fingerprint rows of one video for one modality, in time order."""
        table = self.fingerprints(modality)
        if table is None:
            return fingerprint_schema(1).empty_table()
        rows = (table.search().where(f"video_id = {sql_literal(video_id)}")
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

    def finalize(self, modalities: Sequence[str]) -> None:
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
