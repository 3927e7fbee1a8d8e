"""Why a query's shortlist holds the references it does: each segment's nearest stored segments, and the votes.

Fingerprints one query file, searches its segment vectors among the stored ones of a scan's store (as
:func:`avm.match.cascade.shortlist` does), and prints per modality each segment's ``search.shortlist_neighbours``
nearest stored segments (``*`` marks ``--mark``'s reference), then per ``search.shortlist_window`` the references
with the most votes two ways: by :func:`avm.match.cascade.votes` (how far each stands above the segment's last
hit, the shipped weighting) and by the sum of their best raw similarities (the weighting it replaced).

    python benchmarks/shortlist_votes.py --bench outputs/bench/standard --run outputs/bench/standard/compare_vote/avm \\
        --query q_063 [--mark r_015] [--top 8]
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parent))
from scale import compose_job  # noqa: E402

from avm.index import FingerprintStore, knn  # noqa: E402
from avm.match.cascade import votes  # noqa: E402
from avm.pipeline import ScanConfig  # noqa: E402
from avm.pipeline.inprocess import fingerprint_file  # noqa: E402
from avm.pipeline.stages import fingerprinting_stages  # noqa: E402
from jobs.schemas import register_configs  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--bench", type=Path, required=True)
    parser.add_argument("--run", type=Path, required=True, help="the scan's output directory (holds lancedb)")
    parser.add_argument("--query", required=True, help="a query id of the benchmark's queries.csv")
    parser.add_argument("--mark", default="", help="a reference to mark with * (e.g. the true one)")
    parser.add_argument("--top", type=int, default=8, help="references printed per window and weighting")
    args = parser.parse_args()
    register_configs()
    cfg = compose_job("scan", ScanConfig, [f"paths.output_dir={args.run}"])
    store = FingerprintStore(cfg.index)
    stages = fingerprinting_stages(cfg.media, cfg.model, cfg.model.query_steps(), cfg.ray.decode, cfg.ray.embed)
    uri = {r.video_id: r.uri for r in pd.read_csv(args.bench / "queries.csv").itertuples()}[args.query]
    window = cfg.search.shortlist_window

    def named(video_id: str) -> str:
        return f"*{video_id}" if video_id == args.mark else video_id

    for modality, fp in fingerprint_file(stages, uri, args.query).items():
        if not len(fp):
            continue
        segments = fp.segments(store.opts.segment_window)
        hits = knn(store, modality, segments.vectors, cfg.search.shortlist_neighbours, segments=True)
        print(f"== {modality}: {len(segments)} segments, each with its nearest stored segments")
        for i in range(len(segments)):
            mine = np.flatnonzero(hits.query_index == i)
            mine = mine[np.argsort(-hits.similarity[mine])]
            print(f"{segments.t_start[i]:7.1f} s  " + " ".join(
                f"{named(hits.video_id[j])}:{hits.similarity[j]:.3f}" for j in mine))
        for title, counts in (("votes above each segment's last hit (shipped)", votes(hits, segments.t_start, window)),
                              ("sum of raw best similarities", votes(hits, segments.t_start, window, above_background=False))):
            print(f"-- {title}, per {window:g} s window")
            for w, tally in sorted(counts.items()):
                print(f"  {w * window:6.0f} s  " + "  ".join(f"{named(v)} {c:.3f}" for v, c in tally.most_common(args.top)))


if __name__ == "__main__":
    main()
