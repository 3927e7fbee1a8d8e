"""The ingest and scan jobs as the command line runs them: run on Ray, write the results, log the summary."""

from __future__ import annotations

import dataclasses
import json
import logging
from datetime import UTC, datetime
from typing import Any

from avm.manifest import ManifestEntry
from avm.pipeline.config import IngestConfig, ScanConfig
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


def scan(cfg: ScanConfig, queries: list[ManifestEntry] | None) -> ScanResult:
    """Scan ``queries`` (None: the whole catalog), write the results under ``cfg.output_dir``, log the summary."""
    result = run_scan(cfg, queries)
    meta: dict[str, Any] = {
        "run_id": result.run_id, "finished_at": datetime.now(UTC).isoformat(),
        "mode": "catalog" if queries is None else "files", "queries": result.queries,
        "failed": result.failed, "calibration": json.loads(result.calibration.to_json()) if result.calibration else None,
        "config": dataclasses.asdict(cfg),
    }
    paths = write_matches(result.segments, cfg.output_dir, meta, result.query_uris, result.ref_uris)
    for line in result.lines() + [f"wrote {paths['run_partition']} and {paths['csv']}"]:
        log.info(line)
    return result
