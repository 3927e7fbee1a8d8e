"""The ingest and scan jobs as the command line runs them: run on Ray, write the results, log the summary."""

from __future__ import annotations

import dataclasses
import json
import logging
from collections.abc import Collection
from datetime import UTC, datetime
from typing import Any

from avm.index import FingerprintStore
from avm.manifest import ManifestEntry
from avm.match import Calibration, calibrate_catalog
from avm.pipeline.config import IngestConfig, NightlyConfig, ScanConfig
from avm.pipeline.ingest import IngestSummary, run_ingest
from avm.pipeline.scan import ScanResult, run_scan
from avm.results import write_matches

log = logging.getLogger(__name__)


def ingest(cfg: IngestConfig, entries: list[ManifestEntry]) -> IngestSummary:
    """Ingest ``entries`` into the catalog; log and return the summary."""
    summary = run_ingest(cfg, entries)
    for line in summary.lines():
        log.info(line)
    return summary


def scan(cfg: ScanConfig, queries: list[ManifestEntry] | None, only: Collection[str] | None = None,
         calibration: Calibration | None = None) -> ScanResult:
    """Scan ``queries`` (None: the catalog's videos, or those in ``only``), write the results under
    ``cfg.output_dir``, log the summary. ``calibration``: as :func:`run_scan` takes it."""
    result = run_scan(cfg, queries, only, calibration)
    mode = "files" if queries is not None else "catalog" if only is None else "new catalog videos"
    meta: dict[str, Any] = {
        "run_id": result.run_id, "finished_at": datetime.now(UTC).isoformat(),
        "mode": mode, "queries": result.queries,
        "failed": result.failed, "calibration": json.loads(result.calibration.to_json()) if result.calibration else None,
        "config": dataclasses.asdict(cfg),
    }
    paths = write_matches(result.segments, cfg.output_dir, meta, result.query_uris, result.ref_uris)
    for line in result.lines() + [f"wrote {paths['run_partition']} and {paths['csv']}"]:
        log.info(line)
    return result


def nightly(cfg: NightlyConfig, entries: list[ManifestEntry]) -> tuple[IngestSummary, ScanResult]:
    """The nightly flow: ``entries`` ingested (decoded and fingerprinted once; files already in the catalog are
    not decoded again), then every one of them now searchable scanned from its stored fingerprints against the
    catalog, which holds the earlier catalog and the night's other uploads.

    The scan uses the calibration of the catalog as it was before the night's uploads (when it held any video):
    otherwise two uploads copying one reference would make the copied stretch content that three catalog
    videos hold, shared content that no copy matches."""
    scan_cfg = cfg.scan_config()
    store = FingerprintStore(cfg.index)
    before = (calibrate_catalog(store, scan_cfg.match.per_modality(scan_cfg.model.modalities), scan_cfg.search)
              if store.snapshot().durations else None)
    summary = ingest(cfg.ingest_config(), entries)
    store.refresh()  # a new view: the catalog with the night's uploads
    searchable = store.snapshot().durations
    uploads = [e.video_id for e in entries if e.video_id in searchable]
    log.info("nightly: %d of %d uploads are in the catalog; scanning them", len(uploads), len(entries))
    return summary, scan(scan_cfg, None, only=uploads, calibration=before)
