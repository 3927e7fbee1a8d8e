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
import pyarrow.dataset as ds
import pyarrow.parquet as pq

from avm.schema import HACKATHON_PRED_COLUMNS
from avm.types import Segment


def write_matches(segments: Sequence[Segment], out_dir: str | Path, run_meta: dict[str, Any]) -> dict[str, str]:
    """Write ``out_dir/matches/`` (Parquet, run metadata in the file's schema), ``matches.csv`` and ``run.json``.

    Every row carries ``run_meta["run_id"]``. The dataset directory is swapped in whole, so readers never see
    half a result and a re-run replaces it.
    """
    matches = Segment.to_table(segments, str(run_meta["run_id"]))
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    final, staging = out / "matches", out / f".matches.{run_meta['run_id']}.tmp"
    shutil.rmtree(staging, ignore_errors=True)
    staging.mkdir()
    meta = {**(matches.schema.metadata or {}), b"avm_run": json.dumps(run_meta, default=str).encode()}
    pq.write_table(matches.replace_schema_metadata(meta), staging / "part-0.parquet")
    if final.exists():
        retired = out / f".matches.{run_meta['run_id']}.old"
        os.replace(final, retired)
        os.replace(staging, final)
        shutil.rmtree(retired)
    else:
        os.replace(staging, final)
    csv_path = out / "matches.csv"
    write_hackathon_csv(segments, csv_path)
    run_path = out / "run.json"
    run_path.write_text(json.dumps(run_meta, indent=2, default=str))
    return {"matches": str(final), "csv": str(csv_path), "run": str(run_path)}


def read_matches(path: str | Path) -> list[Segment]:
    """Segments of a Parquet file or dataset directory of ``MATCHES_SCHEMA`` rows (or any table with at least
    ``PAIR_COLUMNS``; absent fields take :class:`Segment`'s defaults)."""
    dataset = ds.dataset(path, format="parquet", partitioning="hive")
    fields = [f.name for f in dataclasses.fields(Segment) if f.name in dataset.schema.names]
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
    """Write a submission CSV (``HACKATHON_PRED_COLUMNS``) with :func:`whole_seconds` bounds; ids as given."""
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
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    out.to_csv(path, index=False)
