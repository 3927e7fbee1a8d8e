#!/usr/bin/env bash
# What each matcher step is worth: one matcher_sweep per row, steps switched on one after another, all on the
# same cached k-NN hits (first: python benchmarks/matcher_sweep.py hits ...), null calibration included.
# Usage: bash benchmarks/matcher_ablation.sh HITS_DIR [BENCH_DIR]
set -euo pipefail
HITS=${1:?usage: matcher_ablation.sh HITS_DIR [BENCH_DIR]}
BENCH=${2:-outputs/bench/standard}
PY=${PYTHON:-python}
sweep() { echo "== $1"; shift; "$PY" benchmarks/matcher_sweep.py sweep --bench "$BENCH" --hits "$HITS" \
            --null-hours 10 --groups standard hard "$@" 2>&1 | grep -A1 final; }
# audio settings of a plain aligner: strict hits, few per line, short gaps, half-copied windows match
PLAIN_AUDIO=(--set match.audio.calibration.hit_quantile=0.99 --set match.audio.align.min_hits=3
             --set match.audio.align.max_gap=4 --set match.audio.align.window_overlap=0.5)
# speed lines of ±10 % (the range before speeds 0.75-1.33 became the default)
SPEED_10=(--set match.align.min_speed=0.9 --set match.align.max_speed=1.1)
sweep "constant offset, no refinement, no recurring-content filter" "${PLAIN_AUDIO[@]}" \
  --set match.align.min_speed=1 --set match.align.max_speed=1 --set match.align.recurring_references=0 \
  --set match.refine.enabled=false
sweep "+ speed lines (±10 %)" "${PLAIN_AUDIO[@]}" "${SPEED_10[@]}" --set match.align.recurring_references=0 \
  --set match.refine.enabled=false
sweep "+ recurring-content filter" "${PLAIN_AUDIO[@]}" "${SPEED_10[@]}" --set match.refine.enabled=false
sweep "+ refinement along each line, cross-modal line support in fusion" "${PLAIN_AUDIO[@]}" "${SPEED_10[@]}" \
  --set match.refine.edge_fraction=0
sweep "+ edges relative to the copy (edge_fraction 0.5)" "${PLAIN_AUDIO[@]}" "${SPEED_10[@]}"
sweep "+ audio settings of conf/match" "${SPEED_10[@]}"
sweep "+ speed lines 0.75-1.33 (= defaults)"
