"""Where agentgpt keeps its local files (embedded store, keysets, cached models)."""

from __future__ import annotations

import os
from pathlib import Path

import platformdirs

#: Environment variable naming the data directory; overrides the platform default.
HOME_ENV = "AGENTGPT_HOME"


def data_home() -> Path:
    """Return the data directory: ``$AGENTGPT_HOME`` or the user's data dir for agentgpt."""
    configured = os.environ.get(HOME_ENV)
    path = Path(configured) if configured else Path(platformdirs.user_data_dir("agentgpt"))
    return path.expanduser()


def ensure_dir(path: Path, mode: int = 0o700) -> Path:
    """Create ``path`` (private to the user by default) if missing and return it."""
    path.mkdir(parents=True, exist_ok=True, mode=mode)
    return path
