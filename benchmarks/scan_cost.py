"""What one query-hour costs to match against a padded catalog: the cascade's first stage and refinement, in
core-seconds, with the quality of what it finds, for several search settings side by side in one run.

Opens the padded catalog ``benchmarks/scale.py`` left behind (``--store``) and the real query fingerprints it
cached (``--query-prints``), and takes the match thresholds from a calibration of the real catalog the padding
copies (``--calibrate-on``, scale.py's source store; default settings): the padded videos are randomly rotated
copies, more isotropic than real ones, so null queries among them find no chance segment at all and would set
the decision thresholds to nothing (measured: 0 segments in 10 h of null queries at 1,000 h). ``--calibrate-on
''`` calibrates the padded catalog itself instead (shared-content search off: it searches every catalog
video among the others, a cost paid once per new catalog video), which measures what calibration costs at
that size. Then every query file is matched with :func:`avm.match.match_query`, as a scan's query stage does
(one reference lookup kept across files), for each variant (``--variant NAME="Hydra overrides"``; the first
is the default config). The calibration is shared so that the variants differ in their first stage only.

Measured per variant: process CPU seconds (all threads: LanceDB searches on several) and wall seconds per
query-hour, split into the first stage (k-NN of the query intervals ``search.first_stage_step`` apart, after the
segment-vector shortlist with ``search.shortlist``; :func:`avm.match.cascade.candidate_hits`) and the
rest (alignment, refinement against the candidates' stored fingerprints, fusion); the candidate references
read for refinement; with a shortlist, its recall (the share of ground-truth (query, reference) pairs whose
reference the query's shortlist holds: a copy the shortlist drops cannot be found); and the found pairs scored against the ground truth of these query files (final, segment
AP, recall, precision).

Usage:
    python benchmarks/scan_cost.py [--store outputs/bench/scale_1000/catalog]
        [--query-prints outputs/bench/scale_1000/query_prints] [--ground-truth FILE.csv]
        [--calibrate-on outputs/bench/scale/source | ''] [--variant 'step2=search.first_stage_step=2.0' ...]
        [--out FILE.json]
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import resource
import shlex
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
from scale import BENCH, compose_job, table_text  # noqa: E402
from search_curve import cached_queries  # noqa: E402

import avm.match.cascade as cascade_module  # noqa: E402
import avm.match.query as query_module  # noqa: E402
from avm.evaluate import evaluate, read_ground_truth_csv  # noqa: E402
from avm.evaluate.pairs import strip_video_ext  # noqa: E402
from avm.index import FingerprintStore  # noqa: E402
from avm.match import calibrate_catalog, match_query, reference_lookup  # noqa: E402
from avm.match.cascade import shortlist_ready  # noqa: E402
from avm.pipeline import ScanConfig  # noqa: E402
from jobs.schemas import register_configs  # noqa: E402

log = logging.getLogger("scan_cost")
NO_SHARED_SEARCH = "match.calibration.shared_content=false"


def cpu_seconds() -> float:
    """CPU seconds this process has used so far, all its threads."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


@dataclass
class Clock:
    """CPU and wall seconds of one phase, summed over calls."""

    cpu: float = 0.0
    wall: float = 0.0

    @contextmanager
    def __call__(self) -> Iterator[None]:
        cpu, wall = cpu_seconds(), time.perf_counter()
        try:
            yield
        finally:
            self.cpu += cpu_seconds() - cpu
            self.wall += time.perf_counter() - wall


@dataclass
class Timed:
    """The first stage timed on its own while :func:`match_query` runs, and each query's shortlist kept (the
    functions the query and cascade modules call, wrapped for the run and put back after it)."""

    first_stage: Clock = field(default_factory=Clock)
    total: Clock = field(default_factory=Clock)
    query_id: str = ""
    shortlists: dict[str, set[str]] = field(default_factory=dict)

    @contextmanager
    def installed(self) -> Iterator[None]:
        original: Callable[..., Any] = query_module.candidate_hits
        original_shortlist: Callable[..., cascade_module.Shortlist] = cascade_module.shortlist

        def timed(*args: Any, **kwargs: Any) -> Any:
            with self.first_stage():
                return original(*args, **kwargs)

        def kept(*args: Any, **kwargs: Any) -> cascade_module.Shortlist:
            chosen = original_shortlist(*args, **kwargs)
            self.shortlists[self.query_id] = set(chosen.references)
            return chosen

        query_module.candidate_hits, cascade_module.shortlist = timed, kept
        try:
            yield
        finally:
            query_module.candidate_hits, cascade_module.shortlist = original, original_shortlist


def shortlist_recall(shortlists: dict[str, set[str]], truth: list[Any]) -> float | None:
    """Share of the ground-truth (query, reference) pairs whose reference the query's shortlist holds (None when
    nothing was shortlisted)."""
    pairs = {(strip_video_ext(s.query_id), strip_video_ext(s.ref_id)) for s in truth}
    if not shortlists or not pairs:
        return None
    return sum(ref in shortlists.get(query, set()) for query, ref in pairs) / len(pairs)


