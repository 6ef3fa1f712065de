"""The store over TLS with client certificates and an ACL user (a TLS-built server)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from agentgpt import SessionManager
from agentgpt.config.settings import StoreSettings
from agentgpt.errors import StoreUnavailable
from agentgpt.store.context_store import RedisContextStore
from tests import servers
from tests.tls_certs import Pki, make_pki

BINARY = servers.tls_server_binary()
pytestmark = pytest.mark.skipif(
    BINARY is None, reason="needs a TLS-built redis-server on PATH (.ci/run installs one)"
)


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> Pki:
    """A CA with a server and a client certificate."""
    return make_pki(tmp_path_factory.mktemp("pki"))


@pytest.fixture(scope="module")
def tls_port(pki: Pki) -> Iterator[int]:
    """A TLS-only server requiring a client certificate and the ACL user ``app``."""
    assert BINARY is not None
    with servers.tls_standalone(BINARY, pki, "app", "s3cret-pass") as port:
        yield port


def _settings(port: int, pki: Pki, **overrides: object) -> StoreSettings:
    values: dict[str, object] = {
        "tls_ca_file": pki.ca, "tls_cert_file": pki.client_cert, "tls_key_file": pki.client_key,
        "username": "app", "password": "s3cret-pass", "connect_timeout": 2.0, "socket_timeout": 2.0,
    }  # fmt: skip
    values.update(overrides)
    return StoreSettings.from_url(f"rediss://localhost:{port}/0", **values)


async def test_turns_over_tls_with_client_certificate_and_acl_user(tls_port: int, pki: Pki) -> None:
    store = RedisContextStore(_settings(tls_port, pki))
    try:
        manager = SessionManager(store=store)
        session = await manager.create_session("user-tls")
        response = await manager.handle(session.id, "what are your opening hours?")
        assert response.reply
        loaded = await manager.load_session(session.id)
        assert loaded.version == 1
        client = await store.backend.connect()
        assert (await client.acl_whoami()) in {b"app", "app"}
    finally:
        await store.aclose()


@pytest.mark.parametrize(
    ("overrides", "why"),
    [
        ({"password": "wrong-password"}, "bad password"),
        ({"tls_cert_file": None, "tls_key_file": None}, "no client certificate"),
        ({"tls_ca_file": Path(__file__)}, "untrusted CA file"),
    ],
)
async def test_refused_connections_raise_store_unavailable(
    tls_port: int, pki: Pki, overrides: dict[str, object], why: str
) -> None:
    store = RedisContextStore(_settings(tls_port, pki, **overrides))
    try:
        with pytest.raises(StoreUnavailable):
            await SessionManager(store=store).create_session("user-tls")
    finally:
        await store.aclose()
