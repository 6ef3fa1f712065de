"""The prekey bundle in the store, on standalone Valkey and on the 3-master cluster (issue 17).

Publish and claim: one identity however many processes start at once, one-time prekeys
handed out once and consumed once (also when claimed concurrently), the signed prekey
rotated and retired, a complete X3DH with what the store gives back.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from agentgpt.errors import PrekeyExpired
from agentgpt.security.key_providers.local import LocalKeyProvider
from agentgpt.security.ratchet import double_ratchet as DR
from agentgpt.security.ratchet import x3dh as X
from agentgpt.security.ratchet.prekeys import Prekeys
from agentgpt.store import keys as K
from agentgpt.store.context_store import RedisContextStore

DAY = 86400.0


@pytest.fixture
def provider(tmp_path: Path) -> LocalKeyProvider:
    """A keyset of this test's own."""
    return LocalKeyProvider(tmp_path / "keyset.json")


@pytest.fixture
async def prekeys(
    store: RedisContextStore, provider: LocalKeyProvider
) -> AsyncIterator[list[Prekeys]]:
    """Three processes' prekey services on one store (background replenishment stopped)."""
    services = [Prekeys(store, provider, DAY, stock=8) for _ in range(3)]
    try:
        yield services
    finally:
        for service in services:
            await service.stop()


async def _handshake(service: Prekeys, bundle: X.PrekeyBundle) -> None:
    """X3DH with the bundle on both sides, then one message each way."""
    handshake, client = X.initiate(bundle, DAY)
    secrets = await service.secrets_for(handshake)
    server = X.respond(handshake, *secrets, DAY)
    client, wire = DR.encrypt(client, b"hello")
    server, text = DR.decrypt(server, wire)
    assert text == b"hello"
    server, wire = DR.encrypt(server, b"hi")
    assert DR.decrypt(client, wire)[1] == b"hi"


async def test_one_identity_however_many_processes_start_at_once(
    prekeys: list[Prekeys],
) -> None:
    identities = await asyncio.gather(*(service.identity() for service in prekeys))
    assert len({identity.sign_public for identity in identities}) == 1
    assert len({identity.dh_private for identity in identities}) == 1
    # Processes starting at once may each publish a signed prekey (the check and the write
    # are not one step); every one is signed by the one identity and completes X3DH on any
    # process.
    bundles = await asyncio.gather(*(service.bundle() for service in prekeys))
    for i, bundle in enumerate(bundles):
        X.verify_bundle(bundle)
        assert bundle.signing_key == X.b64(identities[0].sign_public)
        await _handshake(prekeys[(i + 1) % 3], bundle)


async def test_one_time_prekeys_are_claimed_once_across_processes(
    prekeys: list[Prekeys], store: RedisContextStore
) -> None:
    first, *others = prekeys
    assert await first.replenish() == 8
    assert await first.replenish() == 0  # the stock is full
    # Serving bundles starts each process's background replenishment, which may add keys
    # meanwhile: what holds is that no one-time prekey is handed out twice.
    bundles = await asyncio.gather(*(prekeys[i % 3].bundle() for i in range(10)))
    handed = [b.one_time_prekey.id for b in bundles if b.one_time_prekey is not None]
    assert len(handed) >= 8  # the stock of 8 was there
    assert len(set(handed)) == len(handed)

    # Two processes claim the same one-time prekey at once: exactly one wins.
    with_opk = next(b for b in bundles if b.one_time_prekey is not None)
    handshake, _ = X.initiate(with_opk, DAY)
    results = await asyncio.gather(
        *(service.secrets_for(handshake) for service in others), return_exceptions=True
    )
    assert sum(isinstance(r, tuple) for r in results) == 1
    assert sum(isinstance(r, PrekeyExpired) for r in results) == 1

    # The others complete X3DH on any process; every handed-out key is then consumed.
    for i, bundle in enumerate(b for b in bundles if b is not with_opk):
        await _handshake(prekeys[i % 3], bundle)
    client = await store.backend.connect()
    for prekey_id in handed:
        assert not await client.hexists(K.e2e_one_time_prekeys_key(), str(prekey_id))


async def test_the_signed_prekey_rotates_and_retires(
    store: RedisContextStore, provider: LocalKeyProvider
) -> None:
    rotation = 1.0
    service = Prekeys(store, provider, rotation, stock=4)
    try:
        old = await service.bundle()
        handshake, _ = X.initiate(old, rotation)
        await asyncio.sleep(rotation + 0.1)
        new = await service.bundle()
        assert new.signed_prekey.id != old.signed_prekey.id
        # Accepted for one more period: a client that fetched just before still completes.
        await service.secrets_for(handshake)
        await asyncio.sleep(rotation)
        stale, _ = X.initiate(old, rotation)
        with pytest.raises(PrekeyExpired, match="retired"):
            await service.secrets_for(stale)
        await service.replenish()  # drops the expired one from the store
        client = await store.backend.connect()
        kept = await client.hkeys(K.e2e_signed_prekeys_key())
        assert str(old.signed_prekey.id).encode() not in kept
        await _handshake(service, await service.bundle())
    finally:
        await service.stop()
