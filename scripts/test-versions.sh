#!/usr/bin/env bash
# Run the whole suite on a fresh resolution instead of the lock (not part of CI's time).
#   bash scripts/test-versions.sh newest   # today's newest releases that pyproject.toml allows
#   bash scripts/test-versions.sh lowest   # the lowest versions of our direct dependencies
# Each run builds its own virtual environment in .venv-<mode>, writes the versions it got to
# .venv-<mode>/resolved.txt and prints the suite's last line; record it in docs/dependencies.md.
set -euo pipefail
cd "$(dirname "$0")/.."
mode="${1:-newest}"
case "$mode" in
  newest) resolution=highest ;;
  lowest) resolution=lowest-direct ;;
  *) echo "usage: $0 newest|lowest" >&2; exit 2 ;;
esac
command -v uv >/dev/null 2>&1 || python3 -m pip install --quiet "uv>=0.5"
venv=".venv-$mode"
resolved="$(mktemp)"
uv pip compile pyproject.toml requirements/build.in --extra dev --python-version 3.11 \
  --resolution "$resolution" --no-header --quiet -o "$resolved"
python3 -m venv --clear "$venv"
uv pip install --quiet --python "$venv/bin/python" -r "$resolved"
uv pip install --quiet --python "$venv/bin/python" --no-deps --no-build-isolation -e .
mv "$resolved" "$venv/resolved.txt"
echo "$mode: $(grep -cE '^[A-Za-z]' "$venv/resolved.txt") packages, see $venv/resolved.txt"
# The tests only: ruff and mypy are tools pinned by the lock, their verdicts are not about
# whether our code runs on these versions.
"$venv/bin/python" -m pytest -q -p no:cacheprovider "${@:2}"
