"""The AWS KMS provider with the real boto3 client against moto's KMS server on loopback.

moto's server mode is the one allowed stand-in (AWS is unreachable from here); everything
else is real: boto3, the HTTP calls, Valkey and AES-GCM.
"""

from __future__ import annotations

import json
import stat
from collections.abc import Iterator
from pathlib import Path

import boto3
import pytest
from moto.server import ThreadedMotoServer

from agentgpt import AgentPool, SessionManager
from agentgpt.config.settings import KmsSettings, SessionSettings
from agentgpt.errors import KeyProviderUnavailable
from agentgpt.operations.rewrap import Rewrapper
from agentgpt.security import SessionEncryptor
from agentgpt.store import keys as K
from agentgpt.store.context_store import RedisContextStore
from tests.integration.agents_for_tests import EchoAgent
from tests.servers import free_port

REGION = "eu-west-1"


@pytest.fixture
def kms_server(monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[ThreadedMotoServer, str, str]]:
    """A moto KMS server on a free loopback port and one symmetric key: (server, url, arn)."""
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN"):
        monkeypatch.setenv(name, "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", REGION)
    port = free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    url = f"http://127.0.0.1:{port}"
    arn = boto3.client("kms", region_name=REGION, endpoint_url=url).create_key()["KeyMetadata"][
        "Arn"
    ]
    try:
        yield server, url, arn
    finally:
        server.stop()


def settings_for(url: str, arn: str, keyset: Path, cache_ttl: str = "5m") -> SessionSettings:
    kms = KmsSettings(keys={"eu-1a": arn}, region=REGION, endpoint_url=url,
                      keyset_path=keyset, cache_ttl=cache_ttl)  # fmt: skip
    return SessionSettings(encryption="kms", key_arn="aws:kms:eu-1a", kms=kms)


def manager(store: RedisContextStore, enc: SessionEncryptor) -> SessionManager:
    m = SessionManager(store=store, encryption=enc)
    m.agents = AgentPool(EchoAgent, min_ready=1, max_connections=4)  # type: ignore[attr-defined]
    return m


async def test_kms_round_trip_rotation_and_rewrap(
    standalone_store: RedisContextStore,
    kms_server: tuple[ThreadedMotoServer, str, str],
    tmp_path: Path,
) -> None:
    _, url, arn = kms_server
    settings = settings_for(url, arn, tmp_path / "kms-keyset.json")
    enc = SessionEncryptor("aws:kms:eu-1a", settings=settings)  # the guide's short form
    m = manager(standalone_store, enc)
    session = await m.create_session("user-kms")
    await m.handle(session.id, "kept under KMS")
    keyset = tmp_path / "kms-keyset.json"
    assert stat.S_IMODE(keyset.stat().st_mode) == 0o600
    doc = json.loads(keyset.read_text())
    assert doc["provider"] == "aws-kms"
    assert doc["kms_key_id"] == arn
    # A fresh process (no cached KEK) opens the session through KMS Decrypt.
    fresh = manager(standalone_store, SessionEncryptor("aws:kms:eu-1a", settings=settings))
    assert (await fresh.load_session(session.id)).context.window[0].user == "kept under KMS"
    assert (await enc.rotate()).id == 2
    report = await Rewrapper(standalone_store, enc, rate=None).run_once()
    assert report.rewrapped == 1
    client = await standalone_store.backend.connect()
    assert enc.kek_ids(session.id, await client.hget(K.session_keys(session.id).meta, "dk")) == {2}
    again = manager(standalone_store, SessionEncryptor("aws:kms:eu-1a", settings=settings))
    assert (await again.load_session(session.id)).version == 1


async def test_unreachable_kms_refuses_and_writes_nothing(
    standalone_store: RedisContextStore,
    kms_server: tuple[ThreadedMotoServer, str, str],
    tmp_path: Path,
) -> None:
    server, url, arn = kms_server
    settings = settings_for(url, arn, tmp_path / "kms-keyset.json", cache_ttl="1ms")
    warm = manager(standalone_store, SessionEncryptor("aws:kms:eu-1a", settings=settings))
    await warm.create_session("user-before")
    client = await standalone_store.backend.connect()
    keys_before = await client.dbsize()
    server.stop()

    cold = manager(standalone_store, SessionEncryptor("aws:kms:eu-1a", settings=settings))
    with pytest.raises(KeyProviderUnavailable, match=r"127\.0\.0\.1.*endpoint"):
        await cold.create_session("user-during-outage")
    # The process that had the KEK cached loses it after cache_ttl: it refuses too.
    with pytest.raises(KeyProviderUnavailable):
        await warm.create_session("user-during-outage")
    assert await client.dbsize() == keys_before
    first_use = settings_for(url, arn, tmp_path / "never-created.json")
    with pytest.raises(KeyProviderUnavailable):
        await manager(standalone_store, SessionEncryptor(settings=first_use)).create_session("u1")
    assert not (tmp_path / "never-created.json").exists()
    assert await client.dbsize() == keys_before
