"""Exact search of a catalog too small for an ANN index: LanceDB's flat scan vs the same search in memory
(:meth:`avm.index.FingerprintStore.in_memory`), side by side in one run on the study notebooks' cached real
fingerprints (``notebooks/data/<bench>_prints.npz``: the catalogs of ``standard`` and ``hard``, their query files).

For each benchmark and each way of searching: a store built from the cached catalog through AVM's write path,
its calibration (impostor sampling, shared content, null segments: every search of it exact) and the match of
every cached query file as a scan's query stage does, timed; then whether both ways found the same calibration
and the same pairs, value for value. The shipped config, with the shortlist off (``search.shortlist=0``: the
whole catalog is searched, as in the notebooks) and, on ``standard``, shared-content search off (it has none).

Usage:
    python benchmarks/in_memory_search.py [--bench standard hard] [--out FILE.json]
"""

from __future__ import annotations

import argparse
import json
import resource
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "notebooks"))

from study import build_store, calibrated, load, match_all  # noqa: E402

WAYS = {"LanceDB flat scan": ("index.in_memory_max_rows=0",), "in memory": ()}


def cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def measure(bench: str) -> list[dict]:
    cached = load(ROOT / "notebooks" / "data" / f"{bench}_prints.npz")
    base = ("match.calibration.shared_content=false",) if bench == "standard" else ()
    rows, outputs = [], {}
    for way, overrides in WAYS.items():
        cfg, store = build_store(cached.catalog, cached.durations, (*base, *overrides))
        wall, cpu = time.perf_counter(), cpu_seconds()
        calibration = calibrated(cfg, store)
        calibrate_wall, calibrate_cpu = time.perf_counter() - wall, cpu_seconds() - cpu
        cpu = cpu_seconds()
        found, match_wall = match_all(cfg, store, calibration, cached.queries)
        outputs[way] = (calibration.to_json(), sorted(map(repr, found)))
        rows.append({"bench": bench, "search": way, "catalog hours": round(sum(cached.durations.values()) / 3600, 2),
                     "calibrate s": round(calibrate_wall, 1), "calibrate CPU s": round(calibrate_cpu, 1),
                     "match s per query-hour": round(match_wall / cached.query_hours, 1),
                     "match CPU s per query-hour": round((cpu_seconds() - cpu) / cached.query_hours, 1),
                     "pairs": len(found)})
        print(rows[-1], flush=True)
    same = len({json.dumps(o, sort_keys=True, default=str) for o in outputs.values()}) == 1
    for row in rows:
        row["same calibration and pairs"] = same
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--bench", nargs="+", default=["standard", "hard"])
    parser.add_argument("--out", type=Path)
    args = parser.parse_args()
    rows = [row for bench in args.bench for row in measure(bench)]
    header = list(rows[0])
    print("| " + " | ".join(header) + " |\n|" + "---|" * len(header))
    for row in rows:
        print("| " + " | ".join(str(row[h]) for h in header) + " |")
    if args.out:
        args.out.write_text(json.dumps(rows, indent=1))


if __name__ == "__main__":
    main()
