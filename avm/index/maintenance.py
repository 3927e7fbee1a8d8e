"""Keeping the store clean and fast: leftovers removed, takedowns erased, ANN indexes retrained as tables grow.

Leftovers are fingerprint rows no :class:`~avm.index.snapshot.CatalogSnapshot` names (a job killed between its
commits, a video replaced or no longer searchable) and sets rows of videos that are not searchable. Search never
returns them; :func:`clear_leftovers` deletes them under the commit lock (on a store without one, only those older
than ``IndexOptions.leftover_grace_minutes``, since a younger one may belong to a commit in flight).
"""

from __future__ import annotations

import getpass
import json
import logging
import os
import socket
import time
from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, TypeVar

import lancedb
import pyarrow as pa

from avm.errors import UserError
from avm.index.calibrations import SHARED_LINES_TABLE
from avm.index.options import INDEX_TYPES, IndexOptions
from avm.index.segments import write_missing_segments
from avm.index.sql import sql_list, sql_literal
from avm.index.store import (
    SETS_TABLE,
    VIDEOS_TABLE,
    FingerprintStore,
    batch_age_seconds,
    chunks,
)
from avm.schema import AUDIT_SCHEMA, fingerprint_table_name, segment_table_name

log = logging.getLogger(__name__)

AUDIT_TABLE = "audit"
T = TypeVar("T")


def _current_pairs(store: FingerprintStore) -> dict[str, set[tuple[str, int]]]:
    """Per fingerprints (and segment-vector) table, the (video id, batch id) pairs that searchable videos' sets
    rows name."""
    sets = store.table(SETS_TABLE)
    if sets is None:
        return {}
    rows = sets.search().select(["video_id", "modality", "model_version", "batch_id"]).limit(None).to_arrow()
    live = set(store.live_videos(["video_id"])["video_id"].to_pylist())
    pairs: dict[str, set[tuple[str, int]]] = defaultdict(set)
    for row in rows.to_pylist():
        if row["video_id"] in live:
            for name in (fingerprint_table_name, segment_table_name):
                pairs[name(row["modality"], row["model_version"])].add((row["video_id"], row["batch_id"]))
    return pairs


def _stored_pairs(table: lancedb.table.Table, video_ids: Sequence[str] | None) -> set[tuple[str, int]]:
    """The distinct (video id, batch id) pairs of a fingerprints table (of ``video_ids`` only, when given)."""
    if video_ids is None:
        rows = table.to_lance().to_table(columns=["video_id", "batch_id"])
    else:
        parts = [table.search().where(f"video_id IN {sql_list(part)}").select(["video_id", "batch_id"])
                 .limit(None).to_arrow() for part in chunks(list(video_ids))]
        rows = pa.concat_tables(parts) if parts else pa.table({"video_id": [], "batch_id": []})
    if rows.num_rows == 0:
        return set()
    unique = rows.group_by(["video_id", "batch_id"]).aggregate([])
    return set(zip(unique["video_id"].to_pylist(), unique["batch_id"].to_pylist(), strict=True))


def clear_leftovers(store: FingerprintStore, video_ids: Sequence[str] | None = None) -> dict[str, int]:
    """Delete leftover rows (of ``video_ids`` only, when given); returns rows deleted per table."""
    min_age = 0.0 if store.lock.exclusive else store.opts.leftover_grace_minutes * 60
    removed: dict[str, int] = {}
    with store.lock.held():
        current = _current_pairs(store)
        for name in store.fingerprint_tables():
            table = store.table(name)
            stale = [(v, b) for v, b in _stored_pairs(table, video_ids) - current.get(name, set())
                     if batch_age_seconds(b) >= min_age]
            by_batch: dict[int, list[str]] = defaultdict(list)
            for video_id, batch_id in stale:
                by_batch[batch_id].append(video_id)
            before = table.count_rows() if stale else 0
            for batch_id, ids in by_batch.items():
                for part in chunks(sorted(ids)):
                    table.delete(f"batch_id = {batch_id} AND video_id IN {sql_list(part)}")
            if stale:
                removed[name] = before - table.count_rows()
        sets = store.table(SETS_TABLE)
        if sets is not None and store.lock.exclusive:
            dead = _unsearchable_sets(store, sets, video_ids)
            for part in chunks(dead):
                removed[SETS_TABLE] = removed.get(SETS_TABLE, 0) + sets.count_rows(f"video_id IN {sql_list(part)}")
                sets.delete(f"video_id IN {sql_list(part)}")
    if removed:
        log.info("removed leftover rows: %s", removed)
        store.refresh()
    return removed


def _unsearchable_sets(store: FingerprintStore, sets: lancedb.table.Table,
                       video_ids: Sequence[str] | None) -> list[str]:
    """Videos (of ``video_ids``, when given) that have sets rows but are not searchable."""
    rows = sets.search().select(["video_id"]).limit(None).to_arrow()["video_id"].to_pylist()
    live = set(store.live_videos(["video_id"])["video_id"].to_pylist())
    wanted = set(video_ids) if video_ids is not None else None
    return sorted({v for v in rows if v not in live and (wanted is None or v in wanted)})


