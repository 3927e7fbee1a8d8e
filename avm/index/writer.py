"""Batched, crash-safe writes of fingerprints and video rows (a few large commits per job)."""

from __future__ import annotations

import json
import logging
from datetime import UTC, datetime

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from avm.index.maintenance import clear_leftovers, deleted_since
from avm.index.store import SETS_TABLE, VIDEOS_TABLE, FingerprintStore, new_batch_id, set_key
from avm.schema import FINGERPRINT_SETS_SCHEMA, VIDEOS_SCHEMA
from avm.types import Fingerprints

log = logging.getLogger(__name__)


def video_row(video_id: str, uri: str, status: str, *, duration: float = 0.0, streams: str = "[]",
              content_hash: str | None = None, file_size: int | None = None, file_mtime: float | None = None,
              error: str | None = None, model_versions: dict[str, str] | None = None,
              n_intervals: int = 0) -> pa.Table:
    """One row of the videos table."""
    return pa.Table.from_pylist([{
        "video_id": video_id, "uri": uri, "duration": duration, "streams": streams, "content_hash": content_hash,
        "file_size": file_size, "file_mtime": file_mtime, "status": status, "error": error or None,
        "ingested_at": datetime.now(UTC), "model_versions": json.dumps(model_versions or {}),
        "n_intervals": n_intervals,
    }], schema=VIDEOS_SCHEMA)


def store_videos(store: FingerprintStore, prints: dict[str, dict[str, Fingerprints]],
                 durations: dict[str, float] | None = None) -> None:
    """Store already fingerprinted videos as ``ok`` in one commit (video id → modality → fingerprints; the model
    versions are the fingerprints' own): for tools and tests that make fingerprints without files."""
    versions = {m: fp.model_version or "unversioned" for videos in prints.values() for m, fp in videos.items()}
    writer = BatchedWriter(store, versions)
    for video_id, by_modality in prints.items():
        duration = (durations or {}).get(video_id) or max((float(fp.t_end.max()) for fp in by_modality.values()
                                                           if len(fp)), default=0.0)
        writer.add(video_id, by_modality, video_row(video_id, video_id, "ok", duration=duration,
                                                    model_versions=versions,
                                                    n_intervals=sum(len(fp) for fp in by_modality.values())))
    writer.flush()


def _only(table: pa.Table, keep: set[str]) -> pa.Table:
    return table.filter(pc.is_in(table["video_id"], value_set=pa.array(sorted(keep), pa.string())))


def _writable_ids(store: FingerprintStore, ids: set[str], since: datetime, activate: bool,
                  hashes: dict[str, str]) -> set[str]:
    """Of ``ids``, those this commit may still write: not taken down since the writer began, and for a reindex
    (not ``activate``) still searchable with the content that was fingerprinted."""
    ids = ids - deleted_since(store, since)
    if activate or not ids:
        return ids
    live = {r["video_id"]: r["content_hash"] for r in store.live_videos(["video_id", "content_hash"]).to_pylist()}
    return {v for v in ids if v in live and not (hashes.get(v) and live[v] and hashes[v] != live[v])}


def commit(store: FingerprintStore, batch_id: int, versions: dict[str, str], prints: dict[str, pa.Table],
           sets: pa.Table, videos: pa.Table | None, activate: bool, since: datetime,
           hashes: dict[str, str] | None = None, segments: dict[str, pa.Table] | None = None) -> None:
    """Write one batch under the commit lock: fingerprints and their ``segments`` (segment-vector rows), then
    their sets rows, then the videos rows; then drop what they replace (see :mod:`avm.index.store`).

    ``versions`` names the model version of each modality in ``prints``/``sets``. With ``activate`` (an ingest),
    those versions must be the active ones (they become so in a new store); a reindex writes versions that are
    not active yet, for videos whose content (``hashes``) is still the catalog's. Videos taken down after
    ``since`` (when the writer began) are left out.
    """
    with store.lock.held():
        if activate:
            store.check_versions(versions)
            missing = {m: v for m, v in versions.items() if m not in store.active_versions()}
            if missing:
                store.activate(missing)
        given = set(sets["video_id"].to_pylist()) | (set(videos["video_id"].to_pylist()) if videos else set())
        keep = _writable_ids(store, given, since, activate, hashes or {})
        if keep != given:
            log.info("not writing %d videos taken down or replaced meanwhile", len(given - keep))
            prints = {m: _only(rows, keep) for m, rows in prints.items()}
            segments = {m: _only(rows, keep) for m, rows in (segments or {}).items()}
            sets, videos = _only(sets, keep), _only(videos, keep) if videos else None
        ids = sorted(keep)
        if videos is not None and videos.num_rows:
            # new content under an id: what other model versions hold of it is stale
            store.drop_other_versions(sorted(videos["video_id"].to_pylist()), list(versions.values()))
        for modality, rows in prints.items():
            if rows.num_rows:
                dim = rows.schema.field("vector").type.list_size
                store.fingerprints_for_writing(modality, versions[modality], dim).add(rows)
        for modality, rows in (segments or {}).items():
            if rows.num_rows:
                dim = rows.schema.field("vector").type.list_size
                store.fingerprints_for_writing(modality, versions[modality], dim, segments=True).add(rows)
        if sets.num_rows:
            (store.writable_table(SETS_TABLE, FINGERPRINT_SETS_SCHEMA).merge_insert("set_key")
             .when_matched_update_all().when_not_matched_insert_all().execute(sets))
        if videos is not None and videos.num_rows:
            videos = videos.select(VIDEOS_SCHEMA.names).cast(VIDEOS_SCHEMA)
            (store.writable_table(VIDEOS_TABLE, VIDEOS_SCHEMA).merge_insert("video_id")
             .when_matched_update_all().when_not_matched_insert_all().execute(videos))
        if store.lock.exclusive and ids:
            clear_leftovers(store, ids)
    store.refresh()


