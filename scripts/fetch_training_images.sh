#!/usr/bin/env bash
# Fetch openly licensed pictures (and a few short videos) from Debian for training the visual embedder
# (`python -m jobs.train train=visual`). Packages are downloaded with `apt-get download` and unpacked with
# `dpkg -x` (nothing is installed); files are kept as published, only de-duplicated by content.
#
# None of these packages is a source of the piracy benchmark (`avm bench make` takes ../shared/media and the
# wallpaper packages listed in EXCLUDED), so training never sees benchmark pictures.
# Result, outside git: OUT/<package>/<file> and OUT/licences/<package>.copyright.
#
# usage: scripts/fetch_training_images.sh [OUT]      (default: data/train_images in this repository)
set -euo pipefail

REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
OUT="$(realpath -m "${1:-$REPO/data/train_images}")"
# package → find(1) path patterns of the pictures/videos to keep (quoted globs, matched against full paths)
declare -A WANT=(
  # landscape, city and nature photos (public domain / CC-BY-SA, Wikimedia Commons, morgue-file) and scenes
  [endless-sky-data]="*/images/land/*.jpg */images/scene/*.jpg"
  # astronomical photographs and photographic landscape panoramas
  [stellarium-data]="*/nebulae/default/*.png */landscapes/*.png */landscapes/*.jpg"
  # computer-vision sample photos and three short videos (the calibration board series is left out)
  [opencv-doc]="*/examples/data/*.jpg */examples/data/*.png */examples/data/*.avi"
  # jigsaw puzzle photos and textures (KDE palapeli)
  [palapeli-data]="*/palapeli/collection/*.jpg */palapeli/backgrounds/*.jpg"
  # painted story art of Battle for Wesnoth campaigns
  [wesnoth-1.16-data]="*/core/images/story/*"
  # painted game backgrounds (cartoon style)
  [supertux-data]="*/images/background/*.jpg */images/background/*.png"
)
# sources of the benchmark's catalog (avm/bench): never fetch them here
EXCLUDED=(plasma-workspace-wallpapers gnome-backgrounds lomiri-wallpapers-16.04 lomiri-wallpapers-20.04 ukui-wallpapers
          mate-backgrounds)
SKIP_NAMES='(^|/)(left|right)[0-9]+\.|chessboard|logo|board\.jpg|digits|alphabet|gradient|mask|ml\.png|pic[0-9]|sudoku|notes\.png|templ|tmpl|ellipses|detect_blob|imageText|text_'
MIN_BYTES=30000  # smaller files are icons, masks and thumbnails
MIN_NEBULA_BYTES=250000  # the larger (richer) of stellarium's ~480 sky photographs, so they do not dominate

source "$REPO/scripts/lib/debian_fetch.sh"
refuse_excluded "${!WANT[*]}" "${EXCLUDED[*]}"
if compgen -G "$OUT/*/*" >/dev/null && [[ -d "$OUT/licences" ]]; then
  echo "$OUT already holds $(find "$OUT" -type f ! -path '*/licences/*' | wc -l) files; delete it to fetch again"
  exit 0
fi
WORK="$(mktemp -d)"
trap 'rm -rf "$WORK"' EXIT

fetch_packages "$WORK" "$OUT/licences" "${!WANT[@]}"
count=0
for pkg in $(printf '%s\n' "${!WANT[@]}" | sort); do
  mkdir -p "$OUT/$pkg"
  read -r -a patterns <<< "${WANT[$pkg]}"
  args=()
  for p in "${patterns[@]}"; do args+=(-o -path "$p"); done
  while read -r file; do
    (( $(stat -c %s "$file") >= MIN_BYTES )) || continue
    [[ "$file" != */nebulae/* ]] || (( $(stat -c %s "$file") >= MIN_NEBULA_BYTES )) || continue
    [[ ! "$file" =~ $SKIP_NAMES ]] || continue
    # keep the folder in the name: several packages reuse file names across folders
    rel="${file#"$WORK/$pkg/"}"
    name="$(echo "$rel" | awk -F/ '{print (NF > 1 ? $(NF-1) "-" : "") $NF}')"
    copy_unique "$file" "$OUT/$pkg/$name" || continue
    count=$((count + 1))
  done < <(find "$WORK/$pkg" -type f \( -false "${args[@]}" \) | sort)
done
echo "wrote $count files to $OUT (licences in $OUT/licences)"