# --- takedown -----------------------------------------------------------------------------------
@dataclass
class DeleteReport:
    """What a takedown removed (or would remove, on a dry run)."""

    requested: list[str]
    found: list[str] = field(default_factory=list)
    rows: dict[str, int] = field(default_factory=dict)  # table → rows removed
    bytes_before: int = 0
    bytes_after: int = 0
    dry_run: bool = False

    @property
    def missing(self) -> list[str]:
        return sorted(set(self.requested) - set(self.found))

    def lines(self) -> list[str]:
        verb = "would delete" if self.dry_run else "deleted"
        out = [f"{verb} {len(self.found)} of {len(self.requested)} videos; rows: {self.rows}"]
        if not self.dry_run:
            out.append(f"store size: {self.bytes_before / 1e6:.2f} MB → {self.bytes_after / 1e6:.2f} MB")
        out += [f"not in the catalog: {v}" for v in self.missing]
        return out


def delete_videos(store: FingerprintStore, video_ids: Sequence[str], reason: str, dry_run: bool = False,
                  user: str | None = None) -> DeleteReport:
    """Take ``video_ids`` down: record each in the audit table, remove their fingerprint rows of every model
    version and the shared-content lines found from them, then their sets and videos rows, then rewrite every table that holds deleted rows and drop older
    versions, so the removed bytes leave the disk. A takedown killed part way is finished by running it again
    (an id counts as found while any table still holds it; the rewrite always runs)."""
    report = DeleteReport(sorted(set(video_ids)), dry_run=dry_run)
    with store.lock.held():
        known = store.videos(["video_id", "uri"])
        uris = dict(zip(known["video_id"].to_pylist(), known["uri"].to_pylist(), strict=True))
        names = [*store.fingerprint_tables(), SHARED_LINES_TABLE, SETS_TABLE, VIDEOS_TABLE]
        tables = [t for t in map(store.table, names) if t is not None]
        found: set[str] = set()
        for table in tables:
            for part in chunks(report.requested):
                rows = table.search().where(f"video_id IN {sql_list(part)}").select(["video_id"]).limit(None).to_arrow()
                if rows.num_rows:
                    report.rows[table.name] = report.rows.get(table.name, 0) + rows.num_rows
                    found.update(rows["video_id"].to_pylist())
        report.found = sorted(found)
        if dry_run:
            return report
        report.bytes_before = store_bytes(store)
        if report.found:
            _audit(store, report.found, uris, reason, report.rows, user)
            for table in tables:  # fingerprints before the rows that describe them
                if table.name in report.rows:
                    for part in chunks(report.found):
                        retrying(table.delete, f"video_id IN {sql_list(part)}")
        for table in tables:
            erase_deleted_rows(table)
        report.bytes_after = store_bytes(store)
    store.refresh()
    return report


def deleted_since(store: FingerprintStore, since: datetime) -> set[str]:
    """Ids taken down at or after ``since`` (a write that began before must not bring them back)."""
    table = store.table(AUDIT_TABLE)
    if table is None:
        return set()
    rows = table.search().where("action = 'delete'").select(["video_id", "at"]).limit(None).to_arrow()
    return {v for v, at in zip(rows["video_id"].to_pylist(), rows["at"].to_pylist(), strict=True) if at >= since}


def _audit(store: FingerprintStore, video_ids: list[str], uris: dict[str, str], reason: str,
           rows: dict[str, int], user: str | None) -> None:
    now, who, host = datetime.now(UTC), user or getpass.getuser(), socket.gethostname()
    entries = [{"at": now, "action": "delete", "video_id": v, "uri": uris.get(v), "user": who, "host": host,
                "reason": reason, "details": json.dumps({"rows_in_batch": rows})} for v in video_ids]
    store.writable_table(AUDIT_TABLE, AUDIT_SCHEMA).add(pa.Table.from_pylist(entries, schema=AUDIT_SCHEMA))


def retrying(action: Callable[..., T], *args: object, attempts: int = 5, **kwargs: object) -> T:
    """``action(*args, **kwargs)``, run again when LanceDB reports a commit conflict with a concurrent job (a
    compaction or index build racing a delete)."""
    for attempt in range(attempts):
        try:
            return action(*args, **kwargs)
        except (OSError, RuntimeError) as exc:
            if "conflict" not in str(exc).lower() or attempt == attempts - 1:
                raise
            log.info("commit conflict with a concurrent job, retrying: %s", str(exc).splitlines()[0])
            time.sleep(0.2 * (attempt + 1))
    raise AssertionError("unreachable")


def erase_deleted_rows(table: lancedb.table.Table) -> None:
    """Rewrite every fragment that holds deleted rows and drop all older versions: deleted data leaves the disk."""
    dataset = table.to_lance()
    retrying(dataset.optimize.compact_files, materialize_deletions=True, materialize_deletions_threshold=0.0)
    dataset.cleanup_old_versions(older_than=timedelta(0))
    table.checkout_latest()


def folder_bytes(folder: str) -> int:
    """Bytes of every file below ``folder``."""
    return sum(os.path.getsize(os.path.join(root, f)) for root, _, files in os.walk(folder) for f in files)


