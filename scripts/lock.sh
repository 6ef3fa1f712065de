#!/usr/bin/env bash
# Refresh requirements/lock.txt: every dependency of the project and its dev extra, pinned
# with hashes for every platform (uv's universal resolution), for Python 3.11.
#   bash scripts/lock.sh                   # add what pyproject.toml gained, keep other pins
#   bash scripts/lock.sh --upgrade         # move everything to the newest allowed versions
#   bash scripts/lock.sh --upgrade-package starlette   # move one package only
# Then: bash scripts/setup.sh && bash scripts/test.sh, and commit the lock with the change.
set -euo pipefail
cd "$(dirname "$0")/.."
command -v uv >/dev/null 2>&1 || python3 -m pip install --quiet "uv>=0.5"
uv pip compile pyproject.toml requirements/build.in --extra dev --universal \
  --python-version 3.11 --generate-hashes --no-header --quiet \
  -o requirements/lock.txt "$@"
echo "requirements/lock.txt: $(grep -c '^[A-Za-z]' requirements/lock.txt) packages"
