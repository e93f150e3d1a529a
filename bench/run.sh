#!/usr/bin/env bash
# make bench: install what the suite needs, then run it. BENCH_QUICK=1 for a short run.
set -euo pipefail
cd "$(dirname "$0")/.."
export BENCH_COMMAND="${BENCH_COMMAND:-make bench}"
PY=.venv/bin/python
need=()
command -v wrk >/dev/null || need+=(wrk)
command -v nginx >/dev/null || need+=(nginx-light)
command -v curl >/dev/null || need+=(curl)
if ((${#need[@]})); then
    echo "bench: installing ${need[*]}"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
fi
$PY -c 'import matplotlib, psutil' 2>/dev/null && command -v .venv/bin/py-spy >/dev/null ||
    $PY -m pip install --quiet -e '.[bench]'
if ! bench/scratch/pinnwand-venv/bin/python -c "import pinnwand" 2>/dev/null; then
    echo "bench: installing pinnwand (PyPI) into bench/scratch/"
    python3 -m venv bench/scratch/pinnwand-venv
    bench/scratch/pinnwand-venv/bin/pip install --quiet pinnwand
fi
export PATH="$PWD/.venv/bin:$PATH"
exec $PY -m bench.suite "$@"
