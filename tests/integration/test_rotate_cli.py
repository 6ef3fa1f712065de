"""``agentgpt security rotate-keys`` in-process, against a real Valkey."""

from __future__ import annotations

import asyncio
import json
import stat
from pathlib import Path

import pytest

from agentgpt import SessionManager
from agentgpt.cli.app import main
from agentgpt.store.context_store import RedisContextStore


async def _sessions(url: str, count: int) -> list[str]:
    store = RedisContextStore(url)
    await (await store.backend.connect()).flushall()
    m = SessionManager(store=store)
    ids = [(await m.create_session(f"user-{i}")).id for i in range(count)]
    await m.handle(ids[0], "hello")
    await store.aclose()
    return ids


def test_rotate_keys_rotates_and_rewraps_every_session(
    standalone_url: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setenv("AGENTGPT_STORE_URL", standalone_url)
    # A keyset of its own: the session-wide one may hold versions another test rotated more
    # than the retire grace ago, which this test would then (rightly) retire (test_cli_errors'
    # rotate-keys against a dead store rotates it before it finds the store down). With
    # encryption "local" the keyset is the data directory's (sessions.key_arn is for kms),
    # and the default key managers are cached per data directory: a data directory of its own.
    monkeypatch.setenv("AGENTGPT_HOME", str(tmp_path))
    asyncio.run(_sessions(standalone_url, 5))
    assert main(["security", "rotate-keys", "--json"]) == 0
    first = json.loads(capsys.readouterr().out)
    assert first["kek_before"] == 1  # the fresh keyset, not the session-wide one
    assert first["kek_primary"] == first["kek_before"] + 1
    assert first["rewrapped"] == 5
    assert first["unreadable"] == 0
    # Without rotation, nothing is left to move; a just-superseded version is not retired
    # (other processes may not have reread the keyset yet).
    assert main(["security", "rotate-keys", "--no-rotate", "--retire-before", "1ms", "--json"]) == 0
    second = json.loads(capsys.readouterr().out)
    assert second["current"] == 5
    assert second["rewrapped"] == 0
    assert first["kek_before"] not in second["retired"]
    assert first["kek_primary"] not in second["retired"]


def test_rotate_keys_refuses_when_encryption_is_off(
    standalone_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AGENTGPT_STORE_URL", standalone_url)
    monkeypatch.setenv("AGENTGPT_SESSIONS__ENCRYPTION", "none")
    assert main(["security", "rotate-keys"]) == 78


def test_store_init_creates_the_private_keyset(
    standalone_url: str,
    home: str,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setenv("AGENTGPT_STORE_URL", standalone_url)
    assert main(["session", "store", "init", "--json"]) == 0
    summary = json.loads(capsys.readouterr().out)
    keyset = Path(home) / "keys" / "local-keyset.json"
    assert summary["keys"].startswith(f"local keyset {keyset}")
    assert stat.S_IMODE(keyset.stat().st_mode) == 0o600
