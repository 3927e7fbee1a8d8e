"""The scores of a scan's pairs, labelled by the benchmark's ground truth: the weakest true pairs per evidence
and every chance pair, to see whether a score threshold could tell them apart.

    python benchmarks/pair_scores.py --bench outputs/bench/hard \
        --matches outputs/bench/hard/compare_vote/avm/scan/matches [--lowest 12]

A pair is true when it overlaps a ground-truth pair of the same query and reference (the metric's assignment);
the latest run of the matches dataset is read.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

from avm.evaluate import read_ground_truth_csv, read_predictions
from avm.evaluate.tables import UNASSIGNED, assign_predictions


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--bench", type=Path, required=True)
    parser.add_argument("--matches", type=Path, required=True, help="a scan's matches Parquet dataset")
    parser.add_argument("--lowest", type=int, default=12, help="weakest true pairs listed per evidence")
    args = parser.parse_args()
    found = read_predictions(args.matches)
    true = assign_predictions(found, read_ground_truth_csv(args.bench / "ground_truth.csv")) != UNASSIGNED
    for evidence in sorted({s.modality for s in found}):
        scores = np.sort([s.score for s, t in zip(found, true, strict=True) if t and s.modality == evidence])
        print(f"{evidence}: {len(scores)} true pairs, the {min(args.lowest, len(scores))} weakest "
              + ", ".join(f"{v:.2f}" for v in scores[:args.lowest]))
    chance = [s for s, t in zip(found, true, strict=True) if not t]
    print(f"{len(chance)} chance pairs:")
    for s in sorted(chance, key=lambda s: -s.score):
        print(f"  {s.query_id} {s.query_start:.1f}-{s.query_end:.1f} ↔ {s.ref_id} {s.ref_start:.1f}-{s.ref_end:.1f} "
              f"{s.modality} speed {s.speed:.2f} score {s.score:.2f}")


if __name__ == "__main__":
    main()
