"""How far the whole catalog supports the pairs a scan found: true copies against chance pairs.

For every pair of a finished scan (its ``matches`` Parquet dataset, any run), this script fingerprints the pair's
query file again, searches up to :data:`avm.match.cascade.SUPPORT_SAMPLES` of the pair's query intervals in the
whole catalog of the scan's store, and prints :func:`avm.match.cascade.catalog_support`: the share of them whose
``search.shortlist_support_k`` nearest stored intervals hold the pair's stretch of its reference. Each pair is labelled by the
benchmark's ground truth (true: it overlaps a ground-truth pair of the same query and reference), and the summary
counts, for a grid of ``search.shortlist_support`` values, the true and the chance pairs a scan would keep.

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
from pathlib import Path

import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parent))
from scale import compose_job  # noqa: E402

from avm.evaluate import read_ground_truth_csv  # noqa: E402
from avm.evaluate.pairs import strip_video_ext  # noqa: E402
from avm.evaluate.tables import UNASSIGNED, assign_predictions  # noqa: E402
from avm.index import FingerprintStore  # noqa: E402
from avm.match.cascade import catalog_support  # noqa: E402
from avm.pipeline import ScanConfig  # noqa: E402
from avm.pipeline.inprocess import fingerprint_file  # noqa: E402
from avm.pipeline.stages import fingerprinting_stages  # noqa: E402
from avm.types import Segment  # noqa: E402
from jobs.schemas import register_configs  # noqa: E402

THRESHOLDS = (0.25, 0.33, 0.4, 0.5, 0.6, 0.66, 0.75)


def pair_supports(run: Path, matches: Path, queries: dict[str, str], k: int | None = None) -> pd.DataFrame:
    """One row per found pair: its fields and its catalog support (``k`` nearest; default the scan's)."""
    cfg = compose_job("scan", ScanConfig, [f"paths.output_dir={run}"])
    store = FingerprintStore(cfg.index)
    stages = fingerprinting_stages(cfg.media, cfg.model, cfg.model.query_steps(), cfg.ray.decode, cfg.ray.embed)
    tolerance = max(o.align.offset_tolerance for o in cfg.match.per_modality(cfg.model.modalities).values())
    found = [Segment.from_row(r) for r in pd.read_parquet(matches).to_dict("records")]
    rows = []
    for query_id in sorted({s.query_id for s in found}):
        pairs = [s for s in found if s.query_id == query_id]
        prints = fingerprint_file(stages, queries[strip_video_ext(query_id)], query_id)
        support = catalog_support(store, pairs, prints, k or cfg.search.shortlist_support_k, tolerance)
        rows += [{**s.__dict__, "support": float(v)} for s, v in zip(pairs, support, strict=True)]
        print(f"{query_id}: " + ", ".join(f"{s.ref_id} {s.query_start:.1f}-{s.query_end:.1f} {s.modality} "
                                          f"support {v:.2f}" for s, v in zip(pairs, support, strict=True)),
              flush=True)
    return pd.DataFrame(rows)


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
    frame = pair_supports(args.run, args.matches or args.run / "scan" / "matches", queries, args.k)
    truth = read_ground_truth_csv(args.bench / "ground_truth.csv")
    found = [Segment(**{f: r[f] for f in Segment.__dataclass_fields__}) for r in frame.to_dict("records")]
    frame["true"] = assign_predictions(found, truth) != UNASSIGNED
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
