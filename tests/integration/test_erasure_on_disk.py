"""Erasure that holds on disk: after the documented bound, the AOF holds nothing of it."""

from __future__ import annotations

import asyncio
import time
from datetime import timedelta
from pathlib import Path

from agentgpt import AgentPool, SessionManager
from agentgpt.config.settings import SessionSettings, StoreSettings
from agentgpt.errors import IntegrityError
from agentgpt.security import SessionEncryptor
from agentgpt.store import keys as K
from agentgpt.store import records as R
from agentgpt.store.context_store import RedisContextStore
from tests.integration.agents_for_tests import VaultingAgent
from tests.integration.test_shredding import resp_commands

BOUND_S = 60  # docs/security.md: erased sessions leave the embedded store's disk within 60 s
KINDS = (R.KIND_CONTEXT, R.KIND_LOG, R.KIND_VAULT)


def _files(home: Path) -> list[Path]:
    return sorted(p for p in (home / "valkey").rglob("*") if p.suffix in {".aof", ".rdb"})


def _decrypts(cipher: object, sid: str, blob: bytes, turns: int) -> bool:
    for kind in KINDS:
        for version in range(1, turns + 1):
            try:
                cipher.decrypt(blob, R.associated_data(sid, kind, version))  # type: ignore[attr-defined]
            except IntegrityError:
                continue
            return True
    return False


async def test_no_record_of_an_erased_session_survives_on_disk(tmp_path: Path) -> None:
    home = tmp_path / "home"
    settings = StoreSettings(erase_compaction_delay=timedelta(seconds=1))
    store = RedisContextStore(settings, home=str(home))
    enc = SessionEncryptor(
        f"local:{tmp_path / 'keyset.json'}", key_rotation="never", settings=SessionSettings()
    )
    m = SessionManager(store=store, encryption=enc)
    m.agents = AgentPool(VaultingAgent, min_ready=1, max_connections=4)  # type: ignore[attr-defined]
    gone, kept = await m.create_session("user-erased"), await m.create_session("user-kept")
    turns = 3
    for i in range(turns):
        await m.handle(gone.id, f"DE89 3704 0044 0532 0130 0{i}")
        await m.handle(kept.id, f"other customer {i}")
    keys = K.session_keys(gone.id)
    wrapped = (await store.meta(gone.id))[b"dk"]
    cipher = await enc.open_session_key(gone.id, wrapped)
    secrets = [wrapped, await store.read_vault(gone.id, 1), *await store.read_log(gone.id)]
    client = await store.backend.connect()
    secrets.append(await client.get(keys.ctx))
    assert all(secrets)
    on_disk = b"".join(p.read_bytes() for p in _files(home))
    assert all(s in on_disk for s in secrets)  # before the erase: the records are on disk

    await m.erase(gone.id)
    compactor = store.backend.compactor
    assert compactor is not None
    started = time.monotonic()
    await asyncio.wait_for(compactor.settled(), BOUND_S)
    assert compactor.rewrites >= 1
    assert time.monotonic() - started < BOUND_S

    files = _files(home)
    on_disk = b"".join(p.read_bytes() for p in files)
    assert not [s for s in secrets if s in on_disk]
    # Replay every command of the AOF: no argument decrypts as a record of the session.
    for incr in (p for p in files if p.name.endswith(".incr.aof")):
        for command in resp_commands(incr.read_bytes()):
            assert not any(_decrypts(cipher, gone.id, arg, turns) for arg in command)
    assert (await m.load_session(kept.id)).version == turns  # the other session is intact
    await store.aclose()