class BatchedWriter:
    """Collects videos and commits them (:func:`commit`) once ``max_rows`` fingerprint rows are pending, and at
    :meth:`flush`.

    ``versions`` is the model version of each modality written. An ingest (``activate``) writes the catalog's
    active versions and a videos row per file; a reindex writes fingerprints of other versions only. Each commit
    gets a new batch id, stamped when it is committed.
    """

    def __init__(self, store: FingerprintStore, versions: dict[str, str], max_rows: int = 500_000,
                 activate: bool = True) -> None:
        self.store, self.versions, self.max_rows, self.activate = store, dict(versions), max_rows, activate
        self.started = datetime.now(UTC)
        self._prints: dict[str, list[pa.Table]] = {}
        self._segments: dict[str, list[pa.Table]] = {}
        self._sets: list[dict[str, object]] = []
        self._videos: list[pa.Table] = []
        self._hashes: dict[str, str] = {}
        self._pending = 0
        self.rows_written: dict[str, int] = {}
        self.commits = 0

    def add(self, video_id: str, prints: dict[str, Fingerprints] | None, video_row: pa.Table | None = None,
            content_hash: str | None = None) -> None:
        """Queue one video: its fingerprints per modality (None: it has none to store, e.g. a failed file), its
        videos row, and the hash of the content fingerprinted. A modality absent from ``prints`` is stored as an
        empty set (the file lacks it)."""
        now = datetime.now(UTC)
        for modality, version in self.versions.items():
            if prints is None:
                break
            found = prints.get(modality)
            rows = found.to_rows(video_id) if found is not None and len(found) else None
            if rows is not None:
                self._prints.setdefault(modality, []).append(rows)
                self._pending += rows.num_rows
                if self.store.opts.segment_window > 0:
                    segments = found.segments(self.store.opts.segment_window).to_rows(video_id)
                    self._segments.setdefault(modality, []).append(segments)
            self._sets.append({"set_key": set_key(modality, version, video_id), "video_id": video_id,
                               "modality": modality, "model_version": version, "batch_id": 0,
                               "n_intervals": 0 if rows is None else rows.num_rows, "written_at": now})
        if video_row is not None:
            self._videos.append(video_row)
        if content_hash:
            self._hashes[video_id] = content_hash
        if self._pending >= self.max_rows:
            self.flush()

    def flush(self) -> None:
        """Commit everything queued as one batch."""
        if not (self._sets or self._videos):
            return
        batch_id = new_batch_id()
        prints = {m: _with_batch(pa.concat_tables(tables), batch_id) for m, tables in self._prints.items()}
        sets = _with_batch(pa.Table.from_pylist(self._sets, schema=FINGERPRINT_SETS_SCHEMA), batch_id)
        segments = {m: _with_batch(pa.concat_tables(tables), batch_id) for m, tables in self._segments.items()}
        videos = pa.concat_tables(self._videos) if self._videos else None
        commit(self.store, batch_id, self.versions, prints, sets, videos, self.activate, self.started, self._hashes,
               segments)
        for modality, rows in prints.items():
            self.rows_written[modality] = self.rows_written.get(modality, 0) + rows.num_rows
        self.commits += 1
        self._prints, self._segments, self._sets, self._videos, self._hashes, self._pending = {}, {}, [], [], {}, 0


def _with_batch(table: pa.Table, batch_id: int) -> pa.Table:
    """``table`` with every ``batch_id`` set to ``batch_id``."""
    index = table.schema.get_field_index("batch_id")
    return table.set_column(index, table.schema.field(index), pa.array(np.full(table.num_rows, batch_id, np.int64)))
