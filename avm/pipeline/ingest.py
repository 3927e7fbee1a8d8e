"""The ingest job: files → fingerprints in LanceDB, idempotent and resumable."""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass, field

import pyarrow as pa

from avm.config import check_values
from avm.fingerprint import FingerprintOptions, fingerprint_version
from avm.index import BatchedWriter, FingerprintStore, clear_leftovers, finalize, video_row
from avm.manifest import ManifestEntry
from avm.media.source import local_path
from avm.pipeline.config import IngestConfig
from avm.pipeline.progress import Progress
from avm.pipeline.ray_adapter import iter_rows, map_stage, ray_session, rows_dataset
from avm.pipeline.rows import FingerprintedRow, MediaRow, lost_inputs
from avm.pipeline.stages import fingerprinting_stages
from avm.schema import (
    LIVE_STATUSES,
    VIDEO_STATUS_DUPLICATE,
    VIDEO_STATUS_FAILED,
    VIDEO_STATUS_OK,
    VIDEO_STATUS_PARTIAL,
)
from avm.storage import is_object_store, object_info

log = logging.getLogger(__name__)


@dataclass
class IngestSummary:
    """What an ingest run did."""

    files: int = 0
    skipped: int = 0  # already ingested (same id, same file, every modality fingerprinted by the active model)
    ingested: int = 0
    replaced: int = 0  # of those ingested: an id whose file changed, fingerprinted again and replaced
    partial: int = 0  # of those ingested: damaged files, fingerprinted as far as they decoded
    duplicates: int = 0  # same bytes as a video already in the catalog under another id
    failed: int = 0
    audio_hours: float = 0.0
    video_hours: float = 0.0
    media_hours: float = 0.0  # duration of the files ingested
    wall_seconds: float = 0.0
    realtime_factor: float = 0.0
    realtime_factor_per_core: float = 0.0
    rows_written: dict[str, int] = field(default_factory=dict)
    commits: int = 0
    index: dict[str, str] = field(default_factory=dict)  # what the index policy did per table
    failures: list[tuple[str, str]] = field(default_factory=list)
    damaged: list[tuple[str, str]] = field(default_factory=list)

    def lines(self) -> list[str]:
        """A human-readable summary."""
        out = [f"files: {self.files} (ingested {self.ingested} of which replaced {self.replaced} and partial "
               f"{self.partial}, already there {self.skipped}, duplicates {self.duplicates}, failed {self.failed})",
               f"media: {self.media_hours:.3f} h ({self.audio_hours:.3f} h audio, {self.video_hours:.3f} h video) "
               f"in {self.wall_seconds:.1f} s = {self.realtime_factor:.0f}× realtime "
               f"({self.realtime_factor_per_core:.0f}× per core)",
               f"fingerprint rows written: {self.rows_written} in {self.commits} commits; index: {self.index}"]
        out += [f"PARTIAL {video_id}: {reason}" for video_id, reason in self.damaged]
        out += [f"FAILED {video_id}: {error}" for video_id, error in self.failures]
        return out


def file_signature(uri: str) -> tuple[int | None, float | None]:
    """(size, modification time) of a local file or an object-store object, (None, None) for another remote URI
    or a missing file."""
    if is_object_store(uri):
        try:
            info = object_info(uri)
        except OSError:
            return None, None
        return info.size, info.mtime
    path = local_path(uri)
    try:
        info = os.stat(path) if path is not None else None
    except OSError:
        info = None
    return (info.st_size, info.st_mtime) if info is not None else (None, None)


def _video_row(row: FingerprintedRow, status: str, error: str, n_intervals: int) -> pa.Table:
    size, mtime = file_signature(row.uri)
    return video_row(row.video_id, row.uri, status, duration=row.duration, streams=row.streams_json,
                     content_hash=row.content_hash or None, file_size=size, file_mtime=mtime, error=error,
                     model_versions=row.model_versions, n_intervals=n_intervals)


def model_versions(fingerprint: FingerprintOptions) -> dict[str, str]:
    """The version string of every configured model (what a video's fingerprints must have been made with)."""
    return {m: fingerprint_version(fingerprint.model(m)) for m in fingerprint.modalities}


