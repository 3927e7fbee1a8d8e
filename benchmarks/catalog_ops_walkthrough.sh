#!/usr/bin/env bash
# The catalog operations end to end on the demo media: ingest, stats, a reindex to audio_v1 while a scan runs,
# the swap, a rollback, and a takedown followed by a scan of the pirated copies.
#   bash benchmarks/catalog_ops_walkthrough.sh [media_dir=outputs/demo/media] [out=outputs/bench/ops]
set -uo pipefail
MEDIA=${1:-outputs/demo/media}
OUT=${2:-outputs/bench/ops}
AVM=${AVM:-.venv/bin/avm}
rm -rf "$OUT" && mkdir -p "$OUT"
COMMON=(index.uri="$OUT/db" paths.output_dir="$OUT")
V1=avm/models/checkpoints/audio_v1.pt
step() { echo; echo "\$ avm $*"; }
pairs() { python3 -c "import csv,sys; rows=list(csv.DictReader(open(sys.argv[1]))); print(len(rows), 'pairs; with r_001:', sum(r['ID-license']=='r_001' for r in rows))" "$1"; }

step ingest input="$MEDIA/refs"; $AVM ingest input="$MEDIA/refs" "${COMMON[@]}" 2>/dev/null
step stats; $AVM stats "${COMMON[@]}" 2>/dev/null
step "scan queries=$MEDIA/queries   (in the background)   +   avm reindex model.audio.checkpoint=$V1"
$AVM scan queries="$MEDIA/queries" output_dir="$OUT/scan_during" "${COMMON[@]}" > "$OUT/scan_during.log" 2>&1 &
SCAN=$!
$AVM reindex model.audio.checkpoint=$V1 model.audio.projection=null "${COMMON[@]}" 2>/dev/null
wait $SCAN; echo "scan that ran during the reindex: exit $?"; grep -E "^scan " "$OUT/scan_during.log"; pairs "$OUT/scan_during/matches.csv"
step stats; $AVM stats "${COMMON[@]}" 2>/dev/null | grep -E "active|fingerprints_"
step scan queries=... '(default model: not the catalog'"'"'s any more)'; $AVM scan queries="$MEDIA/queries" "${COMMON[@]}" 2>&1 | tail -1; echo "exit ${PIPESTATUS[0]}"
step scan queries=... model.audio.checkpoint=$V1; $AVM scan queries="$MEDIA/queries" model.audio.checkpoint=$V1 model.audio.projection=null output_dir="$OUT/scan_v1" "${COMMON[@]}" 2>/dev/null | grep -E "^scan "; pairs "$OUT/scan_v1/matches.csv"
step reindex action=rollback; $AVM reindex action=rollback "${COMMON[@]}" 2>/dev/null
step scan queries=...; $AVM scan queries="$MEDIA/queries" output_dir="$OUT/scan_back" "${COMMON[@]}" 2>/dev/null | grep -E "^scan "; pairs "$OUT/scan_back/matches.csv"
step delete ids=[r_001] reason='"licence ended"'; $AVM delete ids=[r_001] reason="licence ended" "${COMMON[@]}" 2>/dev/null
step scan queries=...; $AVM scan queries="$MEDIA/queries" output_dir="$OUT/scan_after_delete" "${COMMON[@]}" 2>/dev/null | grep -E "^scan "; pairs "$OUT/scan_after_delete/matches.csv"
step stats; $AVM stats "${COMMON[@]}" 2>/dev/null
