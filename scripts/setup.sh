#!/usr/bin/env bash
# Set-up: a virtual environment in .venv with exactly the locked versions, then the project.
#   bash scripts/setup.sh            # create .venv (or bring it back to the lock)
#   bash scripts/setup.sh --fresh    # throw .venv away first (CI does: a fresh machine)
# requirements/lock.txt pins every direct and transitive dependency with hashes, the build
# backend included; scripts/lock.sh refreshes it.
set -euo pipefail
cd "$(dirname "$0")/.."
venv="${AGENTGPT_VENV:-.venv}"
if [ "${1:-}" = "--fresh" ] || [ ! -x "$venv/bin/python" ]; then
  python3 -m venv --clear "$venv"
fi
# Some machines' pip configuration names extra local indexes that do not exist: pip warns
# once per package. Keep those lines out of the output, keep pip's exit code.
pip_quiet() {
  "$venv/bin/python" -m pip --disable-pip-version-check "$@" \
    2> >(grep -v "^WARNING: Location 'file://" >&2)
}
# --require-hashes: every file installed is the one the lock was made from.
pip_quiet install --quiet --require-hashes --no-deps -r requirements/lock.txt
# The project itself, editable, built with the locked hatchling, touching nothing else.
pip_quiet install --quiet --no-deps --no-build-isolation -e .
pip_quiet check >/dev/null
echo "ready: $venv (activate it with: . $venv/bin/activate)"
