"""Scan results on disk: the Parquet dataset of segment pairs (``MATCHES_SCHEMA``), the hackathon submission CSV
(``HACKATHON_PRED_COLUMNS``, whole seconds) and the run's metadata."""

from __future__ import annotations

import dataclasses
import json
import os
import shutil
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.dataset as ds
import pyarrow.fs as pafs
import pyarrow.parquet as pq

from avm import storage
from avm.schema import HACKATHON_PRED_COLUMNS
from avm.types import Segment

RUN_PARTITION = "run"  # matches/run=<run id>/part-0.parquet: one partition per scan run
PART_FILE = "part-0.parquet"


def write_matches(segments: Sequence[Segment], out_dir: str, run_meta: dict[str, Any],
                  query_uris: dict[str, str] | None = None, ref_uris: dict[str, str] | None = None) -> dict[str, str]:
    """Write the run's partition ``out_dir/matches/run=<run id>/`` (Parquet, run metadata in the file's schema;
    earlier runs' partitions are never touched), its metadata ``out_dir/runs/<run id>.json``, and the latest
    run's hackathon CSV ``matches.csv`` and ``run.json``. ``out_dir`` is a local folder or an object-store URI.

    Every row carries the run id and the query's and reference's files. The partition appears whole, so readers
    never see half a result: a local one is written aside and renamed; on an object store it is one object.
    """
    run_id = str(run_meta["run_id"])
    matches = Segment.to_table(segments, run_id, query_uris, ref_uris)
    meta = {**(matches.schema.metadata or {}), b"avm_run": json.dumps(run_meta, default=str).encode()}
    matches = matches.replace_schema_metadata(meta)
    out = str(out_dir)
    dataset = storage.join(out, "matches")
    final = storage.join(dataset, f"{RUN_PARTITION}={run_id}")
    if storage.is_object_store(out):
        sink = pa.BufferOutputStream()
        pq.write_table(matches, sink)
        storage.write_bytes(storage.join(final, PART_FILE), sink.getvalue().to_pybytes())
    else:
        staging = Path(dataset) / f".{RUN_PARTITION}={run_id}.tmp"
        shutil.rmtree(staging, ignore_errors=True)
        staging.mkdir(parents=True)
        pq.write_table(matches, staging / PART_FILE)
        shutil.rmtree(final, ignore_errors=True)  # only a run re-written under its own id
        os.replace(staging, final)
    meta_json = json.dumps(run_meta, indent=2, default=str).encode()
    storage.write_bytes(storage.join(out, "runs", f"{run_id}.json"), meta_json)
    csv_path, run_path = storage.join(out, "matches.csv"), storage.join(out, "run.json")
    storage.write_bytes(csv_path, hackathon_csv(segments).encode())
    storage.write_bytes(run_path, meta_json)
    return {"matches": dataset, "run_partition": final, "csv": csv_path, "run": run_path}


def scan_runs(path: str | Path) -> list[str]:
    """The run ids of a scan output dataset (a local folder or an object-store URI), oldest first (by when their
    partition was written)."""
    written = {}
    for uri, _, mtime in storage.list_files(str(path)):
        folder, name = uri.rstrip("/").rsplit("/", 2)[-2:]
        if name == PART_FILE and folder.startswith(f"{RUN_PARTITION}="):
            written[folder.split("=", 1)[1]] = mtime.timestamp() if mtime else 0.0
    return sorted(written, key=lambda run: (written[run], run))


def read_matches(path: str | Path, run_id: str | None = None) -> list[Segment]:
    """Segments of a Parquet file or dataset directory of ``MATCHES_SCHEMA`` rows (or any table with at least
    ``PAIR_COLUMNS``; absent fields take :class:`Segment`'s defaults), local or on an object store. Of a scan
    output dataset, one run: ``run_id``, by default the latest."""
    fs, where = storage.filesystem(str(path))
    dataset = ds.dataset(where, filesystem=fs, format="parquet", partitioning="hive")
    fields = [f.name for f in dataclasses.fields(Segment) if f.name in dataset.schema.names]
    runs = scan_runs(path) if fs.get_file_info(where).type == pafs.FileType.Directory else []
    if run_id is not None and run_id not in runs:
        raise ValueError(f"{path}: no scan run {run_id!r} (runs: {runs})")
    if runs:
        return Segment.from_table(dataset.to_table(columns=fields,
                                                   filter=ds.field(RUN_PARTITION) == (run_id or runs[-1])))
    return Segment.from_table(dataset.to_table(columns=fields))


def whole_seconds(start: np.ndarray, end: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Segment bounds as a submission holds them: each rounded to the nearest second (halves up), starts clipped
    at 0, every end at least ``start + 1`` so that no segment collapses to zero length."""
    start = np.clip(np.floor(np.asarray(start, dtype=np.float64) + 0.5), 0.0, None)
    return start, np.maximum(np.floor(np.asarray(end, dtype=np.float64) + 0.5), start + 1.0)


def format_segment(start: float, end: float) -> str:
    """``(12.0, 47.0)`` -> ``"12-47"`` (bounds must already be whole seconds)."""
    return f"{int(start)}-{int(end)}"


def write_hackathon_csv(segments: Sequence[Segment], path: str | Path) -> None:
    """Write a submission CSV (:func:`hackathon_csv`) to ``path`` (local or on an object store)."""
    storage.write_bytes(str(path), hackathon_csv(segments).encode())


def hackathon_csv(segments: Sequence[Segment]) -> str:
    """A submission CSV (``HACKATHON_PRED_COLUMNS``) with :func:`whole_seconds` bounds; ids as given."""
    table = Segment.to_table(segments, "")
    sides = {side: whole_seconds(table[f"{side}_start"].to_numpy(), table[f"{side}_end"].to_numpy())
             for side in ("query", "ref")}
    query_id, query_segment, ref_id, ref_segment = HACKATHON_PRED_COLUMNS
    out = pd.DataFrame(
        {
            query_id: table["query_id"].to_pylist(),
            query_segment: list(map(format_segment, *sides["query"])),
            ref_id: table["ref_id"].to_pylist(),
            ref_segment: list(map(format_segment, *sides["ref"])),
        },
        columns=list(HACKATHON_PRED_COLUMNS),
    )
    return out.to_csv(index=False)
