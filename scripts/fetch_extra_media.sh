#!/usr/bin/env bash
# Fetch more openly licensed photos for benchmarks that need many distinct visuals (`avm bench make
# bench=standard`): Debian's desktop wallpaper packages, downloaded with `apt-get download` and unpacked with
# `dpkg -x` (nothing is installed). Result, outside git: OUT/photos/*.{jpg,png,webp} (one file per distinct
# picture: no dark/light or resolution variants, no duplicates) and OUT/licences/<package>.copyright.
#
# usage: scripts/fetch_extra_media.sh [OUT]      (default: outputs/extra_media beside this repository)
set -euo pipefail

REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
OUT="$(realpath -m "${1:-$REPO/outputs/extra_media}")"
PACKAGES=(plasma-workspace-wallpapers gnome-backgrounds lomiri-wallpapers-16.04 lomiri-wallpapers-20.04 ukui-wallpapers)
MIN_BYTES=50000  # smaller files are icons or placeholders

source "$REPO/scripts/lib/debian_fetch.sh"
exit_if_filled "$OUT/photos"
WORK="$(mktemp -d)"
trap 'rm -rf "$WORK"' EXIT
mkdir -p "$OUT/photos" "$OUT/licences"

fetch_packages "$WORK" "$OUT/licences" "${PACKAGES[@]}"

# Candidates as "<name> <file>" lines: one picture per wallpaper, its largest light variant.
candidates() {
  local dir
  # Plasma: wallpapers/<Name>/contents/images/<WxH>.<ext> (images_dark/ are variants of the same picture).
  for dir in "$WORK"/plasma-workspace-wallpapers/usr/share/wallpapers/*/contents/images; do
    local name; name="$(basename "$(dirname "$(dirname "$dir")")")"
    echo "plasma-$name $(find "$dir" -maxdepth 1 -type f -printf '%s %p\n' | sort -n | tail -1 | cut -d' ' -f2-)"
  done
  # GNOME: backgrounds/gnome/<name>-l.webp (the -d files are dark variants); SVGs are drawings, skipped.
  find "$WORK"/gnome-backgrounds/usr/share/backgrounds/gnome -maxdepth 1 -type f -name '*-l.*' ! -name '*.svg' \
    -printf 'gnome-%f %p\n'
  # Lomiri and UKUI: plain files in backgrounds/.
  find "$WORK"/lomiri-wallpapers-*/usr/share/backgrounds "$WORK"/ukui-wallpapers/usr/share/backgrounds \
    -maxdepth 1 -type f \( -iname '*.jpg' -o -iname '*.jpeg' -o -iname '*.png' -o -iname '*.webp' \) \
    -printf 'wall-%f %p\n'
}

count=0
while read -r name file; do
  [[ -n "$file" && -f "$file" ]] || continue
  (( $(stat -c %s "$file") >= MIN_BYTES )) || continue
  ext="${file##*.}"
  copy_unique "$file" "$OUT/photos/${name%.*}.${ext,,}" || continue
  count=$((count + 1))
done < <(candidates)
echo "wrote $count photos to $OUT/photos (licences in $OUT/licences)"
