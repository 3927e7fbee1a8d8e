#!/usr/bin/env bash
# Fetch openly licensed game soundtracks from Debian for training the audio embedder (`python -m jobs.train`).
# Packages are downloaded with `apt-get download` and unpacked with `dpkg -x` (nothing is installed); files are
# kept as published (Ogg Vorbis / MP3), only de-duplicated. None of these packages is among the benchmark's
# references (warzone2100-music and singularity-music, which ../shared/media holds), so training never sees
# benchmark content. Result, outside git: OUT/music/<package>-<file> and OUT/licences/<package>.copyright.
#
# usage: scripts/fetch_training_audio.sh [OUT]      (default: data/train_audio in this repository)
set -euo pipefail

REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
OUT="$(realpath -m "${1:-$REPO/data/train_audio}")"
# orchestral (wesnoth), ambient/world (hyperrogue), electronic/rock (nexuiz), cartoon (planetblupi),
# adventure-game score (drascula), rock (asc): about 6 h of music in all.
PACKAGES=(wesnoth-1.16-music hyperrogue-music nexuiz-music planetblupi-music-ogg drascula-music asc-music)
EXCLUDED=(warzone2100-music singularity-music)  # benchmark references: never fetch them here
MIN_BYTES=200000  # smaller files are jingles or sound effects

source "$REPO/scripts/lib/debian_fetch.sh"
refuse_excluded "${PACKAGES[*]}" "${EXCLUDED[*]}"
exit_if_filled "$OUT/music"
WORK="$(mktemp -d)"
trap 'rm -rf "$WORK"' EXIT
mkdir -p "$OUT/music" "$OUT/licences"

fetch_packages "$WORK" "$OUT/licences" "${PACKAGES[@]}"
count=0
for pkg in "${PACKAGES[@]}"; do
  # Quake-style .pk3 archives (nexuiz) are zip files holding the soundtrack.
  find "$WORK/$pkg" -name '*.pk3' -exec unzip -q -o -d "$WORK/$pkg/pk3" {} \;
  # Music lives in music/, cdtracks/ or (drascula) audio/; language folders there repeat the same tracks.
  while read -r file; do
    (( $(stat -c %s "$file") >= MIN_BYTES )) || continue
    copy_unique "$file" "$OUT/music/$pkg-$(basename "$file")" || continue
    count=$((count + 1))
  done < <(find "$WORK/$pkg" -type f \( -path '*/music/*' -o -path '*/cdtracks/*' -o -path '*/drascula/audio/*' \) \
             \( -iname '*.ogg' -o -iname '*.mp3' -o -iname '*.opus' -o -iname '*.flac' \) | sort)
done
echo "wrote $count tracks to $OUT/music (licences in $OUT/licences)"
