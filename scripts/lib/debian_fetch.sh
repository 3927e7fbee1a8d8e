# Shared steps of the scripts that fetch openly licensed media from Debian packages (sourced, not run):
# download with `apt-get download` and unpack with `dpkg -x` (nothing is installed), keep each package's
# copyright file, and copy files de-duplicated by content.

# refuse_excluded "PKG..." "EXCLUDED...": exit if a package to fetch is one the benchmark uses.
refuse_excluded() {
  local pkg bad
  for pkg in $1; do
    for bad in $2; do
      [[ "$pkg" != "$bad" ]] || { echo "refusing benchmark package $pkg" >&2; exit 1; }
    done
  done
}

# exit_if_filled DIR: stop the script (successfully) when DIR already holds files: fetched before.
exit_if_filled() {
  if compgen -G "$1/*" >/dev/null; then
    echo "$1 already holds $(ls "$1" | wc -l) files; delete it to fetch again"
    exit 0
  fi
}

# fetch_packages WORK LICENCES PKG...: unpack every package into WORK/<package>/ and copy its copyright file to
# LICENCES/<package>.copyright.
fetch_packages() {
  local work="$1" licences="$2" deb pkg
  shift 2
  mkdir -p "$work" "$licences"
  (cd "$work" && { apt-get download "$@" 2>/dev/null || { apt-get update -q >/dev/null && apt-get download "$@"; }; })
  for deb in "$work"/*.deb; do
    pkg="$(dpkg-deb -f "$deb" Package)"
    dpkg -x "$deb" "$work/$pkg"
    cp "$work/$pkg/usr/share/doc/$pkg/copyright" "$licences/$pkg.copyright" 2>/dev/null || true
  done
}

# copy_unique SRC DEST: copy unless a file with the same content was copied before (by this shell); returns 1
# for a duplicate.
declare -A COPIED_SUMS
copy_unique() {
  local sum
  sum="$(md5sum "$1" | cut -d' ' -f1)"
  [[ -z "${COPIED_SUMS[$sum]:-}" ]] || return 1
  COPIED_SUMS[$sum]=1
  cp "$1" "$2"
}
