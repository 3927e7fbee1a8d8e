"""The speed/recall curve of the first stage on a padded catalog that ``benchmarks/scale.py`` left behind.

Opens the store (``--store``, read only) and the query fingerprints scale.py cached (``--query-prints``), samples
``--recall-queries`` query intervals per modality, finds their exact top-k once (brute force over every current
row), then for every ``nprobes`` × ``refine_factor`` of the grid measures, with the same functions as scale.py:
recall@k and copy recall (share of sampled intervals whose exact top-1 is in the approximate top-k) against the
exact answer, and the first stage's k-NN time per query-hour (every query file, intervals
``search.first_stage_step`` apart, one call per file as a scan makes). The ANN index is the one in the store
(its type and partition count are printed).

Usage:
    python benchmarks/search_curve.py [--store outputs/bench/scale_1000/catalog]
        [--query-prints outputs/bench/scale_1000/query_prints] [--nprobes 32 64 128] [--refine-factor 10]
        [--recall-queries 300] [--ground-truth outputs/bench/standard/ground_truth.csv] [--out FILE.json]
"""

from __future__ import annotations

import argparse
import dataclasses
import itertools
import json
import logging
import os
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from scale import BENCH, Exact, Queries, exact_top_k, knn_seconds, recall, vector_index  # noqa: E402

from avm.evaluate.io import read_ground_truth_csv  # noqa: E402
from avm.index import FingerprintStore, IndexOptions, SearchOptions, knn  # noqa: E402
from avm.types import Fingerprints, Hits, Segment  # noqa: E402

log = logging.getLogger("search_curve")


def cached_queries(folder: Path) -> tuple[Queries, list[str]]:
    """Every query file's fingerprints as scale.py cached them (``<id>.npz``: per modality times and vectors), and
    the files' ids."""
    queries, ids = Queries([], [], 0.0), []
    for path in sorted(folder.glob("*.npz")):
        ids.append(path.stem)
        with np.load(path) as data:
            queries.prints.append({str(m): Fingerprints(str(m), data[f"{m}.t_start"], data[f"{m}.t_end"],
                                                        data[f"{m}.vectors"], str(data[f"{m}.version"]))
                                   for m in data["modalities"]})
            queries.hours += float(data["duration"]) / 3600
    if not queries.prints:
        raise SystemExit(f"no cached query fingerprints in {folder}: run benchmarks/scale.py first")
    return queries, ids


@dataclass
class TrueCopies:
    """Query intervals inside ground-truth copies: their vectors, and where their copy lies in the catalog."""

    vectors: np.ndarray
    ref_id: np.ndarray
    ref_time: np.ndarray

    def found(self, hits: Hits, tolerance: float) -> np.ndarray:
        """Per interval: whether ``hits`` (query_index into these intervals) hold its true reference interval."""
        rows = hits.query_index
        right = (hits.video_id == self.ref_id[rows]) & (np.abs(hits.t_start - self.ref_time[rows]) <= tolerance)
        out = np.zeros(len(self.vectors), bool)
        out[rows[right]] = True
        return out


def true_copies(queries: Queries, ids: list[str], ground_truth: str, modality: str, count: int,
                rng: np.random.Generator) -> TrueCopies:
    """Up to ``count`` sampled query intervals of ``modality`` that lie inside a ground-truth copy; the reference
    time maps linearly across the segment pair (speed edits included)."""
    pairs: dict[str, list[Segment]] = {}
    for seg in read_ground_truth_csv(ground_truth):
        pairs.setdefault(Path(seg.query_id).stem, []).append(seg)
    vectors, refs, times = [], [], []
    for video_id, prints in zip(ids, queries.prints, strict=True):
        fp = prints.get(modality)
        if fp is None:
            continue
        for seg in pairs.get(video_id, []):
            inside = np.flatnonzero((fp.t_start >= seg.query_start) & (fp.t_end <= seg.query_end))
            scale = (seg.ref_end - seg.ref_start) / max(seg.query_end - seg.query_start, 1e-9)
            vectors.append(fp.vectors[inside])
            refs += [Path(seg.ref_id).stem] * len(inside)
            times.append(seg.ref_start + (fp.t_start[inside] - seg.query_start) * scale)
    all_vectors = np.concatenate(vectors).astype(np.float32)
    pick = np.sort(rng.choice(len(all_vectors), min(count, len(all_vectors)), replace=False))
    return TrueCopies(all_vectors[pick], np.asarray(refs, dtype=object)[pick], np.concatenate(times)[pick])


def index_facts(store: FingerprintStore, modality: str) -> dict[str, Any]:
    """Rows, index type and partitions of a fingerprints table's ANN index."""
    table = store.fingerprints(modality)
    index = vector_index(table)
    facts: dict[str, Any] = {"rows": table.count_rows(), "index": index.index_type if index else None}
    if index is not None:
        stats = table.index_stats(index.name)
        facts |= {"indexed_rows": stats.num_indexed_rows, "unindexed_rows": stats.num_unindexed_rows}
        partitions = getattr(stats, "num_partitions", None)
        if partitions is None:  # lance's dataset-level statistics name the partitions
            described = table.to_lance().stats.index_stats(index.name)
            partitions = next((ix.get("num_partitions") for ix in described.get("indices", [])
                               if "num_partitions" in ix), None)
        facts["partitions"] = partitions
    return facts


