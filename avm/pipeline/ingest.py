"""The ingest job: files → fingerprints in LanceDB, idempotent and resumable."""

from __future__ import annotations

import json
import logging
import os
from dataclasses import dataclass, field
from datetime import datetime, timezone

import numpy as np
import pyarrow as pa

from avm.fingerprint import FingerprintOptions
from avm.index import BatchedWriter, FingerprintStore, IndexOptions, fingerprint_rows
from avm.manifest import ManifestEntry
from avm.media import DecodeOptions
from avm.models import build_model
from avm.pipeline.options import RayOptions
from avm.pipeline.progress import Progress
from avm.pipeline.ray_jobs import fingerprint_dataset, ray_session
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


def _video_row(row: dict, status: str, error: str, n_intervals: int) -> pa.Table:
    return pa.Table.from_pylist([{
        "video_id": str(row["video_id"]), "uri": str(row["uri"]), "duration": float(row.get("duration") or 0.0),
        "streams": str(row.get("streams") or "[]"), "content_hash": str(row.get("content_hash") or "") or None,
        "status": status, "error": error or None, "ingested_at": datetime.now(timezone.utc),
        "model_versions": str(row.get("model_versions") or "{}"), "n_intervals": n_intervals,
    }], schema=VIDEOS_SCHEMA)


def model_versions(fingerprint: FingerprintOptions) -> dict[str, str]:
    """The version string of every configured model (what a video's fingerprints must have been made with)."""
    return {m: build_model(fingerprint.models[m])[1] for m in fingerprint.modalities}


def run_ingest(entries: list[ManifestEntry], decode: DecodeOptions, fingerprint: FingerprintOptions,
               index: IndexOptions, ray_opts: RayOptions, write_batch_rows: int = 500_000) -> IngestSummary:
    """Fingerprint every entry not already in the catalog and store the results; failures are recorded."""
    store = FingerprintStore(index)
    modalities = fingerprint.modalities
    known = store.videos(["video_id", "status", "content_hash", "model_versions"]).to_pylist()
    current = model_versions(fingerprint)
    # a video fingerprinted by another model version is done again (re-index on a new model)
    ok = [r for r in known if r["status"] == VIDEO_STATUS_OK and json.loads(r["model_versions"] or "{}") == current]
    ok_ids = {r["video_id"] for r in ok}
    hash_owner = {r["content_hash"]: r["video_id"] for r in ok if r["content_hash"]}
    todo = [e for e in entries if e.video_id not in ok_ids]
    summary = IngestSummary(files=len(entries), skipped=len(entries) - len(todo))
    log.info("ingest: %d files in the input, %d already in the catalog, %d to do", len(entries), summary.skipped, len(todo))
    # fingerprints of videos not marked ok are leftovers of an interrupted run: remove them before writing again
    store.delete_fingerprints([e.video_id for e in todo], modalities)
    writer = BatchedWriter(store, write_batch_rows)
    progress = Progress("ingest", len(todo))
    if todo:
        with ray_session(ray_opts):
            dataset = fingerprint_dataset(todo, decode, fingerprint, ray_opts)
            for batch in dataset.iter_batches(batch_size=None, batch_format="numpy"):
                for i in range(len(batch["video_id"])):
                    row = {k: v[i] for k, v in batch.items()}
                    _store_one(row, modalities, writer, hash_owner, summary)
                    media = float(row.get("duration") or 0.0) if not row["error"] else 0.0
                    progress.update(media_seconds=media, failed=int(bool(row["error"])))
        writer.flush()
    store.finalize(modalities)
    summary.wall_seconds = progress.elapsed
    summary.media_hours = progress.media_seconds / 3600
    summary.realtime_factor = progress.realtime_factor
    cores = ray_opts.num_cpus or os.cpu_count() or 1
    summary.realtime_factor_per_core = summary.realtime_factor / cores
    summary.rows_written, summary.commits = writer.rows_written, writer.commits
    return summary


def _store_one(row: dict, modalities: tuple[str, ...], writer: BatchedWriter, hash_owner: dict[str, str],
               summary: IngestSummary) -> None:
    """Queue one processed file: error row, duplicate row, or fingerprints plus an ok row."""
    video_id, error = str(row["video_id"]), str(row["error"])
    if error:
        summary.failed += 1
        summary.failures.append((video_id, error))
        writer.add(_video_row(row, VIDEO_STATUS_FAILED, error, 0))
        return
    owner = hash_owner.get(str(row["content_hash"]))
    if owner and owner != video_id:
        summary.duplicates += 1
        writer.add(_video_row(row, VIDEO_STATUS_DUPLICATE, f"same content as {owner}", 0))
        return
    tables = {}
    for m in modalities:
        vectors = np.asarray(row[f"{m}_vectors"])
        if len(vectors):
            tables[m] = fingerprint_rows(video_id, m, np.asarray(row[f"{m}_t_start"]), np.asarray(row[f"{m}_t_end"]),
                                         vectors, json.loads(row["model_versions"])[m])
    streams = json.loads(str(row["streams"]))
    duration = float(row["duration"])
    summary.audio_hours += duration / 3600 if any(s["type"] == "audio" for s in streams) else 0.0
    summary.video_hours += duration / 3600 if any(s["type"] == "video" for s in streams) else 0.0
    summary.ingested += 1
    if row["content_hash"]:
        hash_owner[str(row["content_hash"])] = video_id
    writer.add(_video_row(row, VIDEO_STATUS_OK, "", sum(t.num_rows for t in tables.values())), tables)
