"""Catalog scale: write, index, storage, k-NN, ANN recall and end-to-end scan cost at growing catalog sizes.

The catalog. Real fingerprints of a real catalog (``--source``, an AVM store; built here by ingesting
``--source-media`` when it does not exist) are padded to each size (``--hours``, media-hours): padded video
``pad_NNNNNN`` is a copy of one source video's fingerprint sequence (every interval, same times), each modality
multiplied by a random orthogonal matrix of its own (Haar-distributed: QR of a seeded Gaussian matrix of the
modality's dimension), re-normalised and stored as float16. The source videos are stored as they are, so the
real queries' true copies are in the catalog.

Why this is a fair stand-in for more real videos: a rotation keeps everything a search sees inside one video —
its temporal structure (how alike neighbouring intervals are, still and repeated scenes, silences), its norms and
the spread of its vectors — while making every copy unrelated to the others, to its source and to the queries,
as unrelated catalog videos are. Caveat: a catalog of randomly rotated copies is more isotropic than a real one
(real fingerprints crowd into the directions the model gives to common content: speech, music, dark or still
pictures), so its vectors are more evenly spread over the partitions of the ANN index and chance look-alikes
are rarer: the ANN recall and search speed measured here are an optimistic bound, and the calibrated thresholds
are what a catalog of that many *unrelated* videos would give.

The sizes grow one store (``--store``): each size adds the difference through the real write path
(:func:`avm.index.store_videos`, ``--videos-per-commit`` videos per commit, so the store is a valid catalog the
scan job can search). Then, per size:

1. ``finalize`` with its index policy held off (leftovers cleared, ``video_id`` index, compaction, old versions
   dropped; an existing ANN index takes the new rows by ``optimize`` alone, untrained);
2. where a table already had an ANN index, recall in that state (is every row of an index grown only by
   ``optimize`` still found? lance issue 6380);
3. the ANN indexes (re)trained (:func:`build_vector_index`: the fingerprints table and the segment-vector table
   the shortlist searches, each when it holds ``index.build_min_rows`` rows or more; smaller tables are searched
   exactly), then recall again, bytes, k-NN time and the end-to-end scan.

Measured per size: write time (and the time spent making the padded fingerprints), optimize and index build
time, bytes per media-hour (table data + indexes, per modality and total, the segment-vector tables apart; and
the whole store folder), k-NN time
per query-hour (the first stage alone, as the scan runs it: every query interval ``search.first_stage_step`` apart,
file by file),
recall@k of the ANN search against exact search on ``--recall-queries`` sampled query intervals per modality
(recall = |approx ∩ exact| / |exact| over (query interval, video, t_start); copy recall = share of query
intervals whose exact top-1 is among the approx top-k), the scan of the real query files through
:func:`avm.pipeline.runner.scan` (calibration first, alone, then the scan that reuses it), and peak memory
(``ru_maxrss`` of this process and of its reaped children; this process's resident memory at the start and
at the peak of each phase).

The first scan of a catalog state calibrates it: impostor sampling, null queries and shared-content detection,
which searches every catalog video among the others, so its cost grows with the catalog (``--scan-max-hours``
leaves the scan out above a size).

Usage:
    python benchmarks/scale.py [--hours 10 100 1000] [--source STORE] [--source-media DIR] [--queries DIR]
        [--query-hours 1] [--recall-queries 300] [--index-type IVF_PQ|IVF_RQ] [--nprobes N] [--refine-factor N]
        [--build-min-rows N] [--skip-scan | --scan-max-hours H] [--out DIR] [--override KEY=VALUE ...]

Output: a table on stdout and ``<out>/scale.json`` (one row per size, rewritten after every size).
"""

from __future__ import annotations

import argparse
import csv
import dataclasses
import json
import logging
import math
import os
import resource
import shutil
import sys
import time
import warnings
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any, TypeVar

import lancedb
import numpy as np
import pyarrow as pa
from hydra import compose, initialize_config_dir

from avm.config import CONFIG_DIR, to_options
from avm.errors import UserError
from avm.index import FingerprintStore, IndexOptions, SearchOptions, finalize, knn, store_bytes, store_videos
from avm.index.maintenance import build_vector_index
from avm.index.options import INDEX_TYPES
from avm.manifest import ManifestEntry, read_inputs
from avm.match import calibrate_catalog
from avm.match.cascade import first_stage_hits
from avm.pipeline import IngestConfig, MediaRow, ScanConfig, fingerprinting_stages, run_stages
from avm.pipeline.ingest import model_versions
from avm.pipeline.progress import Progress
from avm.pipeline.runner import ingest, scan
from avm.types import Fingerprints, vector_matrix
from jobs.schemas import register_configs