def true_copy_recall(store: FingerprintStore, modality: str, sample: TrueCopies, truth: np.ndarray,
                     args: argparse.Namespace) -> float:
    """Of the sampled true-copy intervals exact search finds, the share the store's ANN search finds too."""
    found = sample.found(knn(store, modality, sample.vectors, args.k), args.tolerance)
    return float((found & truth).sum() / max(truth.sum(), 1))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--store", default=str(BENCH / "scale_1000" / "catalog"))
    parser.add_argument("--query-prints", default=str(BENCH / "scale_1000" / "query_prints"))
    parser.add_argument("--nprobes", type=int, nargs="+", default=[32, 64, 128])
    parser.add_argument("--refine-factor", type=int, nargs="+", default=[10])
    parser.add_argument("--ef", type=int, nargs="+", default=[0], help="IVF_HNSW_* graph search width (0: LanceDB's)")
    parser.add_argument("--recall-queries", type=int, default=300)
    parser.add_argument("--ground-truth", default=str(BENCH / "standard" / "ground_truth.csv"),
                        help="ground truth of the benchmark the queries come from")
    parser.add_argument("--tolerance", type=float, default=1.0, help="seconds off the mapped time still the copy")
    parser.add_argument("--k", type=int, default=SearchOptions.k)
    parser.add_argument("--first-stage-step", type=float, default=SearchOptions.first_stage_step)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", default=None, help="JSON file (default <store>/../search_curve.json)")
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    base = FingerprintStore(IndexOptions(uri=args.store))
    modalities = tuple(sorted(base.snapshot().versions))
    queries, ids = cached_queries(Path(args.query_prints))
    search = SearchOptions(k=args.k, first_stage_step=args.first_stage_step)
    rng = np.random.default_rng(args.seed)
    exact: dict[str, tuple[np.ndarray, Exact]] = {}
    for m in modalities:
        vectors = queries.vectors(m)
        sample = vectors[np.sort(rng.choice(len(vectors), min(args.recall_queries, len(vectors)), replace=False))]
        log.info("%s: exact top-%d of %d query intervals", m, args.k, len(sample))
        exact[m] = sample, exact_top_k(base, m, sample, args.k)
    copies: dict[str, tuple[TrueCopies, np.ndarray]] = {}
    for m in modalities:
        sample = true_copies(queries, ids, args.ground_truth, m, args.recall_queries, rng)
        truth = sample.found(knn(base, m, sample.vectors, args.k, exact=True), args.tolerance)
        copies[m] = sample, truth
        log.info("%s: %d true-copy intervals sampled, exact top-%d holds the copy for %d", m, len(sample.vectors),
                 args.k, int(truth.sum()))
    facts = {m: index_facts(base, m) for m in modalities}
    log.info("catalog %s: %s; queries %.2f h", args.store, facts, queries.hours)
    rows = []
    for refine, ef, nprobes in itertools.product(args.refine_factor, args.ef, args.nprobes):
        store = FingerprintStore(dataclasses.replace(base.opts, nprobes=nprobes, refine_factor=refine or None,
                                                     ef=ef or None))
        started = time.perf_counter()
        knn_s = knn_seconds(store, queries, modalities, search)
        row = {"nprobes": nprobes, "refine_factor": refine, "ef": ef,
               "knn_s_per_query_hour": sum(knn_s.values()) / queries.hours,
               "modalities": {m: {"knn_s_per_query_hour": knn_s[m] / queries.hours,
                                  "true_copy_recall": true_copy_recall(store, m, *copies[m], args),
                                  **recall(store, m, exact[m][0], exact[m][1], args.k)} for m in modalities},
               "wall_s": time.perf_counter() - started}
        rows.append(row)
        print(f"nprobes {nprobes:4d} refine {refine:3d} ef {ef:3d}: "
              f"k-NN {row['knn_s_per_query_hour']:6.1f} s/query-h; "
              + "; ".join(f"{m} true-copy recall {r['true_copy_recall']:.3f} copy recall {r['copy_recall']:.3f} "
                          f"recall@{args.k} {r['recall_at_k']:.3f} "
                          f"({r['knn_s_per_query_hour']:.1f} s)" for m, r in row["modalities"].items()),
              flush=True)
    out = Path(args.out or Path(args.store).parent / "search_curve.json")
    payload = {"machine": {"cpus": os.cpu_count(), "load_average": os.getloadavg()}, "args": vars(args),
               "queries_hours": queries.hours, "index": facts, "rows": rows}
    out.write_text(json.dumps(payload, indent=2, default=str))
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
