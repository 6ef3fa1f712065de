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
    await (await store.client()).flushall()
    m = SessionManager(store=store)
    ids = [(await m.create_session(f"user-{i}")).id for i in range(count)]
    await m.handle(ids[0], "hello")
    await store.aclose()
    return ids


def test_rotate_keys_rotates_and_rewraps_every_session(
    standalone_url: str,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setenv("AGENTGPT_STORE_URL", standalone_url)
    # The session-wide keyset: sessions.key_arn only applies to encryption "kms", so it may
    # hold versions other tests rotated more than the retire grace (60 s) ago, which this
    # command rightly retires (it failed once the suite ran 60 s past such a rotation).
    asyncio.run(_sessions(standalone_url, 5))
    assert main(["security", "rotate-keys", "--json"]) == 0
    first = json.loads(capsys.readouterr().out)
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
