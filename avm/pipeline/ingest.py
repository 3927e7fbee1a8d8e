"""The ingest job: files → fingerprints in LanceDB, idempotent and resumable."""

from __future__ import annotations

import json
import logging
import os
from dataclasses import dataclass, field
from datetime import UTC, datetime

import pyarrow as pa

from avm.fingerprint import FingerprintOptions
from avm.index import BatchedWriter, FingerprintStore
from avm.manifest import ManifestEntry
from avm.models import build_model
from avm.pipeline.config import IngestConfig
from avm.pipeline.progress import Progress
from avm.pipeline.ray_adapter import iter_rows, map_stage, ray_session, rows_dataset
from avm.pipeline.rows import FingerprintedRow, MediaRow
from avm.pipeline.stages import DecodeStage, FingerprintStage
from avm.schema import VIDEO_STATUS_DUPLICATE, VIDEO_STATUS_FAILED, VIDEO_STATUS_OK, VIDEOS_SCHEMA

log = logging.getLogger(__name__)


@dataclass
class IngestSummary:
    """What an ingest run did."""

    files: int = 0
    skipped: int = 0  # already ingested (same video_id, status ok)
    ingested: int = 0
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
    failures: list[tuple[str, str]] = field(default_factory=list)

    def lines(self) -> list[str]:
        """A human-readable summary."""
        out = [f"files: {self.files} (ingested {self.ingested}, already there {self.skipped}, "
               f"duplicates {self.duplicates}, failed {self.failed})",
               f"media: {self.media_hours:.3f} h ({self.audio_hours:.3f} h audio, {self.video_hours:.3f} h video) "
               f"in {self.wall_seconds:.1f} s = {self.realtime_factor:.0f}× realtime "
               f"({self.realtime_factor_per_core:.0f}× per core)",
               f"fingerprint rows written: {self.rows_written} in {self.commits} commits"]
        out += [f"FAILED {video_id}: {error}" for video_id, error in self.failures]
        return out


def _video_row(row: FingerprintedRow, status: str, error: str, n_intervals: int) -> pa.Table:
    return pa.Table.from_pylist([{
        "video_id": row.video_id, "uri": row.uri, "duration": row.duration, "streams": row.streams_json,
        "content_hash": row.content_hash or None, "status": status, "error": error or None,
        "ingested_at": datetime.now(UTC), "model_versions": json.dumps(row.model_versions),
        "n_intervals": n_intervals,
    }], schema=VIDEOS_SCHEMA)


def model_versions(fingerprint: FingerprintOptions) -> dict[str, str]:
    """The version string of every configured model (what a video's fingerprints must have been made with)."""
    return {m: build_model(fingerprint.model(m).spec())[1] for m in fingerprint.modalities}


def run_ingest(cfg: IngestConfig, entries: list[ManifestEntry]) -> IngestSummary:
    """Fingerprint every entry not already in the catalog and store the results; failures are recorded."""
    store = FingerprintStore(cfg.index)
    modalities = cfg.model.modalities
    known = store.videos(["video_id", "status", "content_hash", "model_versions"]).to_pylist()
    current = model_versions(cfg.model)
    # a video fingerprinted by another model version is done again (re-index on a new model)
    ok = [r for r in known if r["status"] == VIDEO_STATUS_OK and json.loads(r["model_versions"] or "{}") == current]
    ok_ids = {r["video_id"] for r in ok}
    hash_owner = {r["content_hash"]: r["video_id"] for r in ok if r["content_hash"]}
    todo = [e for e in entries if e.video_id not in ok_ids]
    summary = IngestSummary(files=len(entries), skipped=len(entries) - len(todo))
    log.info("ingest: %d files in the input, %d already in the catalog, %d to do", len(entries), summary.skipped, len(todo))
    # fingerprints of videos not marked ok are leftovers of an interrupted run: remove them before writing again
    store.delete_fingerprints([e.video_id for e in todo], modalities)
    writer = BatchedWriter(store, cfg.write_batch_rows)
    progress = Progress("ingest", len(todo))
    if todo:
        with ray_session(cfg.ray):
            dataset = rows_dataset([MediaRow(e.uri, e.video_id) for e in todo])
            dataset = map_stage(dataset, DecodeStage(cfg.media, cfg.model.modalities, cfg.ray.decode))
            dataset = map_stage(dataset, FingerprintStage(cfg.model, resources=cfg.ray.embed))
            for row in iter_rows(dataset):
                _store_one(row, writer, hash_owner, summary)
                progress.update(media_seconds=0.0 if row.error else row.duration, failed=int(bool(row.error)))
        writer.flush()
    store.finalize(modalities)
    summary.wall_seconds = progress.elapsed
    summary.media_hours = progress.media_seconds / 3600
    summary.realtime_factor = progress.realtime_factor
    cores = cfg.ray.num_cpus or os.cpu_count() or 1
    summary.realtime_factor_per_core = summary.realtime_factor / cores
    summary.rows_written, summary.commits = writer.rows_written, writer.commits
    return summary


def _store_one(row: FingerprintedRow, writer: BatchedWriter, hash_owner: dict[str, str],
               summary: IngestSummary) -> None:
    """Queue one processed file: error row, duplicate row, or fingerprints plus an ok row."""
    if row.error:
        summary.failed += 1
        summary.failures.append((row.video_id, row.error))
        writer.add(_video_row(row, VIDEO_STATUS_FAILED, row.error, 0))
        return
    owner = hash_owner.get(row.content_hash)
    if owner and owner != row.video_id:
        summary.duplicates += 1
        writer.add(_video_row(row, VIDEO_STATUS_DUPLICATE, f"same content as {owner}", 0))
        return
    tables = {m: fp.to_rows(row.video_id) for m, fp in row.prints.items() if len(fp)}
    hours = row.duration / 3600
    summary.audio_hours += hours if row.info.has_audio else 0.0
    summary.video_hours += hours if row.info.has_video else 0.0
    summary.ingested += 1
    if row.content_hash:
        hash_owner[row.content_hash] = row.video_id
    writer.add(_video_row(row, VIDEO_STATUS_OK, "", sum(t.num_rows for t in tables.values())), tables)
