"""Config-driven entry points shared by the jobs (ingest, scan, match one file, demo)."""

from __future__ import annotations

import json
import logging
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import pyarrow as pa
from omegaconf import DictConfig, OmegaConf

from avm.index import FingerprintStore
from avm.manifest import ManifestEntry, default_video_id
from avm.pipeline import options
from avm.pipeline.ingest import IngestSummary, run_ingest
from avm.pipeline.scan import ScanResult, run_scan
from avm.pipeline.calibration import calibrate_catalog
from avm.pipeline.stages import DecodeStage, FingerprintStage, fingerprint_file, match_query
from avm.results import write_matches
from avm.schema import MATCHES_SCHEMA

log = logging.getLogger(__name__)


def ingest_from_config(cfg: DictConfig, entries: list[ManifestEntry]) -> IngestSummary:
    """Run the ingest job on ``entries`` with the settings of ``cfg``; log and return its summary."""
    summary = run_ingest(entries, options.decode_options(cfg), options.fingerprint_options(cfg),
                         options.index_options(cfg), options.ray_options(cfg), int(cfg.write_batch_rows))
    for line in summary.lines():
        log.info(line)
    return summary


def scan_from_config(cfg: DictConfig, queries: list[ManifestEntry] | None, output_dir: str | Path) -> ScanResult:
    """Run the scan job and write its results under ``output_dir``."""
    fingerprint = options.fingerprint_options(cfg)
    result = run_scan(queries, options.decode_options(cfg), fingerprint, options.query_steps(cfg),
                      options.index_options(cfg), options.match_options(cfg), int(cfg.search.k),
                      options.ray_options(cfg))
    meta: dict[str, Any] = {
        "run_id": result.run_id, "finished_at": datetime.now(timezone.utc).isoformat(),
        "mode": "catalog" if queries is None else "files", "queries": result.queries,
        "failed": result.failed, "calibration": json.loads(result.calibration.to_json()) if result.calibration else None,
        "config": OmegaConf.to_container(cfg, resolve=True),
    }
    paths = write_matches(result.matches, output_dir, meta)
    for line in result.lines() + [f"wrote {paths['matches']} and {paths['csv']}"]:
        log.info(line)
    return result


def match_file_from_config(cfg: DictConfig, uri: str) -> pa.Table:
    """Match one file against the catalog in this process (no Ray): decode, fingerprint, search, align."""
    video_id = default_video_id(uri)
    prints = fingerprint_file(DecodeStage(options.decode_options(cfg)),
                              FingerprintStage(options.fingerprint_options(cfg), options.query_steps(cfg)), uri, video_id)
    store = FingerprintStore(options.index_options(cfg))
    per_modality = calibrate_catalog(store, options.match_options(cfg), int(cfg.search.k)).options
    segments = match_query(store, video_id, prints, int(cfg.search.k), per_modality)
    rows = [{**s.__dict__, "run_id": "match"} for s in segments]
    return pa.Table.from_pylist(rows, schema=MATCHES_SCHEMA) if rows else MATCHES_SCHEMA.empty_table()


def dump_json(data: dict[str, Any], path: str | Path) -> None:
    """Write ``data`` as indented JSON, creating the folder."""
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    Path(path).write_text(json.dumps(data, indent=2, default=str))
