"""The client SDK against a real ``agentgpt serve`` process: round trip and error mapping."""

from __future__ import annotations

import httpx
import pytest

from agentgpt import errors as E
from agentgpt.client import AsyncClient, Turn
from agentgpt.security.tokens import TokenIssuer
from tests.e2e.conftest import start_server, stop_server


async def customer(base: str, user: str) -> AsyncClient:
    """A client holding a development customer token for ``user``."""
    anonymous = AsyncClient(base)
    token = await anonymous.demo_token(user, "customer")
    await anonymous.aclose()
    return AsyncClient(base, token.token)


async def test_round_trip(live_server: str) -> None:
    async with await customer(live_server, "client-alice") as client:
        assert (await client.healthz()).status == "ok"
        assert (await client.readyz()).checks["store"] == "ok"
        created = await client.create_session()
        assert created.owner == "client-alice"
        first = await client.send(created.id, "I forgot my password")
        assert isinstance(first, Turn)
        assert (first.seq, first.topic) == (1, "Password & access")
        second = await client.send(created.id, "Send 50 EUR to DE89 3704 0044 0532 0130 00")
        assert second.seq == 2
        assert "DE89" not in (second.redacted_input or "")
        assert [e.kind for e in second.entities] == ["IBAN"]
        view = await client.get_session(created.id)
        assert [x.seq for x in view.window] == [1, 2]
        page = await client.turns(created.id, offset=1, limit=5)
        assert (page.total, [t.seq for t in page.turns]) == (2, [2])
        auth = await client.report_auth(created.id, success=False, method="otp")
        assert (auth.recorded, auth.recent_failures) == (True, 1)
        await client.erase(created.id)
        with pytest.raises(E.SessionNotFound):
            await client.get_session(created.id)


async def test_monitor_with_an_operator_token(live_server: str) -> None:
    async with AsyncClient(live_server) as anonymous:
        token = await anonymous.demo_token("client-op", "operator")
        snap = await anonymous.with_token(token.token).monitor("5m")
    assert snap.window == "5m"
    assert snap.active_sessions >= 0


async def test_errors_are_raised_as_our_classes_with_the_server_detail(live_server: str) -> None:
    async with await customer(live_server, "client-bob") as client:
        with pytest.raises(E.SessionNotFound, match="does not exist") as missing:
            await client.send("sess_" + "0" * 26, "hello")
        assert missing.value.status == 404
        sid = (await client.create_session()).id
        with pytest.raises(E.MessageTooLarge) as large:
            await client.send(sid, "x" * 20_000)
        assert large.value.status == 413
        with pytest.raises(E.InvalidInput) as invalid:
            await client.report_auth(sid, success=False, method="NOT VALID")
        assert invalid.value.status == 422
        with pytest.raises(E.AccessDenied) as wrong_scope:
            await client.monitor()
        assert wrong_scope.value.status == 403
        with pytest.raises(E.InvalidToken) as bad_token:
            await client.with_token("not-a-token").create_session()
        assert bad_token.value.status == 401


async def test_rate_limit_carries_retry_after(standalone_url: str) -> None:
    base, proc = start_server(standalone_url, AGENTGPT_SERVER__RATE_PER_USER="1",
                              AGENTGPT_SERVER__RATE_BURST="2")  # fmt: skip
    try:
        token = TokenIssuer().issue("client-carol", ("session:create",), 60)
        async with AsyncClient(base, token) as client:
            for _ in range(2):  # the burst
                await client.create_session()
            with pytest.raises(E.RateLimited) as limited:
                await client.create_session()
        assert limited.value.status == 429
        assert limited.value.retry_after >= 1
    finally:
        stop_server(proc)


async def test_transport_errors_are_httpx_errors() -> None:
    async with AsyncClient("http://127.0.0.1:9", timeout=2.0) as client:
        with pytest.raises(httpx.TransportError):
            await client.healthz()
