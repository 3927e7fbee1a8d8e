#!/usr/bin/env bash
# Retrain the shipped audio model avm/models/checkpoints/audio_v2.pt from scratch, exactly as it was made
# (model card: avm/models/checkpoints/audio_v2.md). Two runs of the train job on 2 CPU cores, 80 minutes, each an
# experiment preset in conf/experiment/:
#   1. audio_v2_stage1: from seeded weights, 50 min, on music: 64 mel bands up to 4 kHz, noisier views than
#      audio_v1 (a mix under 80 % of views at 0–15 dB SNR, half of the mixes coloured noise);
#   2. audio_v2_stage2: from stage 1, 30 min, on music and recorded speech (scripts/fetch_training_speech.sh),
#      same views; exports audio_v2.pt.
# Extra arguments are passed to both runs (e.g. train.loop.device=cuda).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
PY=${PYTHON:-python}
[[ -d data/train_audio/music ]] || bash scripts/fetch_training_audio.sh
[[ -d data/train_audio/speech ]] || bash scripts/fetch_training_speech.sh
"$PY" -m jobs.train +experiment=audio_v2_stage1 "$@"
"$PY" -m jobs.train +experiment=audio_v2_stage2 "$@"