def store_bytes(store: FingerprintStore) -> int:
    """Bytes the store takes: files under a local store's folder, else the tables' own statistics."""
    if store.local_dir is not None:
        return folder_bytes(store.local_dir)
    return sum(int(store.table(n).stats()["total_bytes"]) for n in store.table_names())


def audit_rows(store: FingerprintStore) -> pa.Table:
    """The audit table (empty when nothing was ever taken down)."""
    table = store.table(AUDIT_TABLE)
    return table.to_arrow() if table is not None else AUDIT_SCHEMA.empty_table()


# --- ANN index and compaction -------------------------------------------------------------------------
def pq_sub_vectors(dim: int) -> int:
    """PQ sub-vectors of a ``dim``-d table: about a code byte per 4 dimensions, a divisor of ``dim`` (LanceDB
    needs one)."""
    return max(n for n in range(1, max(1, dim // 4) + 1) if dim % n == 0)


def index_config(opts: IndexOptions, dim: int) -> Any:
    """LanceDB's configuration of the ANN index ``opts.index_type`` for ``dim``-d vectors searched by ``dot``."""
    kind, common = opts.index_type, {"distance_type": "dot", "num_partitions": opts.num_partitions}
    sub_vectors = opts.num_sub_vectors or pq_sub_vectors(dim)
    if kind == "IVF_PQ":
        return lancedb.index.IvfPq(**common, num_sub_vectors=sub_vectors)
    if kind == "IVF_RQ":
        return lancedb.index.IvfRq(**common)
    if kind == "IVF_HNSW_SQ":
        return lancedb.index.HnswSq(**common)
    if kind == "IVF_HNSW_PQ":
        return lancedb.index.HnswPq(**common, num_sub_vectors=sub_vectors)
    raise UserError(f"index.index_type must be one of {', '.join(INDEX_TYPES)}, not {opts.index_type!r}")


def build_vector_index(store: FingerprintStore, table: lancedb.table.Table) -> bool:
    """Train the ANN index of a fingerprints table afresh; False when it is too small (exact search)."""
    rows = table.count_rows()
    if rows < max(store.opts.build_min_rows, 256):
        return False
    dim = table.schema.field("vector").type.list_size
    config = index_config(store.opts, dim)
    log.info("training the %s index of %s (%d rows)", store.opts.index_type, table.name, rows)
    table.create_index("vector", config=config, replace=True)
    store.write_setting(f"index/{table.name}", {"rows": rows, "at": datetime.now(UTC).isoformat()})
    return True


def index_policy(store: FingerprintStore, table: lancedb.table.Table) -> str:
    """Train the ANN index when missing, retrain it once the table has grown ``rebuild_growth``-fold since, else
    leave it to :meth:`optimize` to add new rows. Returns what was done. Unindexed rows are still searched."""
    indexed = any("vector" in idx.columns for idx in table.list_indices())
    if not indexed:
        return "trained" if build_vector_index(store, table) else "exact search"
    trained_on = int((store.setting(f"index/{table.name}") or {}).get("rows", 0))
    if trained_on and table.count_rows() >= store.opts.rebuild_growth * trained_on:
        build_vector_index(store, table)
        return "retrained"
    return "kept"


def finalize(store: FingerprintStore, modality_versions: dict[str, str]) -> dict[str, str]:
    """End of a write job: clear leftovers, store the segment vectors that fingerprints lack, apply the index
    policy to the written tables, then optimize (compaction, index update, old-version cleanup) every table the
    job wrote. Returns the index action per table."""
    clear_leftovers(store)
    write_missing_segments(store, modality_versions)
    actions = {}
    cleanup = timedelta(days=store.opts.cleanup_older_than_days)
    for modality, version in modality_versions.items():
        for segments in (False, True):
            table = store.fingerprints(modality, version, segments)
            if table is None:
                continue
            actions[table.name] = retrying(index_policy, store, table)
            if not any(idx.columns == ["video_id"] for idx in table.list_indices()):
                # per-video reads, deletes and the self-exclusion filter of every search use it
                retrying(table.create_index, "video_id", config=lancedb.index.BTree())
            retrying(table.optimize, cleanup_older_than=cleanup)
    for name in (VIDEOS_TABLE, SETS_TABLE):
        table = store.table(name)
        if table is not None:
            retrying(table.optimize, cleanup_older_than=cleanup)
    store.refresh()
    return actions


def leftover_rows(store: FingerprintStore) -> dict[str, int]:
    """Rows per fingerprints table that no snapshot names (read only)."""
    current = _current_pairs(store)
    out = {}
    for name in store.fingerprint_tables():
        table = store.table(name)
        stale = _stored_pairs(table, None) - current.get(name, set())
        if stale:
            out[name] = sum(table.count_rows(f"batch_id = {b} AND video_id = {sql_literal(v)}") for v, b in stale)
    return out


__all__ = ["AUDIT_TABLE", "DeleteReport", "audit_rows", "build_vector_index", "clear_leftovers", "delete_videos",
           "deleted_since", "erase_deleted_rows", "finalize", "index_policy", "leftover_rows", "retrying",
           "store_bytes"]
