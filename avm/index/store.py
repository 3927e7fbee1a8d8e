"""The fingerprint store: one LanceDB database (a local directory or an ``s3://`` URI) holding the catalog.

Tables (:mod:`avm.schema`): ``videos``; one fingerprints table per modality and model version, each with a
segment-vector table beside it (:func:`avm.schema.segment_table_name`, rows tagged like the fingerprints they
summarise);
``fingerprint_sets`` (which write batch holds each video's current fingerprints); ``catalog`` (the active model
versions); ``audit`` (takedowns); ``calibration``; ``shared_lines`` (content shared between catalog videos, per
video).

A write is one :func:`avm.index.writer.commit` of many videos, in this order: fingerprint and segment-vector rows
(tagged with a new batch id), their ``fingerprint_sets`` rows, the ``videos`` rows, then the rows they replace are deleted. Readers
search only the batches named by ``fingerprint_sets`` for videos whose status is searchable (a
:class:`CatalogSnapshot`), so a job killed between any two of these steps leaves rows that no reader sees, and
that the next write removes (:mod:`avm.index.maintenance`). Commits hold the store's :class:`CommitLock`.

Reading never writes: a store that does not exist is read as empty and never created by a reader.
"""

from __future__ import annotations

import json
import logging
import os
import random
import time
from collections.abc import Callable, Iterable, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any, TypeVar
from urllib.parse import urlparse

import lancedb
import pyarrow as pa
import pyarrow.compute as pc

from avm.errors import UserError
from avm.index.in_memory import InMemoryTable
from avm.index.lock import CommitLock
from avm.index.options import IndexOptions
from avm.index.snapshot import CatalogSnapshot
from avm.index.sql import sql_list, sql_literal
from avm.schema import (
    CATALOG_SCHEMA,
    FINGERPRINTS_PREFIX,
    LIVE_STATUSES,
    VIDEOS_SCHEMA,
    fingerprint_schema,
    fingerprint_table_name,
    segment_table_name,
)

log = logging.getLogger(__name__)
T = TypeVar("T")

VIDEOS_TABLE = "videos"
SETS_TABLE = "fingerprint_sets"
CATALOG_TABLE = "catalog"
ACTIVE_KEY = "active"
IN_CHUNK = 1000  # ids per IN (...) predicate


class ModelMismatch(UserError):
    """The configured model is not the one the catalog is indexed with."""


def local_dir(uri: str) -> str | None:
    """The folder of a local store (a plain path or ``file://`` URI); None for an object store."""
    parsed = urlparse(uri)
    if len(parsed.scheme) > 1 and parsed.scheme != "file":
        return None
    return parsed.path if uri.startswith("file://") else uri


def new_batch_id() -> int:
    """A fresh write-batch id: milliseconds since the epoch times 10^6 plus a random part (its age is readable)."""
    return int(time.time() * 1000) * 1_000_000 + random.randrange(1_000_000)