def _plan(entries: list[ManifestEntry], store: FingerprintStore, modalities: tuple[str, ...], on_change: str,
          summary: IngestSummary) -> list[ManifestEntry]:
    """The entries to fingerprint: new ids, failed ones, incomplete ones and (by ``on_change``) changed files."""
    known = {r["video_id"]: r for r in store.videos(["video_id", "uri", "status", "file_size", "file_mtime"])
             .to_pylist()}
    snapshot = store.snapshot()
    todo = []
    for entry in entries:
        row = known.get(entry.video_id)
        if row is None or row["status"] not in LIVE_STATUSES:
            todo.append(entry)
            continue
        same_file = row["uri"] == entry.uri and (row["file_size"], row["file_mtime"]) == file_signature(entry.uri)
        complete = all(snapshot.batch_of(m, entry.video_id) is not None for m in modalities)
        if same_file and complete:
            summary.skipped += 1
        elif same_file or on_change == "replace":
            if not same_file:
                log.info("%s: the catalog holds another file under this id (%s): fingerprinting it again",
                         entry.uri, row["uri"])
            todo.append(entry)
        else:
            reason = (f"{entry.uri}: the catalog already holds another file under id {entry.video_id!r} "
                      f"({row['uri']}); delete it first or set on_change=replace")
            summary.failed += 1
            summary.failures.append((entry.video_id, reason))
            log.warning("%s", reason)
    return todo


def run_ingest(cfg: IngestConfig, entries: list[ManifestEntry]) -> IngestSummary:
    """Fingerprint every entry not already in the catalog and store the results; failures are recorded."""
    check_values(cfg)  # a caller from Python has not been through to_options
    store = FingerprintStore(cfg.index)
    store.check_schema()
    modalities = cfg.model.modalities
    current = model_versions(cfg.model)
    store.check_versions(current)
    clear_leftovers(store)  # what an interrupted job left behind
    summary = IngestSummary(files=len(entries))
    todo = _plan(entries, store, modalities, cfg.on_change, summary)
    replacing = {e.video_id for e in todo} & set(store.snapshot().durations)
    live = store.live_videos(["video_id", "content_hash"]).to_pylist()
    # videos about to be fingerprinted again may change content: their stored hashes say nothing
    hash_owner = {r["content_hash"]: r["video_id"] for r in live if r["content_hash"] and r["video_id"] not in replacing}
    log.info("ingest: %d files in the input, %d already in the catalog, %d to do", len(entries), summary.skipped,
             len(todo))
    writer = BatchedWriter(store, current, cfg.write_batch_rows)
    progress = Progress("ingest", len(todo))
    if todo:
        inputs, came_back = [MediaRow(e.uri, e.video_id) for e in todo], set()
        with ray_session(cfg.ray):
            dataset = rows_dataset(inputs)
            for stage in fingerprinting_stages(cfg.media, cfg.model, decode=cfg.ray.decode, embed=cfg.ray.embed):
                dataset = map_stage(dataset, stage)
            for row in iter_rows(dataset):
                came_back.add(row.video_id)
                _store_one(row, writer, hash_owner, summary, replacing)
                progress.update(media_seconds=0.0 if row.error else row.duration, failed=int(bool(row.error)))
        writer.flush()
        for video_id, reason in lost_inputs(inputs, came_back):
            log.error("%s", reason)
            summary.failed += 1
            summary.failures.append((video_id, reason))
    summary.index = finalize(store, current)
    summary.wall_seconds = progress.elapsed
    summary.media_hours = progress.media_seconds / 3600
    summary.realtime_factor = progress.realtime_factor
    cores = cfg.ray.num_cpus or os.cpu_count() or 1
    summary.realtime_factor_per_core = summary.realtime_factor / cores
    summary.rows_written, summary.commits = writer.rows_written, writer.commits
    return summary


def _store_one(row: FingerprintedRow, writer: BatchedWriter, hash_owner: dict[str, str],
               summary: IngestSummary, replacing: set[str]) -> None:
    """Queue one processed file: error row, duplicate row, or fingerprints plus an ok (or partial) row."""
    if row.error:
        summary.failed += 1
        summary.failures.append((row.video_id, row.error))
        if row.video_id not in replacing:  # a stored video stays as it is when its new file cannot be read
            writer.add(row.video_id, None, _video_row(row, VIDEO_STATUS_FAILED, row.error, 0))
        return
    owner = hash_owner.get(row.content_hash)
    if owner and owner != row.video_id:
        summary.duplicates += 1
        writer.add(row.video_id, None, _video_row(row, VIDEO_STATUS_DUPLICATE, f"same content as {owner}", 0))
        return
    hours = row.duration / 3600
    summary.audio_hours += hours if row.info.has_audio else 0.0
    summary.video_hours += hours if row.info.has_video else 0.0
    summary.ingested += 1
    summary.replaced += int(row.video_id in replacing)
    if row.content_hash:
        hash_owner[row.content_hash] = row.video_id
    status = VIDEO_STATUS_PARTIAL if row.damage else VIDEO_STATUS_OK
    if row.damage:
        summary.partial += 1
        summary.damaged.append((row.video_id, row.damage))
        log.warning("%s: damaged, stored as partial: %s", row.uri, row.damage)
    n_intervals = sum(len(fp) for fp in row.prints.values())
    writer.add(row.video_id, row.prints, _video_row(row, status, row.damage, n_intervals), row.content_hash)