REPO = Path(__file__).resolve().parent.parent
BENCH = REPO / "outputs" / "bench"
PAD_PREFIX = "pad_"
MIB = 1024 * 1024
T = TypeVar("T")
log = logging.getLogger("scale")


# --- configs -------------------------------------------------------------------------------------------------
def compose_job(name: str, cls: type[T], overrides: Sequence[str]) -> T:
    """The job config ``conf/<name>.yaml`` composed with ``overrides``, as ``cls``."""
    with initialize_config_dir(config_dir=CONFIG_DIR, version_base="1.3"):
        return to_options(compose(config_name=name, overrides=list(overrides)), cls)


def index_overrides(args: argparse.Namespace) -> list[str]:
    """The ``index`` settings given on the command line, as Hydra overrides."""
    refine = "null" if not args.refine_factor else str(args.refine_factor)
    return [f"index.index_type={args.index_type}", f"index.nprobes={args.nprobes}",
            f"index.refine_factor={refine}", f"index.build_min_rows={args.build_min_rows}"]


# --- memory and timing ---------------------------------------------------------------------------------------
def reset_peak_rss() -> bool:
    """Reset this process's peak resident set (Linux ``clear_refs``); False where that is not allowed."""
    try:
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")
        return True
    except OSError:
        return False


def rss_mib(key: str = "VmHWM") -> float:
    """This process's peak resident set since the last reset (``VmHWM``; its lifetime peak where resets fail) or
    its current one (``VmRSS``), in MiB."""
    try:
        with open("/proc/self/status") as f:
            return next(int(line.split()[1]) for line in f if line.startswith(f"{key}:")) / 1024
    except (OSError, StopIteration):
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


@dataclass
class Phases:
    """Wall seconds of the phases of one size (summed over repeats), and this process's resident memory (MiB)
    when each began and at its peak."""

    seconds: dict[str, float] = field(default_factory=dict)
    memory: dict[str, dict[str, float]] = field(default_factory=dict)

    @contextmanager
    def __call__(self, name: str) -> Iterator[None]:
        reset_peak_rss()
        memory = self.memory.setdefault(name, {"start": rss_mib("VmRSS"), "peak": 0.0})
        started = time.perf_counter()
        try:
            yield
        finally:
            self.seconds[name] = self.seconds.get(name, 0.0) + time.perf_counter() - started
            memory["peak"] = max(memory["peak"], rss_mib())


# --- the source catalog and the padded copies ------------------------------------------------------------------
@dataclass
class Source:
    """The real catalog the padding copies: per video its fingerprints per modality, and its duration (s)."""

    prints: dict[str, dict[str, Fingerprints]]
    durations: dict[str, float]
    versions: dict[str, str]  # modality → model version

    @property
    def ids(self) -> list[str]:
        return sorted(self.prints)

    @property
    def hours(self) -> float:
        return sum(self.durations.values()) / 3600


def build_source(args: argparse.Namespace) -> None:
    """Ingest ``--source-media`` into ``--source`` with the real ingest job."""
    log.info("no store at %s: ingesting %s into it", args.source, args.source_media)
    cfg = compose_job("ingest", IngestConfig, [f"index.uri={args.source}", f"input={args.source_media}",
                                               f"paths.output_dir={args.out}", f"ray.num_cpus={args.cpus}",
                                               *args.override])
    ingest(cfg, read_inputs(cfg.input))


def load_source(uri: str, modalities: Sequence[str]) -> Source:
    """The current fingerprints of ``modalities`` of every searchable video of the store at ``uri``."""
    store = FingerprintStore(IndexOptions(uri=uri))
    snapshot = store.require_catalog()
    prints: dict[str, dict[str, Fingerprints]] = {}
    for modality in (m for m in modalities if m in snapshot.versions):
        rows = store.fingerprints(modality).to_arrow()
        current = snapshot.current(modality, rows["video_id"].to_numpy(zero_copy_only=False),
                                   rows["batch_id"].to_numpy())
        rows = rows.filter(pa.array(current)).sort_by([("video_id", "ascending"), ("t_start", "ascending")])
        ids = rows["video_id"].to_numpy(zero_copy_only=False)
        if not len(ids):
            continue
        firsts = np.flatnonzero(np.r_[True, ids[1:] != ids[:-1]])
        for first, end in zip(firsts, [*firsts[1:], len(ids)], strict=True):
            prints.setdefault(ids[first], {})[modality] = Fingerprints.from_rows(modality,
                                                                                 rows.slice(first, end - first))
    return Source(prints, {v: snapshot.durations[v] for v in prints},
                  {m: v for m, v in snapshot.versions.items() if m in modalities})