def batch_age_seconds(batch_id: int) -> float:
    """How long ago the batch ``batch_id`` was started."""
    return time.time() - (batch_id // 1_000_000) / 1000


def set_key(modality: str, model_version: str, video_id: str) -> str:
    """The ``fingerprint_sets`` key of one (modality, model version, video)."""
    return f"{modality}/{model_version}/{video_id}"


def read_again_if_gone(read: Callable[[], T], table: lancedb.table.Table) -> T:
    """``read()``, once more from the table's latest version when a file of the version it read has just been
    removed (a takedown cleans old versions while other jobs read)."""
    try:
        return read()
    except (OSError, RuntimeError, ValueError) as exc:
        if "not found" not in str(exc).lower():
            raise
        table.checkout_latest()
        return read()


def chunks(values: Sequence[str], size: int = IN_CHUNK) -> Iterable[Sequence[str]]:
    """``values`` in slices of at most ``size`` (for IN predicates)."""
    for first in range(0, len(values), size):
        yield values[first:first + size]


class FingerprintStore:
    """Read and write the AVM tables of one LanceDB database.

    ``snapshot`` pins what reads see (a scan passes the one it calibrated on to every worker); by default the
    first read takes one and :meth:`refresh` takes a new one.
    """

    def __init__(self, opts: IndexOptions, snapshot: CatalogSnapshot | None = None) -> None:
        self.opts = opts
        self.local_dir = local_dir(opts.uri)
        self.lock = CommitLock(self.local_dir)
        self._db: lancedb.DBConnection | None = None
        self._snapshot = snapshot
        self._in_memory: dict[str, InMemoryTable] = {}  # table name → its rows, as last read

    # --- connection and tables ----------------------------------------------------------------
    def exists(self) -> bool:
        """Whether a database is there at all (a missing local folder is not created by reading it)."""
        return self.local_dir is None or os.path.isdir(self.local_dir)

    @property
    def db(self) -> lancedb.DBConnection:
        """The LanceDB connection (connecting creates a local folder: only writers call this on a new store)."""
        if self._db is None:
            self._db = lancedb.connect(self.opts.uri, storage_options=self.opts.storage_options or None,
                                       read_consistency_interval=timedelta(0))
        return self._db

    def table_names(self) -> list[str]:
        """Every table of the database (none when it does not exist)."""
        return list(self.db.list_tables(limit=100_000).tables) if self.exists() else []

    def has_table(self, name: str) -> bool:
        return name in self.table_names()

    def table(self, name: str) -> lancedb.table.Table | None:
        """An existing table, or None (reads never create one; a table another job is creating right now, listed
        before its first version is committed, is not there yet)."""
        if not self.has_table(name):
            return None
        try:
            return self.db.open_table(name)
        except ValueError as exc:
            if "was not found" in str(exc):
                return None
            raise

    def writable_table(self, name: str, schema: pa.Schema) -> lancedb.table.Table:
        """A table to write, created empty with ``schema`` when missing."""
        if not self.has_table(name):
            self.db.create_table(name, schema=schema, exist_ok=True)
        return self.db.open_table(name)

    def fingerprint_tables(self) -> list[str]:
        """The fingerprints tables of every model version."""
        return sorted(n for n in self.table_names() if n.startswith(FINGERPRINTS_PREFIX))

    def check_schema(self) -> None:
        """Refuse a store written by an AVM whose tables this one cannot read."""
        old = [n for n in self.fingerprint_tables() if "__" not in n]
        if old:
            raise UserError(f"the store at {self.opts.uri} was written by an older AVM (tables {old}): "
                            "delete that folder and ingest again, or ingest into a new index.uri")

    def fingerprints(self, modality: str, version: str | None = None,
                     segments: bool = False) -> lancedb.table.Table | None:
        """The fingerprints table of ``modality`` made by ``version`` (default: the snapshot's), or with
        ``segments`` its segment-vector table; None when missing."""
        version = version or self.snapshot().versions.get(modality)
        name = segment_table_name if segments else fingerprint_table_name
        return self.table(name(modality, version)) if version else None

    def fingerprints_for_writing(self, modality: str, version: str, dim: int,
                                 segments: bool = False) -> lancedb.table.Table:
        """The fingerprints (or ``segments``) table of (``modality``, ``version``), created when missing; its
        width is checked."""
        name = segment_table_name if segments else fingerprint_table_name
        table = self.writable_table(name(modality, version), fingerprint_schema(dim))
        stored = table.schema.field("vector").type.list_size
        if stored != dim:
            raise ValueError(f"table {table.name} holds {stored}-d vectors but the model gives {dim}-d")
        return table

    # --- videos and catalog settings -----------------------------------------------------------
    def videos(self, columns: list[str] | None = None, where: str | None = None) -> pa.Table:
        """Rows of the videos table (every file ever ingested; empty when there is none)."""
        table = self.table(VIDEOS_TABLE)
        if table is None:
            rows = VIDEOS_SCHEMA.empty_table()
        else:
            query = table.search().limit(None)
            rows = (query.where(where) if where else query).to_arrow()
        return rows.select(columns) if columns else rows

    def live_videos(self, columns: list[str] | None = None) -> pa.Table:
        """The videos whose fingerprints are searched (status ok or partial)."""
        rows = self.videos()
        rows = rows.filter(pc.is_in(rows["status"], pa.array(LIVE_STATUSES)))
        return rows.select(columns) if columns else rows

    def setting(self, key: str) -> Any:
        """A catalog setting (JSON value), or None."""
        table = self.table(CATALOG_TABLE)
        if table is None:
            return None
        rows = table.search().where(f"key = {sql_literal(key)}").select(["value"]).limit(1).to_arrow()
        return json.loads(rows["value"][0].as_py()) if rows.num_rows else None

    def write_setting(self, key: str, value: Any) -> None:
        """Store a catalog setting (replacing the one under ``key``) in one commit."""
        row = pa.Table.from_pylist([{"key": key, "value": json.dumps(value), "updated_at": datetime.now(UTC)}],
                                   schema=CATALOG_SCHEMA)
        (self.writable_table(CATALOG_TABLE, CATALOG_SCHEMA).merge_insert("key").when_matched_update_all()
         .when_not_matched_insert_all().execute(row))

    def active_versions(self) -> dict[str, str]:
        """The model version each modality is searched with (empty for a new store)."""
        return dict((self.setting(ACTIVE_KEY) or {}).get("versions", {}))

    def previous_versions(self) -> dict[str, str]:
        """The model versions that were active before the last swap (what a rollback returns to)."""
        return dict((self.setting(ACTIVE_KEY) or {}).get("previous", {}))

    def activate(self, versions: dict[str, str]) -> None:
        """Make ``versions`` the active model versions (one commit); the replaced ones become the previous."""
        current = self.active_versions()
        changed = {m: current[m] for m, v in versions.items() if m in current and current[m] != v}
        previous = {**self.previous_versions(), **changed} if changed else self.previous_versions()
        self.write_setting(ACTIVE_KEY, {"versions": {**current, **versions}, "previous": previous})
        self.refresh()

    def check_versions(self, versions: dict[str, str]) -> None:
        """Raise :class:`ModelMismatch` when a configured model differs from the catalog's active one."""
        active = self.active_versions()
        wrong = {m: (v, active[m]) for m, v in versions.items() if m in active and active[m] != v}
        if wrong:
            detail = "; ".join(f"{m}: config {cfg}, catalog {cat}" for m, (cfg, cat) in wrong.items())
            raise ModelMismatch(f"the configured models are not the ones the catalog at {self.opts.uri} is indexed "
                                f"with ({detail}): configure the catalog's model, or switch the catalog with "
                                "avm reindex")

    # --- what readers see -----------------------------------------------------------------------
    def current_sets(self, modality: str, version: str) -> dict[str, int]:
        """video id → batch id of the current fingerprints of (``modality``, ``version``)."""
        table = self.table(SETS_TABLE)
        if table is None:
            return {}
        rows = (table.search().where(f"modality = {sql_literal(modality)} AND "
                                     f"model_version = {sql_literal(version)}")
                .select(["video_id", "batch_id"]).limit(None).to_arrow())
        return dict(zip(rows["video_id"].to_pylist(), rows["batch_id"].to_pylist(), strict=True))

    def take_snapshot(self) -> CatalogSnapshot:
        """A fresh view of what is searchable now."""
        self.check_schema()
        live = self.live_videos(["video_id", "duration"])
        durations = dict(zip(live["video_id"].to_pylist(), live["duration"].to_pylist(), strict=True))
        versions = self.active_versions()
        batches = {m: {v: b for v, b in self.current_sets(m, version).items() if v in durations}
                   for m, version in versions.items()}
        return CatalogSnapshot(versions, batches, {v: float(d or 0.0) for v, d in durations.items()})

    def snapshot(self) -> CatalogSnapshot:
        """The view reads use (taken on first use)."""
        if self._snapshot is None:
            self._snapshot = self.take_snapshot()
        return self._snapshot

    def refresh(self) -> None:
        """Forget the current view; the next read takes a new one."""
        self._snapshot = None

    def require_catalog(self, searchable: bool = True) -> CatalogSnapshot:
        """The snapshot, or a :class:`UserError` when there is no catalog (or, with ``searchable``, nothing in it
        to search)."""
        if not self.has_table(VIDEOS_TABLE):
            raise UserError(f"no catalog at index.uri={self.opts.uri}: nothing was ever ingested there "
                            "(check the path, or run avm ingest first)")
        snapshot = self.snapshot()
        if searchable and not snapshot.durations:
            raise UserError(f"the catalog at index.uri={self.opts.uri} holds no searchable video (see avm list)")
        return snapshot

    def state(self, modalities: Sequence[str]) -> dict[str, Any]:
        """Versions of the tables reads depend on (changes with every write): the calibration's cache key."""
        state: dict[str, Any] = {}
        for name in (VIDEOS_TABLE, SETS_TABLE):
            table = self.table(name)
            state[name] = table.version if table is not None else 0
        for m in modalities:
            tables = (self.fingerprints(m), self.fingerprints(m, segments=True))
            state[m] = [self.snapshot().versions.get(m), *(t.version if t is not None else 0 for t in tables)]
        return state

    def intervals_of(self, modality: str, video_id: str, segments: bool = False) -> pa.Table:
        """The current fingerprint rows (or ``segments``: segment-vector rows) of one video for one modality, in
        time order."""
        table, batch = self.fingerprints(modality, segments=segments), self.snapshot().batch_of(modality, video_id)
        if table is None or batch is None:
            return fingerprint_schema(1).empty_table()
        query = (table.search().where(f"video_id = {sql_literal(video_id)} AND batch_id = {batch}")
                 .select(["video_id", "t_start", "t_end", "vector", "model_version"]).limit(None))
        return read_again_if_gone(query.to_arrow, table).sort_by("t_start")

    def count(self, modality: str) -> int:
        """Rows stored in the active fingerprints table of ``modality`` (0 when it does not exist)."""
        table = self.fingerprints(modality)
        return 0 if table is None else table.count_rows()

    def in_memory(self, table: lancedb.table.Table) -> InMemoryTable | None:
        """The latest version of ``table`` held in memory (read once per version), or None when it has more than
        ``opts.in_memory_max_rows`` rows."""
        if table.count_rows() > self.opts.in_memory_max_rows:
            self._in_memory.pop(table.name, None)
            return None
        held = self._in_memory.get(table.name)
        if held is None or held.version != table.version:
            held = read_again_if_gone(lambda: InMemoryTable.read(table.name, table.to_lance()), table)
            self._in_memory[table.name] = held
        return held

    def has_vector_index(self, modality: str, version: str | None = None, segments: bool = False) -> bool:
        table = self.fingerprints(modality, version, segments)
        return table is not None and any("vector" in idx.columns for idx in table.list_indices())

    def missing_segments(self, modality: str, version: str | None = None) -> dict[str, int]:
        """video id → batch id of the snapshot's videos whose current fingerprints of (``modality``, ``version``:
        default the snapshot's) have no segment vectors stored (every one when the table is missing: a store
        written before segment vectors, or with none configured)."""
        snapshot, sets = self.snapshot(), self.table(SETS_TABLE)
        version = version or snapshot.versions.get(modality)
        if sets is None or version is None:
            return {}
        rows = (sets.search().where(f"modality = {sql_literal(modality)} AND model_version = {sql_literal(version)} "
                                    "AND n_intervals > 0").select(["video_id", "batch_id"]).limit(None).to_arrow())
        wanted = {v: b for v, b in zip(rows["video_id"].to_pylist(), rows["batch_id"].to_pylist(), strict=True)
                  if v in snapshot.durations}
        table = self.fingerprints(modality, version, segments=True)
        if table is None or not wanted:
            return wanted
        rows = read_again_if_gone(lambda: table.to_lance().to_table(columns=["video_id", "batch_id"]), table)
        stored = set(zip(rows["video_id"].to_pylist(), rows["batch_id"].to_pylist(), strict=True))
        return {v: b for v, b in wanted.items() if (v, b) not in stored}

    # --- writes -----------------------------------------------------------------------------------
    def drop_other_versions(self, video_ids: list[str], written: list[str]) -> None:
        """Delete the sets rows of ``video_ids`` made by model versions other than the ``written`` ones."""
        table = self.table(SETS_TABLE)
        if table is None:
            return
        for part in chunks(video_ids):
            predicate = f"video_id IN {sql_list(part)} AND model_version NOT IN {sql_list(written)}"
            if table.count_rows(predicate):
                table.delete(predicate)
