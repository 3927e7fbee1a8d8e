#!/usr/bin/env bash
# Retrain the shipped audio model avm/models/checkpoints/audio_v2.pt from scratch, exactly as it was made
# (model card: avm/models/checkpoints/audio_v2.md). Two runs of the train job on 2 CPU cores, 80 minutes:
#   1. from seeded weights, 50 min, on music: 64 mel bands up to 4 kHz, noisier views than audio_v1
#      (a mix under 80 % of views at 0–15 dB SNR, half of the mixes coloured noise);
#   2. from stage 1, 30 min, on music and recorded speech (scripts/fetch_training_speech.sh), same views.
# Extra arguments are passed to both runs (e.g. train.loop.device=cuda).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
PY=${PYTHON:-python}
NOISIER=(train.augment.mix=0.8 'train.augment.snr_db=[0.0,15.0]' 'train.augment.mix_kinds=[0.5,0.25,0.25]')
[[ -d data/train_audio/music ]] || bash scripts/fetch_training_audio.sh
[[ -d data/train_audio/speech ]] || bash scripts/fetch_training_speech.sh
"$PY" -m jobs.train train=audio train.name=audio_v3 '+train.params.f_max=4000.0' train.loop.max_minutes=50 \
  "${NOISIER[@]}" "$@"
"$PY" -m jobs.train train=audio train.name=audio_v4 train.init_checkpoint=outputs/train/audio_v3/model.pt \
  'train.data.train=[data/train_audio/music,data/train_audio/speech]' train.loop.max_minutes=30 \
  train.loop.lr=0.001 train.loop.warmup_steps=50 "${NOISIER[@]}" \
  train.export=avm/models/checkpoints/audio_v2.pt "$@"
