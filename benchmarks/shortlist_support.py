"""How far the whole catalog supports the pairs a scan found: true copies against chance pairs.

For every pair of a finished scan (the latest run of its ``matches`` Parquet dataset), this script fingerprints
the pair's query file again, searches up to ``search.shortlist_support_samples`` of the pair's query intervals
in the whole catalog of the scan's store, and prints :meth:`avm.match.cascade.CatalogCheck.support`: the share of
them whose ``search.shortlist_support_k`` nearest stored intervals hold the pair's stretch of its reference
(shared content left out as in the scan; the scan checks each modality's pairs before fusion, this script
the fused pairs it is given). Each pair is labelled
by the benchmark's ground truth (true: it overlaps a ground-truth pair of the same query and reference), and the
summary counts, for a grid of ``search.shortlist_support`` values, the true and the chance pairs a scan would keep.

    python benchmarks/shortlist_support.py --bench outputs/bench/hard --run outputs/bench/hard/compare_vote/avm
        [--matches DIR] [--k N] [--out FILE.json]

``--run`` is the scan's output directory (the one that holds ``lancedb`` and ``scan/matches``); ``--matches``
picks another matches dataset scored against that store; ``--k`` searches that many nearest instead of
``search.shortlist_support_k``.
"""

from __future__ import annotations

import argparse
import json
import sys
from dataclasses import replace
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parent))
from scale import compose_job  # noqa: E402

from avm.evaluate import read_ground_truth_csv, read_predictions  # noqa: E402
from avm.evaluate.pairs import strip_video_ext  # noqa: E402
from avm.evaluate.tables import UNASSIGNED, assign_predictions  # noqa: E402
from avm.index import FingerprintStore  # noqa: E402
from avm.match import calibrate_catalog  # noqa: E402
from avm.match.cascade import CatalogCheck  # noqa: E402
from avm.pipeline import ScanConfig  # noqa: E402
from avm.pipeline.inprocess import fingerprint_file  # noqa: E402
from avm.pipeline.stages import fingerprinting_stages  # noqa: E402
from avm.types import Segment  # noqa: E402
from jobs.schemas import register_configs  # noqa: E402

THRESHOLDS = (0.25, 0.33, 0.4, 0.5, 0.6, 0.66, 0.75)


def pair_supports(run: Path, found: list[Segment], queries: dict[str, str], k: int | None = None) -> np.ndarray:
    """Each found pair's catalog support (``k`` nearest; default the scan's)."""
    cfg = compose_job("scan", ScanConfig, [f"paths.output_dir={run}"])
    store = FingerprintStore(cfg.index)
    stages = fingerprinting_stages(cfg.media, cfg.model, cfg.model.query_steps(), cfg.ray.decode, cfg.ray.embed)
    opts = cfg.match.per_modality(cfg.model.modalities)
    tolerance = max(o.align.offset_tolerance for o in opts.values())
    shared = calibrate_catalog(store, opts, cfg.search).shared
    min_videos = {m: o.calibration.shared_min_videos for m, o in opts.items()}
    search = replace(cfg.search, shortlist_support_k=k or cfg.search.shortlist_support_k)
    support = np.full(len(found), np.nan)
    for query_id in sorted({s.query_id for s in found}):
        mine = [i for i, s in enumerate(found) if s.query_id == query_id]
        prints = fingerprint_file(stages, queries[strip_video_ext(query_id)], query_id)
        check = CatalogCheck.of(store, prints, search, shared=shared, shared_min_videos=min_videos)
        support[mine] = check.support([found[i] for i in mine], tolerance)
        print(f"{query_id}: " + ", ".join(f"{found[i].ref_id} {found[i].query_start:.1f}-{found[i].query_end:.1f} "
                                          f"{found[i].modality} support {support[i]:.2f}" for i in mine), flush=True)
    return support


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--bench", type=Path, required=True)
    parser.add_argument("--run", type=Path, required=True)
    parser.add_argument("--matches", type=Path)
    parser.add_argument("--k", type=int, help="nearest stored intervals searched (default search.shortlist_support_k)")
    parser.add_argument("--out", type=Path)
    args = parser.parse_args()
    register_configs()
    queries = {r.video_id: r.uri for r in pd.read_csv(args.bench / "queries.csv").itertuples()}
    found = read_predictions(args.matches or args.run / "scan" / "matches")
    support = pair_supports(args.run, found, queries, args.k)
    frame = pd.DataFrame([s.__dict__ for s in found]).assign(support=support)
    frame["true"] = assign_predictions(found, read_ground_truth_csv(args.bench / "ground_truth.csv")) != UNASSIGNED
    true, chance = frame[frame["true"]], frame[~frame["true"]]
    print(f"\n{len(true)} true pairs: support quantiles 0/5/25/50 % "
          + " / ".join(f"{true['support'].quantile(q):.2f}" for q in (0, 0.05, 0.25, 0.5)))
    print(f"{len(chance)} chance pairs:")
    for r in chance.sort_values("score", ascending=False).itertuples():
        print(f"  {r.query_id} {r.query_start:.1f}-{r.query_end:.1f} ↔ {r.ref_id} {r.ref_start:.1f}-{r.ref_end:.1f} "
              f"{r.modality} speed {r.speed:.2f} score {r.score:.2f} support {r.support:.2f}")
    kept = {t: {"true": int((true["support"] >= t).sum()), "chance": int((chance["support"] >= t).sum())}
            for t in THRESHOLDS}
    print("\nshortlist_support  true kept  chance kept")
    for t, k in kept.items():
        print(f"{t:>17}  {k['true']:>4}/{len(true):<4}  {k['chance']:>4}/{len(chance)}")
    if args.out:
        args.out.write_text(json.dumps({"pairs": frame.to_dict("records"), "kept": kept}, indent=1, default=str))
        print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
