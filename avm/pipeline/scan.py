"""The scan job: queries (new files, or the whole catalog) → segment pairs against the catalog."""

from __future__ import annotations

import json
import logging
import uuid
from dataclasses import dataclass, field

import pyarrow as pa

from avm.fingerprint import FingerprintOptions
from avm.index import FingerprintStore, IndexOptions
from avm.manifest import ManifestEntry
from avm.match import MatchOptions
from avm.media import DecodeOptions
from avm.pipeline.options import RayOptions
from avm.pipeline.progress import Progress
from avm.pipeline.ray_jobs import catalog_dataset, fingerprint_dataset, query_dataset, ray_session
from avm.pipeline.calibration import Calibration, calibrate_catalog
from avm.schema import MATCHES_SCHEMA

log = logging.getLogger(__name__)


@dataclass
class ScanResult:
    """Segment pairs found by one scan run, and what happened to each query."""

    run_id: str
    matches: pa.Table  # MATCHES_SCHEMA
    queries: int = 0
    failed: list[tuple[str, str]] = field(default_factory=list)
    media_hours: float = 0.0
    wall_seconds: float = 0.0
    calibration: Calibration | None = None  # the match thresholds used

    def lines(self) -> list[str]:
        pairs = len({(q, r) for q, r in zip(self.matches["query_id"].to_pylist(), self.matches["ref_id"].to_pylist())})
        out = [f"scan {self.run_id}: {self.queries} queries ({self.media_hours:.3f} h of new media) in "
               f"{self.wall_seconds:.1f} s; {self.matches.num_rows} segments in {pairs} (query, reference) pairs; "
               f"{len(self.failed)} failed",
               *(self.calibration.lines() if self.calibration else [])]
        out += [f"FAILED {q}: {e}" for q, e in self.failed]
        return out


def run_scan(queries: list[ManifestEntry] | None, decode: DecodeOptions, fingerprint: FingerprintOptions,
             query_steps: dict[str, float], index: IndexOptions, match: dict[str, MatchOptions], k: int,
             ray_opts: RayOptions) -> ScanResult:
    """Scan ``queries`` (files) against the catalog, or every catalog video against the others when None."""
    run_id = uuid.uuid4().hex[:12]
    catalog = queries is None
    modalities = fingerprint.modalities
    store = FingerprintStore(index)
    if catalog:
        videos = store.videos(["video_id", "status"]).to_pylist()
        ids = sorted(v["video_id"] for v in videos if v["status"] == "ok")
        log.info("scan: catalog mode, %d videos against each other", len(ids))
    else:
        log.info("scan: %d query files against %s", len(queries), {m: store.count(m) for m in modalities})
    calibration = calibrate_catalog(store, match, k)
    per_modality = calibration.options
    total = len(ids) if catalog else len(queries)
    progress = Progress("scan", total)
    rows, failed = [], []
    with ray_session(ray_opts):
        source = catalog_dataset(ids) if catalog else fingerprint_dataset(queries, decode, fingerprint, ray_opts,
                                                                          steps=query_steps)
        dataset = query_dataset(source, index, per_modality, k, modalities, catalog, ray_opts)
        for batch in dataset.iter_batches(batch_size=None, batch_format="numpy"):
            for i in range(len(batch["video_id"])):
                error = str(batch["error"][i])
                if error:
                    failed.append((str(batch["video_id"][i]), error))
                for seg in json.loads(str(batch["segments"][i])):
                    rows.append({**seg, "run_id": run_id})
                media = 0.0 if catalog or error else float(batch["duration"][i])
                progress.update(media_seconds=media, failed=int(bool(error)))
    matches = pa.Table.from_pylist(rows, schema=MATCHES_SCHEMA) if rows else MATCHES_SCHEMA.empty_table()
    return ScanResult(run_id=run_id, matches=matches, queries=total, failed=failed,
                      calibration=calibration,
                      media_hours=progress.media_seconds / 3600, wall_seconds=progress.elapsed)
