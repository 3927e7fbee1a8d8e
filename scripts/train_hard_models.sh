#!/usr/bin/env bash
# Fine-tune the shipped models for hard pirate edits (issue 12), each an experiment preset in conf/experiment/:
#   1. audio_v3: from avm/models/checkpoints/audio_v2.pt, 25 min on music and recorded speech, with tape speed
#      ±25 %, pitch variants of ±1-4 semitones (tempo kept) and mixes down to -5 dB SNR; exports audio_v3.pt
#      (run directory outputs/train/audio_v5). The first run also makes the new pitch variants of every track
#      (rubberband, cached in outputs/train/cache), which takes extra minutes before training starts.
#   2. visual_v2: from avm/models/checkpoints/visual_v1.pt, 15 min, with picture-in-picture down to 25 % of the
#      area and crops, blur and low-resolution re-encodes stacked more often; exports visual_v2.pt.
# On 2 CPU cores. Extra arguments are passed to both runs (e.g. train.loop.device=cuda). A run that stops part way
# resumes from its run directory when started again.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
PY=${PYTHON:-python}
[[ -d data/train_audio/music ]] || bash scripts/fetch_training_audio.sh
[[ -d data/train_audio/speech ]] || PYTHON="$PY" bash scripts/fetch_training_speech.sh
[[ -d data/train_images/licences ]] || bash scripts/fetch_training_images.sh
"$PY" -m jobs.train +experiment=audio_v3 "$@"
"$PY" -m jobs.train +experiment=visual_v2 "$@"
