"""End-to-end ingest and catalog scan through the real jobs (local Ray, LanceDB), with storage per media-hour.

Ingests a set of files into a fresh LanceDB directory with the default config, then scans the catalog
(every video against all others) and reports: ingest wall time and × realtime (all cores and per core),
bytes stored per media-hour per modality (table data + ANN index), and scan time.

Usage: python benchmarks/ingest_scan_e2e.py [--input GLOB_OR_DIR ...] [--build-min-rows N]
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from pathlib import Path

from hydra import compose, initialize_config_dir

from avm.config import CONFIG_DIR, to_options
from avm.index import FingerprintStore
from avm.manifest import read_inputs
from avm.pipeline import ScanConfig
from avm.pipeline.config import ingest_settings
from avm.pipeline.runner import ingest, scan
from jobs.schemas import register_configs

REPO = Path(__file__).resolve().parent.parent
SHARED = REPO.parent / "shared" / "media"
MEDIA = SHARED if SHARED.exists() else REPO / "data" / "demo"


def table_bytes(store: FingerprintStore, modality: str) -> tuple[int, int]:
    """(data bytes, index bytes) of one fingerprints table at its latest version."""
    table = store.fingerprints(modality)
    if table is None:
        return 0, 0
    index = sum(idx.size_bytes or 0 for idx in table.list_indices())
    return table.stats()["total_bytes"], index


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--input", nargs="*", default=[str(MEDIA / "footage"), str(MEDIA / "music" / "singularity-*.opus")])
    parser.add_argument("--build-min-rows", type=int, default=2000, help="ANN index once a table has this many rows")
    args = parser.parse_args()
    entries = [e for spec in args.input for e in read_inputs(spec)]
    register_configs()
    with tempfile.TemporaryDirectory() as tmp:
        with initialize_config_dir(config_dir=CONFIG_DIR, version_base="1.3"):
            cfg = to_options(compose(config_name="scan", overrides=[
                f"paths.output_dir={tmp}", f"index.build_min_rows={args.build_min_rows}"]), ScanConfig)
        summary = ingest(ingest_settings(cfg), entries)
        store = FingerprintStore(cfg.index)
        started = time.perf_counter()
        result = scan(cfg, None)
        scan_seconds = time.perf_counter() - started
        print(f"machine: {os.cpu_count()} cores; inputs: {args.input}")
        print("\n".join(summary.lines()[:3]))
        hours = {"audio": summary.audio_hours, "visual": summary.video_hours}
        for modality in ("audio", "visual"):
            data, index = table_bytes(store, modality)
            if hours[modality]:
                print(f"{modality}: {store.count(modality)} intervals, {data / hours[modality] / 1e6:.2f} MB data + "
                      f"{index / hours[modality] / 1e6:.2f} MB index per media-hour "
                      f"({'indexed' if store.has_vector_index(modality) else 'exact search'})")
        print(f"catalog scan: {result.queries} videos against each other in {scan_seconds:.1f} s "
              f"({scan_seconds / max(summary.media_hours, 1e-9):.0f} s per catalog media-hour, Ray start included); "
              f"{len(result.segments)} segments")


if __name__ == "__main__":
    main()
