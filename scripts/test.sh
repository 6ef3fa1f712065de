#!/usr/bin/env bash
# The whole test suite: lint, types, then unit + integration tests on real Valkey servers.
set -euo pipefail
cd "$(dirname "$0")/.."
ruff check src tests bench
ruff format --check src
mypy
lint-imports  # the layers of DESIGN.md ([tool.importlinter] in pyproject.toml)
python3 -m pytest -q
