"""Write scan results: a Parquet dataset of segment pairs, the hackathon CSV and the run's metadata."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from avm.evaluate.segments import write_hackathon_csv


def write_matches(matches: pa.Table, out_dir: str | Path, run_meta: dict[str, Any]) -> dict[str, str]:
    """Write ``out_dir/matches/`` (Parquet, run metadata in the file's schema), ``matches.csv`` and ``run.json``.

    The dataset directory is swapped in whole, so readers never see half a result and a re-run replaces it.
    """
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
    write_hackathon_csv(matches.select(["query_id", "query_start", "query_end", "ref_id", "ref_start", "ref_end"])
                        .to_pandas(), csv_path)
    run_path = out / "run.json"
    run_path.write_text(json.dumps(run_meta, indent=2, default=str))
    return {"matches": str(final), "csv": str(csv_path), "run": str(run_path)}
