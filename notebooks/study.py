"""What the study notebooks share: the cached fingerprints of a benchmark (``data/<bench>_prints.npz``, made by
``export_prints.py``), a LanceDB store built from them through AVM's own write path, and the scan's matcher run
over every cached query file."""

from __future__ import annotations

import dataclasses
import logging
import os
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

for _variable in ("LANCE_LOG", "LANCEDB_LOG", "RUST_LOG"):  # LanceDB's notices would fill the outputs
    os.environ.setdefault(_variable, "error")
logging.disable(logging.WARNING)
sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "benchmarks"))

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
from scale import compose_job, haar_rotation  # noqa: E402,F401  (haar_rotation: for the notebooks)

from avm.evaluate import read_ground_truth_csv  # noqa: E402
from avm.index import FingerprintStore, finalize, store_videos  # noqa: E402
from avm.match import Calibration, calibrate_catalog, match_query, reference_lookup  # noqa: E402
from avm.pipeline import ScanConfig  # noqa: E402
from avm.types import Fingerprints, Segment  # noqa: E402
from jobs.schemas import register_configs  # noqa: E402

MODALITIES = ("audio", "visual")
Prints = dict[str, dict[str, Fingerprints]]  # video id → modality → fingerprints


@dataclass
class Cached:
    """A benchmark's catalog and query fingerprints, the catalog's durations and the queries' ground truth."""

    catalog: Prints
    queries: Prints
    durations: dict[str, float]
    truth: list[Segment]
    versions: dict[str, str]
    edits: pd.DataFrame | None = None  # the benchmark's edits.csv rows of these queries (edits, evidence)
    queries_meta: pd.DataFrame | None = None  # its queries_meta.csv rows (kind: pirated, negative, ...)

    @property
    def query_hours(self) -> float:
        return sum(max(float(fp.t_end.max()) for fp in p.values()) for p in self.queries.values()) / 3600


def _split(data: Any, m: str, videos: str, t_start: str, t_end: str, vectors: str) -> dict[str, Fingerprints]:
    """Fingerprints per video id from concatenated arrays (each video's intervals stored together)."""
    videos, t_start, t_end, vectors = (data[k] for k in (videos, t_start, t_end, vectors))
    starts = np.flatnonzero(np.r_[True, videos[1:] != videos[:-1]])
    return {str(videos[a]): Fingerprints(m, t_start[a:b], t_end[a:b], vectors[a:b], str(data[f"{m}.version"]))
            for a, b in zip(starts, np.r_[starts[1:], len(videos)], strict=True)}


def load(path: str | Path) -> Cached:
    """The cached benchmark at ``path``."""
    data = np.load(path)
    catalog: Prints = {}
    queries: Prints = {}
    for m in MODALITIES:
        for video, fp in _split(data, m, f"{m}.catalog_video", f"{m}.catalog_t", f"{m}.catalog_t_end",
                                f"{m}.catalog").items():
            catalog.setdefault(video, {})[m] = fp
        for video, fp in _split(data, m, *(f"query.{m}.{k}" for k in ("video", "t_start", "t_end", "vectors"))).items():
            queries.setdefault(video, {})[m] = fp
    tables = {name: pd.DataFrame(data[name], columns=data[f"{name}_columns"])
              for name in ("ground_truth", "edits", "queries_meta") if name in data}
    truth_csv = Path(tempfile.mkdtemp()) / "ground_truth.csv"
    tables["ground_truth"].to_csv(truth_csv, index=False)
    return Cached(catalog, queries, dict(zip(data["catalog.video"].tolist(), data["catalog.duration"].tolist(),
                                             strict=True)),
                  read_ground_truth_csv(truth_csv), {m: str(data[f"{m}.version"]) for m in MODALITIES},
                  tables.get("edits"), tables.get("queries_meta"))


def build_store(catalog: Prints, durations: dict[str, float],
                overrides: tuple[str, ...] = ()) -> tuple[ScanConfig, FingerprintStore]:
    """The scan config (shipped defaults plus ``overrides``) over a new store in a temporary folder holding
    ``catalog``, written and finalized as an ingest does. The first stage searches the whole catalog
    (``search.shortlist=0``): the notebooks study the matcher behind it; the shortlist is studied in
    ``sequence_vs_single_vector.ipynb`` and measured in BENCHMARKS.md."""
    register_configs()
    folder = tempfile.mkdtemp()
    cfg = compose_job("scan", ScanConfig, [f"index.uri={folder}/lancedb", f"paths.output_dir={folder}",
                                           "search.shortlist=0", *overrides])
    store = FingerprintStore(cfg.index)
    store_videos(store, catalog, durations)
    versions = {m: fp.model_version for prints in catalog.values() for m, fp in prints.items()}
    finalize(store, versions)
    store.refresh()
    return cfg, store


def calibrated(cfg: ScanConfig, store: FingerprintStore) -> Calibration:
    """The catalog's calibration with the config's settings (as a scan's first run computes it)."""
    return calibrate_catalog(store, cfg.match.per_modality(MODALITIES), cfg.search)


def every(fp: Fingerprints, step: float, native: float = 0.5) -> Fingerprints:
    """The intervals of ``fp`` (a ``native`` s grid) ``step`` seconds apart."""
    stride = max(1, int(round(step / native)))
    return dataclasses.replace(fp, t_start=fp.t_start[::stride], t_end=fp.t_end[::stride],
                               vectors=fp.vectors[::stride])


def match_all(cfg: ScanConfig, store: FingerprintStore, calibration: Calibration, queries: Prints,
              query_step: float = 0.5, first_stage_step: float | None = None) -> tuple[list[Segment], float]:
    """Every query matched as a scan's query stage does (one reference lookup across files), and the seconds it
    took."""
    search = cfg.search if first_stage_step is None else dataclasses.replace(cfg.search,
                                                                             first_stage_step=first_stage_step)
    references, found = reference_lookup(store), []
    started = time.perf_counter()
    for query_id, prints in queries.items():
        found += match_query(store, query_id, {m: every(fp, query_step) for m, fp in prints.items()}, search,
                             calibration.options, references, cfg.match.fuse, calibration.shared)
    return found, time.perf_counter() - started