def haar_rotation(rng: np.random.Generator, dim: int) -> np.ndarray:
    """A random orthogonal matrix drawn uniformly (Haar measure): QR of a Gaussian matrix, signs fixed."""
    q, r = np.linalg.qr(rng.standard_normal((dim, dim)))
    return (q * np.sign(np.diag(r))).astype(np.float32)


def rotated(prints: Fingerprints, rotation: np.ndarray) -> Fingerprints:
    """``prints`` with every vector multiplied by ``rotation``, re-normalised, as float16."""
    vectors = prints.vectors.astype(np.float32) @ rotation
    vectors /= np.maximum(np.linalg.norm(vectors, axis=1, keepdims=True), 1e-12)
    return dataclasses.replace(prints, vectors=vectors.astype(np.float16))


@dataclass
class Catalog:
    """The catalog being grown: the source videos first (as they are), then padded copies of them in turn.

    Video number ``position`` is source video ``position`` while there are, then padded copy
    ``position − len(source)`` of source video ``position mod len(source)``, rotated by matrices seeded by
    (``seed``, copy number, modality): the same catalog for the same source and seed, whatever the sizes.
    """

    store: FingerprintStore
    source: Source
    seed: int
    per_commit: int
    position: int = 0
    hours: float = 0.0
    modality_hours: dict[str, float] = field(default_factory=dict)

    def video(self, position: int) -> tuple[str, dict[str, Fingerprints]]:
        """Id and fingerprints of video number ``position``."""
        ids = self.source.ids
        original = ids[position % len(ids)]
        if position < len(ids):
            return original, self.source.prints[original]
        copy = position - len(ids)
        modalities = sorted(self.source.versions)
        return f"{PAD_PREFIX}{copy:06d}", {
            m: rotated(fp, haar_rotation(np.random.default_rng([self.seed, copy, modalities.index(m)]), fp.dim))
            for m, fp in self.source.prints[original].items()}

    def duration(self, position: int) -> float:
        ids = self.source.ids
        return self.source.durations[ids[position % len(ids)]]

    def plan(self, target_hours: float) -> list[int]:
        """The positions to add to reach ``target_hours`` (always every source video)."""
        positions, hours = [], self.hours
        position = self.position
        while position < len(self.source.ids) or hours < target_hours:
            positions.append(position)
            hours += self.duration(position) / 3600
            position += 1
        return positions

    def grow(self, target_hours: float, phases: Phases) -> dict[str, int]:
        """Write videos until the catalog holds ``target_hours`` of media; returns the rows written per modality."""
        positions = self.plan(target_hours)
        progress = Progress(f"write up to {target_hours:g} h", len(positions), every_seconds=30.0)
        written: dict[str, int] = {}
        for first in range(0, len(positions), self.per_commit):
            part = positions[first:first + self.per_commit]
            with phases("make_padding"):
                videos = dict(map(self.video, part))
            durations = {v: self.duration(p) for v, p in zip(videos, part, strict=True)}
            with phases("write"):
                store_videos(self.store, videos, durations)
            for video_id, prints in videos.items():
                for m, fp in prints.items():
                    written[m] = written.get(m, 0) + len(fp)
                    self.modality_hours[m] = self.modality_hours.get(m, 0.0) + (durations[video_id] / 3600
                                                                                if len(fp) else 0.0)
            self.hours += sum(durations.values()) / 3600
            self.position = part[-1] + 1
            progress.update(files=len(part), media_seconds=sum(durations.values()))
        return written

    @property
    def padded_videos(self) -> int:
        return max(0, self.position - len(self.source.ids))


# --- queries -------------------------------------------------------------------------------------------------
@dataclass
class Queries:
    """The real query files used, and their query fingerprints (per file, per modality)."""

    entries: list[ManifestEntry]
    prints: list[dict[str, Fingerprints]]
    hours: float

    def vectors(self, modality: str) -> np.ndarray:
        """Every query interval of ``modality``, float32."""
        parts = [p[modality].vectors for p in self.prints if modality in p and len(p[modality])]
        return np.concatenate(parts).astype(np.float32) if parts else np.zeros((0, 0), np.float32)




def _read_cached(path: Path, meta: str) -> tuple[dict[str, Fingerprints], float] | None:
    """Query fingerprints cached by :func:`_write_cached` with the same ``meta``, and the file's duration."""
    if not path.exists():
        return None
    with np.load(path) as data:
        if str(data["meta"]) != meta:
            return None
        modalities = [str(m) for m in data["modalities"]]
        return {m: Fingerprints(m, data[f"{m}.t_start"], data[f"{m}.t_end"], data[f"{m}.vectors"],
                                str(data[f"{m}.version"])) for m in modalities}, float(data["duration"])


