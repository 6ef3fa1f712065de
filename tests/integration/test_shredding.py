"""Crypto-shredding on the embedded server: a ciphertext recovered from the AOF stays sealed."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from agentgpt import AgentPool, SessionManager
from agentgpt.agents.context import Context
from agentgpt.config.settings import SessionSettings, StoreSettings
from agentgpt.errors import IntegrityError, KeyProviderUnavailable, SessionNotFound
from agentgpt.operations.rewrap import Rewrapper
from agentgpt.security import SessionEncryptor
from agentgpt.store import keys as K
from agentgpt.store import records as R
from agentgpt.store.codec import RecordCodec
from agentgpt.store.context_store import RedisContextStore
from tests.integration.agents_for_tests import EchoAgent


def resp_commands(data: bytes) -> Iterator[list[bytes]]:
    """The commands of an AOF file (RESP arrays of bulk strings)."""
    i = 0
    while i < len(data):
        end = data.index(b"\r\n", i)
        count, i = int(data[i + 1 : end]), end + 2
        args = []
        for _ in range(count):
            end = data.index(b"\r\n", i)
            length, i = int(data[i + 1 : end]), end + 2
            args.append(data[i : i + length])
            i += length + 2
        yield args


def aof_commands(home: Path) -> list[list[bytes]]:
    files = sorted((home / "valkey" / "appendonlydir").glob("*.incr.aof"))
    assert files, "the embedded server writes an AOF"
    return [cmd for f in files for cmd in resp_commands(f.read_bytes())]


async def test_erased_session_cannot_be_decrypted_from_the_aof(tmp_path: Path) -> None:
    home = tmp_path / "home"
    store = RedisContextStore(StoreSettings(), home=str(home))
    enc = SessionEncryptor(
        f"local:{tmp_path / 'keyset.json'}", key_rotation="never", settings=SessionSettings()
    )
    m = SessionManager(store=store, encryption=enc)
    m.agents = AgentPool(EchoAgent, min_ready=1, max_connections=4)  # type: ignore[attr-defined]
    gone, kept = await m.create_session("user-erased"), await m.create_session("user-kept")
    for i in range(3):
        await m.handle(gone.id, f"my account secret {i}")
        await m.handle(kept.id, f"other customer {i}")
    cipher_before = await enc.open_session_key(gone.id, (await store.meta(gone.id))[b"dk"])

    assert await m.erase(gone.id) > 0
    keys = K.session_keys(gone.id)
    history = aof_commands(home)
    ctx_blobs = [c[2] for c in history if c[0].upper() == b"SET" and c[1] == keys.ctx.encode()]
    wrapped = [
        dict(zip(c[2::2], c[3::2], strict=True))[b"dk"]
        for c in history
        if c[0].upper() == b"HSET" and c[1] == keys.meta.encode() and b"dk" in c[2::2]
    ]
    assert len(ctx_blobs) == 3  # the ciphertexts are still on disk ...
    assert all(b"secret" not in blob for blob in ctx_blobs)
    assert any(c[0].upper() == b"DEL" and c[1] == keys.meta.encode() for c in history)
    # ... the cipher that sealed them decrypts them: proof we recovered the real thing.
    plain = cipher_before.decrypt(ctx_blobs[-1], R.associated_data(gone.id, R.KIND_CONTEXT, 3))
    assert RecordCodec().decode(plain, Context).window[-1].user == "my account secret 2"
    del cipher_before

    # Live store and process: no key anywhere.
    client = await store.backend.connect()
    assert [k async for k in client.scan_iter(match=f"ag:{{{gone.id}}}*")] == []
    assert not enc.is_cached(gone.id)
    with pytest.raises(SessionNotFound):
        await m.load_session(gone.id)
    with pytest.raises(IntegrityError, match="no data key"):
        await enc.open_session_key(gone.id, b"")
    survivor = await m.load_session(kept.id)
    with pytest.raises(IntegrityError):  # another session's key does not open it either
        survivor.open(ctx_blobs[-1], R.KIND_CONTEXT, 3, Context)

    # The AOF history also holds the wrapped keyring: retiring its KEK version (after the
    # re-wrap moved every live session off it) puts that copy beyond use as well.
    assert len(wrapped) == 1
    await enc.rotate()
    rewrapper = Rewrapper(store, enc, rate=None)
    await rewrapper.run_once()
    assert 1 not in await rewrapper.census()
    enc.provider.retire(1)
    with pytest.raises(KeyProviderUnavailable, match="KEK version 1"):
        await enc.open_session_key(gone.id, wrapped[0])
    enc.forget(kept.id)
    assert (await m.load_session(kept.id)).version == 3  # live sessions are unaffected
    await store.aclose()
