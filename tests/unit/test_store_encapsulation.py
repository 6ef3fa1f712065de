"""No code outside ``agentgpt.store`` reaches the store's connection (docs/architecture.md).

The import-linter contracts forbid importing redis and the store's connection modules
outside ``agentgpt.store``; this check covers what imports do not show: reaching a
client through attributes (``store.backend.connect()``, the former ``store.client()``
and ``store.guard()``). Data owners use a repository of ``agentgpt.store`` instead.
"""

from __future__ import annotations

import re
from pathlib import Path

import agentgpt

SRC = Path(agentgpt.__file__).parent
RAW_ACCESS = re.compile(r"\.backend\.|\.client\(\)|\bguard\(|\._guard\b")


def _offences() -> list[str]:
    found = []
    for path in sorted(SRC.rglob("*.py")):
        if path.relative_to(SRC).parts[0] == "store":
            continue
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            if RAW_ACCESS.search(line):
                found.append(f"{path.relative_to(SRC)}:{number}: {line.strip()}")
    return found


def test_only_the_store_reaches_its_connection() -> None:
    assert _offences() == []


def test_the_check_sees_raw_access() -> None:
    assert RAW_ACCESS.search("client = await self.store.backend.connect()")
    assert RAW_ACCESS.search("await store.guard(client.get(key))")
    assert not RAW_ACCESS.search('if self.settings.backend == "fast":')
