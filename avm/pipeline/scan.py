"""The scan job: queries (new files, or the whole catalog) → segment pairs against the catalog."""

from __future__ import annotations

import logging
import uuid
from collections.abc import Collection
from dataclasses import dataclass, field

import pyarrow as pa

from avm.index import FingerprintStore, read_verdicts
from avm.manifest import ManifestEntry
from avm.match import Calibration, calibrate_catalog, verdict_lines
from avm.pipeline.config import ScanConfig
from avm.pipeline.ingest import model_versions
from avm.pipeline.progress import Progress
from avm.pipeline.ray_adapter import iter_rows, map_stage, ray_session, rows_dataset
from avm.pipeline.rows import CatalogRow, MediaRow, lost_inputs
from avm.pipeline.stages import QueryStage, fingerprinting_stages
from avm.types import Segment

log = logging.getLogger(__name__)


@dataclass
class ScanResult:
    """Segment pairs found by one scan run, and what happened to each query."""

    run_id: str
    segments: list[Segment]
    queries: int = 0
    failed: list[tuple[str, str]] = field(default_factory=list)
    media_hours: float = 0.0
    wall_seconds: float = 0.0
    calibration: Calibration | None = None  # the match thresholds used
    query_uris: dict[str, str] = field(default_factory=dict)  # query id → its file
    ref_uris: dict[str, str] = field(default_factory=dict)  # reference id → its file, as the catalog holds it
    reviewed: list[str] = field(default_factory=list)  # what reviewers' verdicts say of the thresholds used

    @property
    def matches(self) -> pa.Table:
        """The segments as a table (``MATCHES_SCHEMA``)."""
        return Segment.to_table(self.segments, self.run_id)

    def lines(self) -> list[str]:
        pairs = len({(s.query_id, s.ref_id) for s in self.segments})
        out = [f"scan {self.run_id}: {self.queries} queries ({self.media_hours:.3f} h of new media) in "
               f"{self.wall_seconds:.1f} s; {len(self.segments)} segments in {pairs} (query, reference) pairs; "
               f"{len(self.failed)} failed",
               *(self.calibration.lines() if self.calibration else []), *self.reviewed]
        out += [f"FAILED {q}: {e}" for q, e in self.failed]
        return out


def run_scan(cfg: ScanConfig, queries: list[ManifestEntry] | None, only: Collection[str] | None = None,
             calibration: Calibration | None = None) -> ScanResult:
    """Scan ``queries`` (files) against the catalog, or, when None, catalog videos against the others: every one,
    or the ids in ``only`` (videos just ingested, searched through their stored fingerprints: decoded once).
    ``calibration``: thresholds and shared content to use (default: those of the catalog as it is now)."""
    run_id = uuid.uuid4().hex[:12]
    modalities = cfg.model.modalities
    store = FingerprintStore(cfg.index)
    snapshot = store.require_catalog()
    store.check_versions(model_versions(cfg.model))
    if queries is None:
        wanted_ids = None if only is None else set(only)
        wanted = [v for v in snapshot.videos() if wanted_ids is None or v in wanted_ids]
        rows = [CatalogRow(v) for v in wanted]
        log.info("scan: catalog mode, %d videos against the %d of the catalog", len(rows), len(snapshot.durations))
    else:
        rows = [MediaRow(e.uri, e.video_id) for e in queries]
        log.info("scan: %d query files against %d catalog videos (%s)", len(queries), len(snapshot.durations),
                 snapshot.versions)
    calibration = calibration or calibrate_catalog(store, cfg.match.per_modality(modalities), cfg.search)
    progress = Progress("scan", len(rows))
    segments, failed = [], []
    with ray_session(cfg.ray):
        dataset = rows_dataset(rows)
        if queries is not None:
            for stage in fingerprinting_stages(cfg.media, cfg.model, cfg.model.query_steps(), cfg.ray.decode,
                                               cfg.ray.embed):
                dataset = map_stage(dataset, stage)
        query = QueryStage(cfg.index, snapshot, calibration, cfg.match.fuse, cfg.search, modalities, cfg.ray.query)
        came_back = set()
        for result in iter_rows(map_stage(dataset, query)):
            came_back.add(result.video_id)
            if result.error:
                failed.append((result.video_id, result.error))
            segments += result.segments
            progress.update(media_seconds=0.0 if result.error else result.duration, failed=int(bool(result.error)))
    for lost in lost_inputs(rows, came_back):
        log.error("%s", lost[1])
        failed.append(lost)
    refs = store.videos(["video_id", "uri"])
    ref_uris = dict(zip(refs["video_id"].to_pylist(), refs["uri"].to_pylist(), strict=True))
    query_uris = ref_uris if queries is None else {e.video_id: e.uri for e in queries}
    found = {s.ref_id for s in segments}
    return ScanResult(run_id=run_id, segments=segments, queries=len(rows), failed=failed, calibration=calibration,
                      media_hours=progress.media_seconds / 3600, wall_seconds=progress.elapsed,
                      query_uris={s.query_id: query_uris.get(s.query_id, "") for s in segments},
                      ref_uris={r: ref_uris.get(r, "") for r in found},
                      reviewed=verdict_lines(calibration, read_verdicts(store)))