def _write_cached(path: Path, meta: str, prints: dict[str, Fingerprints], duration: float) -> None:
    arrays: dict[str, Any] = {"meta": np.array(meta), "duration": np.array(duration),
                              "modalities": np.array(sorted(prints))}
    for m, fp in prints.items():
        arrays |= {f"{m}.t_start": fp.t_start, f"{m}.t_end": fp.t_end, f"{m}.vectors": fp.vectors,
                   f"{m}.version": np.array(fp.model_version)}
    path.parent.mkdir(parents=True, exist_ok=True)
    np.savez(path, **arrays)


def load_queries(cfg: ScanConfig, folder: str, hours: float, cache: Path) -> Queries:
    """The files of ``folder`` in sorted order until ``hours`` of media, fingerprinted as a scan does (query
    steps) in this process, once: the fingerprints are cached under ``cache``."""
    stages = fingerprinting_stages(cfg.media, cfg.model, cfg.model.query_steps())
    settings = {"versions": model_versions(cfg.model), "steps": cfg.model.query_steps()}
    queries = Queries([], [], 0.0)
    for entry in sorted(read_inputs(folder), key=lambda e: e.uri):
        if queries.hours >= hours:
            break
        path = cache / f"{entry.video_id.replace('/', '__')}.npz"
        meta = json.dumps({**settings, "file_size": os.path.getsize(entry.uri)}, sort_keys=True)
        found = _read_cached(path, meta)
        if found is None:
            (row,) = run_stages(stages, [MediaRow(entry.uri, entry.video_id)])
            if row.error:
                log.warning("query %s left out: %s", entry.uri, row.error)
                continue
            found = row.prints, row.duration
            _write_cached(path, meta, *found)
        queries.entries.append(entry)
        queries.prints.append(found[0])
        queries.hours += found[1] / 3600
    if not queries.entries:
        raise UserError(f"no usable query file in {folder}")
    return queries


