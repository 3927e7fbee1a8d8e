#!/usr/bin/env bash
# Fetch openly licensed recorded speech from Debian for training the audio embedder as *content* (speech that
# copies must be found by), beside the music of scripts/fetch_training_audio.sh. The Asterisk telephony
# prompts are read by two professional speakers (English and Spanish: Allison Smith; French: June Wallack),
# CC-BY-SA 3.0, 8 kHz. Each language's prompts are joined in name order
# into tracks of about TRACK_SECONDS, resampled to 16 kHz mono Opus, so that a training view (7 s) spans
# several prompts and the pauses between them. None of this is in ../shared/media, whose LibriSpeech
# utterances are benchmark references and stay interference only.
# Result, outside git: OUT/speech/asterisk-<lang>-NNN.opus and OUT/licences/<package>.copyright.
#
# usage: scripts/fetch_training_speech.sh [OUT]      (default: data/train_audio in this repository)
set -euo pipefail

REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
OUT="$(realpath -m "${1:-$REPO/data/train_audio}")"
LANGS=(en fr es)
TRACK_SECONDS=60
BYTES_PER_SECOND=16000  # the prompts are 8 kHz 16-bit mono PCM

source "$REPO/scripts/lib/debian_fetch.sh"
exit_if_filled "$OUT/speech"
# a system ffmpeg when there is one, else the one avm uses (the imageio-ffmpeg binary; run with avm's Python)
FFMPEG="${FFMPEG:-$(command -v ffmpeg || "${PYTHON:-python}" -c 'from avm.media.tools import ffmpeg_exe; print(ffmpeg_exe())')}"
WORK="$(mktemp -d)"
trap 'rm -rf "$WORK"' EXIT
mkdir -p "$OUT/speech" "$OUT/licences"

fetch_packages "$WORK" "$OUT/licences" $(printf "asterisk-core-sounds-%s-wav " "${LANGS[@]}")
# flush: encode the prompts listed so far for $lang as its next track, then start a new list
flush() {
  [[ -s "$list" ]] || return 0
  n=$((n + 1))
  "$FFMPEG" -nostdin -loglevel error -f concat -safe 0 -i "$list" -ar 16000 -ac 1 -c:a libopus -b:a 48k \
    "$OUT/speech/asterisk-$lang-$(printf %03d "$n").opus"
  : > "$list"; bytes=0; count=$((count + 1))
}
count=0
for lang in "${LANGS[@]}"; do
  n=0 bytes=0 list="$WORK/$lang-list.txt"
  : > "$list"
  while read -r file; do
    echo "file '$file'" >> "$list"
    bytes=$((bytes + $(stat -c %s "$file")))
    (( bytes < TRACK_SECONDS * BYTES_PER_SECOND )) || flush
  done < <(find "$WORK/asterisk-core-sounds-$lang-wav" -type f -name '*.wav' | sort)
  flush
done
echo "wrote $count speech tracks to $OUT/speech (licences in $OUT/licences)"
