"""Issue 12: Unicode owners, safe defaults, throttling, erasure of mentions, body limits."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from agentgpt.config.settings import Settings
from agentgpt.errors import ConfigError
from agentgpt.security.tokens import TokenIssuer
from agentgpt.server import create_app
from agentgpt.server.safety import bind_warning
from agentgpt.store import keys as K
from tests.e2e.conftest import make_settings
from tests.e2e.test_api import CUSTOMER, assert_problem, auth, new_session


def test_a_unicode_user_reads_pages_and_erases_their_session(
    client: TestClient, issuer: TokenIssuer
) -> None:
    sid = new_session(client, issuer, "josé")
    owner = auth(issuer, "josé")
    sent = client.post(f"/v1/sessions/{sid}/messages", json={"text": "hola"}, headers=owner)
    assert sent.status_code == 200, sent.text
    decomposed = auth(issuer, "jose\u0301")  # the same user in NFD
    shown = client.get(f"/v1/sessions/{sid}", headers=decomposed)
    assert shown.status_code == 200
    assert shown.json()["owner"] == "josé"
    assert client.get(f"/v1/sessions/{sid}/turns", headers=owner).json()["total"] == 1
    stranger = auth(issuer, "josè")
    for method, path in (("GET", ""), ("GET", "/turns"), ("DELETE", "")):
        found = client.request(method, f"/v1/sessions/{sid}{path}", headers=stranger)
        assert_problem(found, 404, "session-not-found")
    assert client.delete(f"/v1/sessions/{sid}", headers=owner).status_code == 204


def test_the_store_never_holds_the_owner_in_clear(client: TestClient, issuer: TokenIssuer) -> None:
    sid = new_session(client, issuer, "owner-in-clear@example.com")
    services = client.app.state.services  # type: ignore[attr-defined]

    async def meta() -> dict[bytes, bytes]:
        store_client = await services.manager.store.backend.connect()
        found: dict[bytes, bytes] = await store_client.hgetall(K.session_keys(sid).meta)
        return found

    raw = client.portal.call(meta)  # type: ignore[union-attr]
    assert raw[b"oh"].startswith(b"h1:")
    assert not any(b"owner-in-clear" in v for v in raw.values())


@pytest.fixture
def demo_client(standalone_url: str) -> Iterator[TestClient]:
    """An app with demo tokens on and a small rate (2 per address, then 1/s)."""
    settings = make_settings(standalone_url, demo_tokens=True, rate_per_user=1.0, rate_burst=2)
    with TestClient(create_app(settings)) as test_client:
        yield test_client


def test_demo_tokens_are_off_unless_asked_for(client: TestClient) -> None:
    refused = client.post("/v1/demo/token", json={"user": "mallory", "role": "operator"})
    assert_problem(refused, 403, "access-denied")


def test_demo_tokens_never_carry_admin_and_are_rate_limited(demo_client: TestClient) -> None:
    operator = demo_client.post("/v1/demo/token", json={"user": "mallory", "role": "operator"})
    assert operator.status_code == 200
    assert "session:admin" not in operator.json()["scopes"]
    demo_client.post("/v1/demo/token", json={"user": "mallory", "role": "customer"})
    limited = demo_client.post("/v1/demo/token", json={"user": "mallory", "role": "customer"})
    assert_problem(limited, 429, "rate-limited")


@pytest.mark.parametrize(
    "server",
    [
        {"environment": "production", "demo_tokens": True},
        {"demo_tokens": True, "host": "0.0.0.0"},
        {"environment": "production", "host": "0.0.0.0"},
    ],
)
def test_unsafe_configurations_refuse_to_start(standalone_url: str, server: dict) -> None:
    with (
        pytest.raises(ConfigError),
        TestClient(create_app(make_settings(standalone_url, **server))),
    ):
        pass


def test_production_refuses_a_plaintext_store_link() -> None:
    settings = Settings(store_url="redis://10.1.2.3:6379/0", server={"environment": "production"})
    with pytest.raises(ConfigError, match="not encrypted"), TestClient(create_app(settings)):
        pass


def test_plain_http_beyond_loopback_warns_in_one_line() -> None:
    open_bind = Settings(server={"host": "0.0.0.0"})
    warning = bind_warning(open_bind)
    assert warning is not None
    assert "\n" not in warning
    assert "0.0.0.0" in warning
    assert bind_warning(Settings(server={"host": "0.0.0.0", "tls_proxy": True})) is None
    assert bind_warning(Settings()) is None


def test_bad_tokens_are_throttled_per_address(demo_client: TestClient) -> None:
    statuses = [demo_client.get("/v1/sessions/sess_nothing1", headers={
        "Authorization": "Bearer forged"}).status_code for _ in range(4)]  # fmt: skip
    assert statuses[:2] == [401, 401]
    assert 429 in statuses[2:]


def test_retry_after_and_the_detail_agree(demo_client: TestClient, issuer: TokenIssuer) -> None:
    headers = auth(issuer, "impatient")
    answers = [demo_client.get("/v1/sessions/sess_nothing2", headers=headers) for _ in range(4)]
    limited = [a for a in answers if a.status_code == 429]
    assert limited
    for answer in limited:
        seconds = answer.headers["Retry-After"]
        assert f"retry in {seconds}s" in answer.json()["detail"]


def test_erase_removes_auth_failures_and_alert_mentions(
    client: TestClient, issuer: TokenIssuer
) -> None:
    sid = new_session(client, issuer, "flagged-user")
    headers = auth(issuer, "flagged-user")
    for _ in range(3):
        failed = client.post(f"/v1/sessions/{sid}/auth-events",
                             json={"success": False, "method": "otp"}, headers=headers)  # fmt: skip
        assert failed.status_code == 202
    services = client.app.state.services  # type: ignore[attr-defined]

    async def mentions() -> tuple[int, int]:
        store_client = await services.manager.store.backend.connect()
        rows = await store_client.xrange(K.alert_stream_key())
        naming = sum(1 for _, fields in rows if fields.get(b"subject") == sid.encode())
        return int(await store_client.exists(K.auth_failures_key(sid))), naming

    portal = client.portal  # type: ignore[union-attr]
    assert portal.call(mentions) == (1, 1)
    assert client.delete(f"/v1/sessions/{sid}", headers=headers).status_code == 204
    assert portal.call(mentions) == (0, 0)


def _chunks(size: int) -> Iterator[bytes]:
    sent = 0
    while sent < size:
        yield b" " * min(4096, size - sent)
        sent += 4096


def test_oversized_chunked_bodies_get_413_after_the_token_check(
    client: TestClient, issuer: TokenIssuer
) -> None:
    sid = new_session(client, issuer, "chunky")
    url = f"/v1/sessions/{sid}/messages"
    too_big = 70 * 1024  # the default limit is 64 KiB
    owner = {**auth(issuer, "chunky", CUSTOMER), "content-type": "application/json"}
    assert_problem(client.post(url, content=_chunks(too_big), headers=owner), 413,
                   "payload-too-large")  # fmt: skip
    anonymous = {"content-type": "application/json", "Authorization": "Bearer forged"}
    assert_problem(client.post(url, content=_chunks(too_big), headers=anonymous), 401,
                   "invalid-token")  # fmt: skip
