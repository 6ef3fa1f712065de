"""Where the tests find BANKING77 (never copied into the project)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
BANKING77 = Path(os.environ.get("AGENTGPT_BANKING77", ROOT.parent / "shared/data/banking77"))

needs_banking77 = pytest.mark.skipif(
    not (BANKING77 / "train.csv").is_file(),
    reason=f"BANKING77 not found at {BANKING77} (set AGENTGPT_BANKING77)",
)
