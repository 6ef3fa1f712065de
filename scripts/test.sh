#!/usr/bin/env bash
# The whole test suite: lint, types, then unit + integration + e2e tests on real servers.
# Runs in the active virtual environment, else in .venv (made from the lock by scripts/setup.sh
# on first use); extra arguments go to pytest.
set -euo pipefail
cd "$(dirname "$0")/.."
if [ -z "${VIRTUAL_ENV:-}" ]; then
  [ -x .venv/bin/python ] || bash scripts/setup.sh  # first run: the locked environment
  # shellcheck disable=SC1091
  . .venv/bin/activate
fi
ruff check src tests bench
ruff format --check src
mypy
lint-imports  # the layers of DESIGN.md ([tool.importlinter] in pyproject.toml)
python -m pytest -q "$@"
