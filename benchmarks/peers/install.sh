#!/usr/bin/env bash
# Install the peers' tools (optional: AVM itself never needs them):
#   fpcalc (Chromaprint)  Debian's libchromaprint-tools
#   pdqhash (PDQ)         the `peers` extra; an sdist, compiled here (needs g++ and the Python headers)
# Usage: benchmarks/peers/install.sh   (PYTHON=path/to/python to pick the environment; default .venv, else python3)
set -euo pipefail
cd "$(dirname "$0")/../.."

SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
PYTHON="${PYTHON:-$( [ -x .venv/bin/python ] && echo .venv/bin/python || echo python3 )}"

DEBS="libchromaprint-tools"
command -v g++ >/dev/null || DEBS="$DEBS g++"
"$PYTHON" -c 'import sysconfig, os, sys; sys.exit(not os.path.exists(os.path.join(sysconfig.get_paths()["include"], "Python.h")))' \
  || DEBS="$DEBS python3-dev"
$SUDO apt-get update -q
# shellcheck disable=SC2086
$SUDO apt-get install -y -q $DEBS

"$PYTHON" -m pip install -q -e '.[peers]'

fpcalc -version
"$PYTHON" -c 'import pdqhash; print("pdqhash", pdqhash.__version__)'