def parse_variant(text: str) -> tuple[str, list[str]]:
    """``NAME=overrides`` → (name, Hydra overrides)."""
    name, _, overrides = text.partition("=")
    return name, shlex.split(overrides)


def run_variant(name: str, overrides: list[str], args: argparse.Namespace, calibration: Any, queries: Any,
                ids: list[str], truth: list[Any]) -> dict[str, Any]:
    cfg = compose_job("scan", ScanConfig, [f"index.uri={args.store}", f"paths.output_dir={args.store}/..",
                                           *overrides])
    store = FingerprintStore(cfg.index)
    references, timed, found = reference_lookup(store), Timed(), []
    shortlisted = shortlist_ready(store, list(calibration.options), cfg.search)
    with timed.installed():
        for video_id, prints in zip(ids, queries.prints, strict=True):
            timed.query_id = video_id
            with timed.total():
                found += match_query(store, video_id, prints, cfg.search, calibration.options, references,
                                     cfg.match.fuse, calibration.shared, shortlisted=shortlisted)
    hours = queries.hours
    first, total = timed.first_stage, timed.total
    metrics = evaluate(found, truth)
    row = {"variant": name, "overrides": overrides, "shortlisted": shortlisted, "query_hours": hours,
           "first_stage_core_s_per_h": first.cpu / hours, "rest_core_s_per_h": (total.cpu - first.cpu) / hours,
           "total_core_s_per_h": total.cpu / hours, "total_wall_s_per_h": total.wall / hours,
           "first_stage_wall_s_per_h": first.wall / hours, "references_read": references.cache_info().misses,
           "shortlist_recall": shortlist_recall(timed.shortlists, truth),
           "pairs": len(found), **{k: metrics[k] for k in ("final", "segment_ap", "recall", "precision")}}
    log.info("%s: %s", name, json.dumps(row))
    return row


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--store", default=str(BENCH / "scale_1000" / "catalog"))
    parser.add_argument("--query-prints", default=str(BENCH / "scale_1000" / "query_prints"))
    parser.add_argument("--ground-truth", default=str(BENCH / "standard" / "ground_truth.csv"))
    parser.add_argument("--calibrate-on", default=str(BENCH / "scale" / "source"),
                        help="store whose calibration sets the thresholds ('': the padded store itself)")
    parser.add_argument("--variant", action="append", default=[], help="NAME='Hydra overrides' (repeatable)")
    parser.add_argument("--out", default=None, help="JSON file (default <store>/../scan_cost.json)")
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    register_configs()
    variants = [("defaults", [])] + [parse_variant(v) for v in args.variant]
    queries, ids = cached_queries(Path(args.query_prints))
    wanted = set(ids)
    truth = [s for s in read_ground_truth_csv(args.ground_truth) if Path(s.query_id).stem in wanted]

    calibrated_on = args.calibrate_on or args.store
    cfg = compose_job("scan", ScanConfig, [f"index.uri={calibrated_on}", *([] if args.calibrate_on else
                                                                           [NO_SHARED_SEARCH])])
    clock = Clock()
    with clock():
        calibration = calibrate_catalog(FingerprintStore(cfg.index), cfg.match.per_modality(cfg.model.modalities),
                                        cfg.search)
    log.info("calibration of %s: %.0f CPU s, %.0f s; %s", calibrated_on, clock.cpu, clock.wall,
             "; ".join(calibration.lines()))

    rows = [run_variant(name, overrides, args, calibration, queries, ids, truth) for name, overrides in variants]
    header = ["variant", "first stage core-s/h", "rest core-s/h", "total core-s/h", "wall s/h", "refs read",
              "shortlist recall", "pairs", "final", "segment AP", "recall", "precision"]
    print(table_text(header, [[r["variant"], f"{r['first_stage_core_s_per_h']:.1f}", f"{r['rest_core_s_per_h']:.1f}",
                               f"{r['total_core_s_per_h']:.1f}", f"{r['total_wall_s_per_h']:.1f}",
                               str(r["references_read"]),
                               "—" if r["shortlist_recall"] is None else f"{r['shortlist_recall']:.3f}",
                               str(r["pairs"]), f"{r['final']:.3f}",
                               f"{r['segment_ap']:.3f}", f"{r['recall']:.3f}", f"{r['precision']:.3f}"]
                              for r in rows]))
    out = Path(args.out or Path(args.store).parent / "scan_cost.json")
    payload = {"machine": {"cpus": os.cpu_count(), "load_average": os.getloadavg()}, "store": args.store,
               "queries": {"files": len(ids), "hours": queries.hours, "ground_truth_pairs": len(truth)},
               "calibration": {"store": calibrated_on, "cpu_s": clock.cpu, "wall_s": clock.wall,
                               "lines": calibration.lines()},
               "rows": rows}
    out.write_text(json.dumps(payload, indent=2))
    print(f"\nwrote {out}")


if __name__ == "__main__":
    main()
