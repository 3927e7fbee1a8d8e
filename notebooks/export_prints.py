"""Cache what the study notebooks read: a benchmark catalog's stored fingerprints and a sample of its queries'.

    python notebooks/export_prints.py --store outputs/bench/scale/source \
        --query-prints outputs/bench/scale_1000/query_prints --out notebooks/data/standard_prints.npz

``--store``: an AVM store of the benchmark's references (``benchmarks/scale.py`` ingests ``standard``'s into
``outputs/bench/scale/source``); ``--query-prints``: the query fingerprints ``benchmarks/scale.py`` cached.
The file holds, per modality, every current catalog interval (vector float16, video id, start and end time) and
up to ``--queries`` query intervals sampled with a fixed seed; the catalog videos' durations; every query
file's intervals (``query.<modality>.*``, concatenated, with the file's id per interval) and durations; and the
ground-truth pairs of those query files (``--bench``'s ``ground_truth.csv``) with the benchmark's ``edits.csv``
and ``queries_meta.csv`` where it has them, so the notebooks run from a clean clone.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "benchmarks"))
from scale import load_source  # noqa: E402
from search_curve import cached_queries  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--store", required=True)
    parser.add_argument("--query-prints", required=True)
    parser.add_argument("--queries", type=int, default=2000, help="query intervals kept per modality")
    parser.add_argument("--bench", default="outputs/bench/standard", help="the built benchmark the queries are from")
    parser.add_argument("--out", required=True)
    args = parser.parse_args()
    modalities = ("audio", "visual")
    source = load_source(args.store, modalities)
    queries, query_ids = cached_queries(Path(args.query_prints))
    rng = np.random.default_rng(0)
    arrays: dict[str, np.ndarray] = {}
    for m in modalities:
        ids = [v for v in source.ids if m in source.prints[v]]
        arrays[f"{m}.catalog"] = np.concatenate([source.prints[v][m].vectors for v in ids]).astype(np.float16)
        arrays[f"{m}.catalog_video"] = np.concatenate([[v] * len(source.prints[v][m]) for v in ids]).astype(str)
        arrays[f"{m}.catalog_t"] = np.concatenate([source.prints[v][m].t_start for v in ids]).astype(np.float32)
        arrays[f"{m}.catalog_t_end"] = np.concatenate([source.prints[v][m].t_end for v in ids]).astype(np.float32)
        files = [(q, p[m]) for q, p in zip(query_ids, queries.prints, strict=True) if m in p]
        arrays[f"query.{m}.vectors"] = np.concatenate([fp.vectors for _, fp in files]).astype(np.float16)
        arrays[f"query.{m}.video"] = np.concatenate([[q] * len(fp) for q, fp in files]).astype(str)
        arrays[f"query.{m}.t_start"] = np.concatenate([fp.t_start for _, fp in files]).astype(np.float32)
        arrays[f"query.{m}.t_end"] = np.concatenate([fp.t_end for _, fp in files]).astype(np.float32)
        vectors = queries.vectors(m)
        pick = np.sort(rng.choice(len(vectors), min(args.queries, len(vectors)), replace=False))
        arrays[f"{m}.queries"] = vectors[pick].astype(np.float16)
        arrays[f"{m}.version"] = np.array(source.versions[m])
    arrays["catalog.video"] = np.array(source.ids).astype(str)
    arrays["catalog.duration"] = np.array([source.durations[v] for v in source.ids])
    arrays["query.video"] = np.array(query_ids).astype(str)
    wanted = {f"{q}.mp4" for q in query_ids} | set(query_ids)
    for name in ("ground_truth", "edits", "queries_meta"):
        path = Path(args.bench) / f"{name}.csv"
        if path.exists() or name == "ground_truth":
            table = pd.read_csv(path, dtype=str, keep_default_na=False)
            arrays[name] = table[table.iloc[:, 0].isin(wanted)].to_numpy().astype(str)
            arrays[f"{name}_columns"] = np.array(table.columns).astype(str)
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    np.savez_compressed(args.out, **arrays)
    print(f"wrote {args.out}: " + ", ".join(f"{k} {v.shape}" for k, v in arrays.items() if v.ndim))


if __name__ == "__main__":
    main()