def write_manifest(entries: Sequence[ManifestEntry], path: Path) -> Path:
    """``entries`` as a CSV manifest at ``path``."""
    with open(path, "w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(["uri", "video_id"])
        writer.writerows((e.uri, e.video_id) for e in entries)
    return path


# --- search measurements -------------------------------------------------------------------------------------
@dataclass
class Exact:
    """Exact top-k of sampled query intervals: similarity, video and interval start, best first ([queries, k])."""

    similarity: np.ndarray
    video_id: np.ndarray
    t_start: np.ndarray
    seconds: float


def exact_top_k(store: FingerprintStore, modality: str, queries: np.ndarray, k: int,
                batch_rows: int = 1 << 16) -> Exact:
    """Brute-force top-k by dot product over the current rows of a fingerprints table, read in batches."""
    snapshot, table = store.snapshot(), store.fingerprints(modality)
    shape = (len(queries), k)
    sims, videos, starts = np.full(shape, -np.inf, np.float32), np.full(shape, "", object), np.zeros(shape, np.float32)
    started = time.perf_counter()
    for batch in table.to_lance().to_batches(columns=["video_id", "batch_id", "t_start", "vector"],
                                             batch_size=batch_rows):
        ids = batch.column("video_id").to_numpy(zero_copy_only=False)
        keep = snapshot.current(modality, ids, batch.column("batch_id").to_numpy())
        if not keep.any():
            continue
        chunk = queries @ vector_matrix(batch.column("vector"))[keep].T
        take = min(k, chunk.shape[1])
        top = np.argpartition(-chunk, take - 1, axis=1)[:, :take]
        sims = np.concatenate([sims, np.take_along_axis(chunk, top, 1)], 1)
        videos = np.concatenate([videos, ids[keep][top]], 1)
        starts = np.concatenate([starts, batch.column("t_start").to_numpy()[keep][top]], 1)
        best = np.argsort(-sims, axis=1, kind="stable")[:, :k]
        sims, videos, starts = (np.take_along_axis(a, best, 1) for a in (sims, videos, starts))
    return Exact(sims, videos, starts, time.perf_counter() - started)


def recall(store: FingerprintStore, modality: str, queries: np.ndarray, exact: Exact, k: int) -> dict[str, Any]:
    """Recall@k and copy recall of :func:`knn` (the store's index settings) against ``exact``."""
    started = time.perf_counter()
    approx = knn(store, modality, queries, k)
    seconds = time.perf_counter() - started
    found = set(zip(approx.query_index.tolist(), approx.video_id.tolist(), approx.t_start.tolist(), strict=True))
    rows, cols = np.nonzero(np.isfinite(exact.similarity))
    truth = set(zip(rows.tolist(), exact.video_id[rows, cols].tolist(), exact.t_start[rows, cols].tolist(),
                    strict=True))
    tops = [(q, exact.video_id[q, 0], float(exact.t_start[q, 0])) for q in range(len(queries))
            if np.isfinite(exact.similarity[q, 0])]
    return {"search": "ann" if store.has_vector_index(modality) else "exact", "queries": len(queries),
            "recall_at_k": len(found & truth) / max(len(truth), 1),
            "copy_recall": sum(t in found for t in tops) / max(len(tops), 1),
            "ms_per_query": 1000 * seconds / max(len(queries), 1),
            "bruteforce_ms_per_query": 1000 * exact.seconds / max(len(queries), 1)}


def knn_seconds(store: FingerprintStore, queries: Queries, modalities: Sequence[str],
                search: SearchOptions) -> dict[str, float]:
    """Seconds the first stage (:func:`avm.match.cascade.first_stage_hits`: k-NN of the query intervals
    ``search.first_stage_step`` apart) takes per modality over every query file, one call per file as a scan."""
    seconds = dict.fromkeys(modalities, 0.0)
    for prints in queries.prints:
        for m in modalities:
            if m in prints and len(prints[m]):
                started = time.perf_counter()
                first_stage_hits(store, m, prints[m], search)
                seconds[m] += time.perf_counter() - started
    return seconds


# --- the store -------------------------------------------------------------------------------------------------
def vector_index(table: lancedb.table.Table) -> Any | None:
    """The ANN index of a fingerprints table (LanceDB's IndexConfig), or None."""
    return next((idx for idx in table.list_indices() if idx.columns == ["vector"]), None)


def optimize_only(store: FingerprintStore, versions: dict[str, str]) -> None:
    """:func:`finalize` with its index policy held off: an existing ANN index only takes the new rows by
    ``optimize`` (no training or retraining), and old table versions are dropped at once (no reader runs)."""
    held = FingerprintStore(dataclasses.replace(store.opts, build_min_rows=sys.maxsize, rebuild_growth=math.inf,
                                                cleanup_older_than_days=0.0))
    finalize(held, versions)
    store.refresh()


def train(store: FingerprintStore, modality: str, segments: bool = False) -> tuple[bool, float]:
    """(Re)train the ANN index of ``modality``'s fingerprints (or ``segments``) table (when the table is large
    enough) and drop the replaced one's files; returns whether it trained and the seconds the training took."""
    table = store.fingerprints(modality, segments=segments)
    if table is None:
        return False, 0.0
    started = time.perf_counter()
    trained = build_vector_index(store, table)
    seconds = time.perf_counter() - started
    if trained:
        table.optimize(cleanup_older_than=timedelta(0))
    return trained, seconds


def modality_bytes(store: FingerprintStore, modality: str, segments: bool = False) -> dict[str, int]:
    """Bytes of a fingerprints (or ``segments``) table at its latest version: data, ANN index and other (scalar)
    indexes (all 0 when the table is missing)."""
    table = store.fingerprints(modality, segments=segments)
    if table is None:
        return {"data_bytes": 0, "ann_index_bytes": 0, "other_index_bytes": 0}
    indices = table.list_indices()
    ann = sum(idx.size_bytes or 0 for idx in indices if idx.columns == ["vector"])
    return {"data_bytes": int(table.stats()["total_bytes"]), "ann_index_bytes": int(ann),
            "other_index_bytes": int(sum(idx.size_bytes or 0 for idx in indices) - ann)}


# --- one size -------------------------------------------------------------------------------------------------
@dataclass
class Bench:
    """Everything the sizes share: the scan config, the growing catalog, the queries and the recall samples."""

    args: argparse.Namespace
    cfg: ScanConfig
    catalog: Catalog
    queries: Queries
    samples: dict[str, np.ndarray]
    modalities: tuple[str, ...]

    @property
    def store(self) -> FingerprintStore:
        return self.catalog.store

    def measure(self, target_hours: float) -> dict[str, Any]:
        """Grow the catalog to ``target_hours`` and measure it (see the module docstring)."""
        phases, k = Phases(), self.cfg.search.k
        log.info("size %g h: writing", target_hours)
        written = self.catalog.grow(target_hours, phases)
        per_modality: dict[str, dict[str, Any]] = {m: {"rows_written": written.get(m, 0)} for m in self.modalities}
        for m in self.modalities:
            index = vector_index(self.store.fingerprints(m))
            per_modality[m]["unindexed_rows_before_optimize"] = index.num_unindexed_rows if index else None
        log.info("size %g h: optimize", target_hours)
        with phases("optimize"):
            optimize_only(self.store, self.catalog.source.versions)
        exact = {}
        with phases("exact_search"):
            for m in self.modalities:
                exact[m] = exact_top_k(self.store, m, self.samples[m], k)
        with phases("recall_incremental"):
            for m in self.modalities:
                index = vector_index(self.store.fingerprints(m))
                per_modality[m]["ann_segments_before_retrain"] = index.num_segments if index else None
                per_modality[m]["recall_incremental"] = (recall(self.store, m, self.samples[m], exact[m], k)
                                                         if index else None)
        log.info("size %g h: (re)training the ANN indexes", target_hours)
        with phases("index_build"):
            for m in self.modalities:
                had_index = vector_index(self.store.fingerprints(m)) is not None
                trained, seconds = train(self.store, m)
                segments_trained, segments_seconds = train(self.store, m, segments=True)
                per_modality[m] |= {"index": ("retrained" if had_index else "trained") if trained else "exact",
                                    "index_build_s": seconds if trained else 0.0,
                                    "segment_index": "trained" if segments_trained else "exact",
                                    "segment_index_build_s": segments_seconds}
        self.store.refresh()
        with phases("recall"):
            for m in self.modalities:
                per_modality[m]["recall"] = recall(self.store, m, self.samples[m], exact[m], k)
        log.info("size %g h: k-NN of %.2f h of queries", target_hours, self.queries.hours)
        with phases("knn"):
            knn_s = knn_seconds(self.store, self.queries, self.modalities, self.cfg.search)
        for m in self.modalities:
            hours = self.catalog.modality_hours.get(m, 0.0)
            size = modality_bytes(self.store, m)
            segment_bytes = sum(modality_bytes(self.store, m, segments=True).values())
            segment_table = self.store.fingerprints(m, segments=True)
            per_modality[m] |= {"rows": self.store.count(m), "media_hours": hours, **size,
                                "bytes_per_hour": sum(size.values()) / hours if hours else None,
                                "segment_rows": segment_table.count_rows() if segment_table is not None else 0,
                                "segment_bytes": segment_bytes,
                                "segment_bytes_per_hour": segment_bytes / hours if hours else None,
                                "knn_s": knn_s[m], "knn_s_per_query_hour": knn_s[m] / self.queries.hours}
        row: dict[str, Any] = {
            "target_hours": target_hours, "catalog_hours": self.catalog.hours,
            "videos": len(self.store.snapshot().durations), "padded_videos": self.catalog.padded_videos,
            "store_bytes": store_bytes(self.store),
            "bytes_per_hour": sum(m["data_bytes"] + m["ann_index_bytes"] + m["other_index_bytes"]
                                  for m in per_modality.values()) / self.catalog.hours,
            "segment_bytes_per_hour": sum(m["segment_bytes"] for m in per_modality.values()) / self.catalog.hours,
            "knn_s_per_query_hour": sum(knn_s.values()) / self.queries.hours,
            "modalities": per_modality,
            "scan": self.scan(target_hours, phases),
        }
        usage = {who: resource.getrusage(getattr(resource, f"RUSAGE_{who.upper()}")).ru_maxrss / 1024
                 for who in ("self", "children")}
        return row | {"seconds": phases.seconds, "peak_rss_mib": usage, "phase_rss_mib": phases.memory}

    def scan(self, target_hours: float, phases: Phases) -> dict[str, Any] | None:
        """Calibrate on this catalog state alone, then scan the query files (reusing that calibration)."""
        if self.args.skip_scan or (self.args.scan_max_hours is not None
                                   and self.catalog.hours > self.args.scan_max_hours):
            return None
        cfg = dataclasses.replace(self.cfg, output_dir=str(Path(self.args.out) / "scan" / f"{target_hours:g}h"))
        log.info("size %g h: calibrating", target_hours)
        with phases("calibration"):
            calibration = calibrate_catalog(FingerprintStore(cfg.index), cfg.match.per_modality(self.modalities),
                                            cfg.search)
        log.info("size %g h: scanning %d query files", target_hours, len(self.queries.entries))
        with phases("scan"):
            result = scan(cfg, read_inputs(cfg.queries))
        seconds = phases.seconds["scan"]
        return {"calibration_s": phases.seconds["calibration"], "scan_s": seconds,
                "scan_s_per_query_hour": seconds / result.media_hours if result.media_hours else None,
                "query_hours": result.media_hours, "segments": len(result.segments),
                "pairs": len({(s.query_id, s.ref_id) for s in result.segments}),
                "segments_on_padded": sum(s.ref_id.startswith(PAD_PREFIX) for s in result.segments),
                "failed": len(result.failed), "calibration": calibration.lines()}


# --- output ---------------------------------------------------------------------------------------------------
def fmt(value: Any, spec: str = ".2f") -> str:
    """``value`` formatted by ``spec``; a dash for None."""
    return "—" if value is None else format(value, spec)


def table_text(header: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    """A right-aligned text table."""
    widths = [max(len(str(c)) for c in column) for column in zip(header, *rows, strict=True)]
    return "\n".join("  ".join(str(c).rjust(w) for c, w in zip(line, widths, strict=True)) for line in [header, *rows])


def mb_per_hour(size: float, hours: float) -> float | None:
    return size / hours / 1e6 if hours else None


def print_tables(rows: Sequence[dict[str, Any]], k: int) -> None:
    """The per-size table and the per-modality table."""
    sizes, lines = [], []
    for r in rows:
        s, mods = r["scan"] or {}, r["modalities"]
        sizes.append([fmt(r["catalog_hours"], ".1f"), str(r["videos"]), fmt(r["seconds"].get("write", 0.0), ".1f"),
                      fmt(r["seconds"]["optimize"], ".1f"), fmt(sum(m["index_build_s"] for m in mods.values()), ".1f"),
                      fmt(r["bytes_per_hour"] / 1e6), fmt(r.get("segment_bytes_per_hour", 0.0) / 1e6),
                      fmt(r["store_bytes"] / 1e9, ".3f"),
                      fmt(r["knn_s_per_query_hour"], ".1f"), fmt(s.get("calibration_s"), ".1f"),
                      fmt(s.get("scan_s_per_query_hour"), ".1f"),
                      f"{s['segments']} ({s['segments_on_padded']})" if s else "—",
                      f"{r['peak_rss_mib']['self']:.0f}/{r['peak_rss_mib']['children']:.0f}"])
        for name, m in mods.items():
            inc, rec = m["recall_incremental"] or {}, m["recall"]
            lines.append([fmt(r["catalog_hours"], ".1f"), name, str(m["rows"]),
                          fmt(mb_per_hour(m["data_bytes"], m["media_hours"])),
                          fmt(mb_per_hour(m["ann_index_bytes"] + m["other_index_bytes"], m["media_hours"])),
                          m["index"], fmt(m["index_build_s"], ".1f"), str(m.get("segment_rows", 0)),
                          fmt(mb_per_hour(m.get("segment_bytes", 0), m["media_hours"])),
                          fmt(m.get("segment_index_build_s"), ".1f"),
                          fmt(inc.get("recall_at_k"), ".3f"), fmt(inc.get("copy_recall"), ".3f"),
                          fmt(rec["recall_at_k"], ".3f"), fmt(rec["copy_recall"], ".3f"),
                          fmt(rec["ms_per_query"]), fmt(rec["bruteforce_ms_per_query"]),
                          fmt(m["knn_s_per_query_hour"], ".1f")])
    print(table_text(["hours", "videos", "write s", "optimize s", "index s", "MB/h", "segments MB/h", "store GB",
                      "kNN s/qh",
                      "calib s", "scan s/qh", "segs (pad)", "peak MiB self/child"], sizes))
    print()
    print(table_text(["hours", "modality", "rows", "data MB/h", "index MB/h", "index", "build s", "segment rows",
                      "segments MB/h", "segment build s",
                      f"incr R@{k}", "incr copy", f"R@{k}", "copy R", "kNN ms/q", "brute ms/q", "kNN s/qh"], lines))


def write_json(path: Path, payload: dict[str, Any]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(payload, indent=2, default=float))


# --- main -----------------------------------------------------------------------------------------------------
def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--hours", type=float, nargs="+", default=[10.0, 100.0, 1000.0],
                        help="catalog sizes in media-hours (cumulative: one store grows through them)")
    parser.add_argument("--source", default=str(BENCH / "scale" / "source"),
                        help="AVM store of the real catalog to pad (built from --source-media when missing)")
    parser.add_argument("--source-media", default=str(BENCH / "standard" / "refs"))
    parser.add_argument("--queries", default=str(BENCH / "standard" / "queries"), help="folder of real query files")
    parser.add_argument("--query-hours", type=float, default=1.0, help="query files taken in sorted order up to this")
    parser.add_argument("--recall-queries", type=int, default=300, help="query intervals per modality for recall")
    parser.add_argument("--index-type", default=IndexOptions.index_type, choices=INDEX_TYPES)
    parser.add_argument("--nprobes", type=int, default=IndexOptions.nprobes)
    parser.add_argument("--refine-factor", type=int, default=IndexOptions.refine_factor, help="0: no refinement")
    parser.add_argument("--build-min-rows", type=int, default=IndexOptions.build_min_rows)
    parser.add_argument("--videos-per-commit", type=int, default=200)
    parser.add_argument("--skip-scan", action="store_true", help="no end-to-end scan")
    parser.add_argument("--scan-max-hours", type=float, default=None, help="scan only catalogs up to this many hours (calibration grows with the catalog)")
    parser.add_argument("--cpus", type=int, default=2, help="ray.num_cpus of the ingest and scan jobs")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", default=str(BENCH / "scale"))
    parser.add_argument("--store", default=None, help="the padded catalog (default <out>/catalog; wiped first)")
    parser.add_argument("--override", nargs="*", default=[], help="Hydra overrides of the scan/ingest configs")
    return parser.parse_args()


def setup(args: argparse.Namespace) -> Bench:
    """Compose the scan config, make sure the source exists, load it and the queries, start an empty store."""
    out = Path(args.out)
    store_dir = Path(args.store or out / "catalog")
    manifest = out / "queries.csv"
    cfg = compose_job("scan", ScanConfig, [f"index.uri={store_dir}", f"queries={manifest}", f"paths.output_dir={out}",
                                           f"ray.num_cpus={args.cpus}", *index_overrides(args), *args.override])
    if not FingerprintStore(IndexOptions(uri=args.source)).has_table("videos"):
        build_source(args)
    source = load_source(args.source, cfg.model.modalities)
    modalities = tuple(m for m in cfg.model.modalities if m in source.versions)
    configured = model_versions(cfg.model)
    wrong = {m: (source.versions[m], configured[m]) for m in modalities if source.versions[m] != configured[m]}
    if wrong or not modalities:
        raise UserError(f"the source store {args.source} holds {source.versions}, the config's models are "
                        f"{configured}: use a source made with the configured models (or --override model...)")
    log.info("source: %d videos, %.3f h, %s", len(source.prints), source.hours,
             {m: sum(len(p[m]) for p in source.prints.values() if m in p) for m in modalities})
    queries = load_queries(cfg, args.queries, args.query_hours, out / "query_prints")
    log.info("queries: %d files, %.3f h", len(queries.entries), queries.hours)
    rng = np.random.default_rng(args.seed)
    samples = {}
    for m in modalities:
        vectors = queries.vectors(m)
        if not len(vectors):
            raise UserError(f"the query files hold no {m} interval: take more (--query-hours) or other queries")
        samples[m] = vectors[np.sort(rng.choice(len(vectors), min(args.recall_queries, len(vectors)), replace=False))]
    if store_dir.exists():
        log.info("removing the previous padded catalog %s", store_dir)
        shutil.rmtree(store_dir)
    catalog = Catalog(FingerprintStore(cfg.index), source, args.seed, args.videos_per_commit)
    write_manifest(queries.entries, manifest)
    return Bench(args, cfg, catalog, queries, samples, modalities)


def main() -> None:
    args = parse_args()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    warnings.filterwarnings("ignore", message=r"optimize\(cleanup_older_than=0\)")  # no other reader runs
    register_configs()
    Path(args.out).mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    bench = setup(args)
    payload: dict[str, Any] = {
        "machine": {"cpus": os.cpu_count(), "load_average": os.getloadavg()},
        "args": vars(args), "index": dataclasses.asdict(bench.cfg.index), "k": bench.cfg.search.k,
        "phase_peaks_reset": reset_peak_rss(),
        "source": {"uri": args.source, "videos": len(bench.catalog.source.prints), "hours": bench.catalog.source.hours,
                   "versions": bench.catalog.source.versions},
        "queries": {"files": len(bench.queries.entries), "hours": bench.queries.hours,
                    "intervals": {m: len(bench.queries.vectors(m)) for m in bench.modalities},
                    "recall_sample": {m: len(s) for m, s in bench.samples.items()}},
        "rows": [],
    }
    for target in sorted(args.hours):
        payload["rows"].append(bench.measure(target))
        write_json(Path(args.out) / "scale.json", payload)
        log.info("size %g h done, %.0f s since start", target, time.perf_counter() - started)
        print_tables(payload["rows"], bench.cfg.search.k)
    print(f"\nwrote {Path(args.out) / 'scale.json'}")


if __name__ == "__main__":
    main()
