"""Idempotent turns through the API: the header, the WebSocket message id, the client SDK."""

from __future__ import annotations

import httpx
from fastapi.testclient import TestClient

from agentgpt.client import AsyncClient
from agentgpt.security.tokens import TokenIssuer
from tests.e2e.test_api import CUSTOMER, assert_problem, auth, new_session


def _total(client: TestClient, headers: dict, sid: str) -> int:
    return int(client.get(f"/v1/sessions/{sid}/turns", headers=headers).json()["total"])


def test_the_same_idempotency_key_returns_the_first_answer(
    client: TestClient, issuer: TokenIssuer
) -> None:
    headers = auth(issuer, "idem-http")
    sid = new_session(client, issuer, "idem-http")
    url = f"/v1/sessions/{sid}/messages"
    keyed = {**headers, "Idempotency-Key": "7b0c5a4e-retry"}
    first = client.post(url, json={"text": "I lost my card"}, headers=keyed)
    again = client.post(url, json={"text": "I lost my card"}, headers=keyed)
    assert first.status_code == again.status_code == 200
    assert again.json() == first.json()
    assert _total(client, headers, sid) == 1
    # Another user cannot use a key to read someone else's answer: the session is hidden.
    stranger = {**auth(issuer, "idem-stranger"), "Idempotency-Key": "7b0c5a4e-retry"}
    assert_problem(client.post(url, json={"text": "x"}, headers=stranger), 404, "session-not-found")
    bad = {**headers, "Idempotency-Key": "has space"}
    assert_problem(client.post(url, json={"text": "x"}, headers=bad), 422, "invalid-input")


def test_a_resent_websocket_message_id_replays(client: TestClient, issuer: TokenIssuer) -> None:
    sid = new_session(client, issuer, "idem-ws")
    token = issuer.issue("idem-ws", CUSTOMER, 600)
    frames = []
    for _ in range(2):  # a reconnect, then the same message again
        with client.websocket_connect(f"/v1/sessions/{sid}/ws",
                                      subprotocols=["bearer", token]) as ws:  # fmt: skip
            ws.send_text('{"text": "what is my balance", "id": "m-1"}')
            frames.append(ws.receive_json())
    assert frames[0] == frames[1]
    assert (frames[0]["type"], frames[0]["id"], frames[0]["seq"]) == ("turn", "m-1", 1)
    assert _total(client, auth(issuer, "idem-ws"), sid) == 1


class LosesFirstAnswer(httpx.AsyncBaseTransport):
    """A network that delivers the first message request but drops its answer."""

    def __init__(self) -> None:
        self.inner = httpx.AsyncHTTPTransport()
        self.dropped = 0

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        """Forward ``request``; the first answer to a message is lost on the way back."""
        response = await self.inner.handle_async_request(request)
        if request.url.path.endswith("/messages") and not self.dropped:
            await response.aread()
            self.dropped += 1
            raise httpx.ReadError("connection reset by peer", request=request)
        return response

    async def aclose(self) -> None:
        """Close the real transport."""
        await self.inner.aclose()


async def test_the_client_retries_a_lost_answer_without_a_second_turn(live_server: str) -> None:
    async with AsyncClient(live_server) as anonymous:
        token = (await anonymous.demo_token("idem-sdk", "customer")).token
    network = LosesFirstAnswer()
    async with httpx.AsyncClient(transport=network) as http:
        client = AsyncClient(live_server, token, http=http)
        session = await client.create_session()
        turn = await client.send(session.id, "I want to increase my card limit")
        assert network.dropped == 1
        assert turn.seq == 1
        assert (await client.turns(session.id)).total == 1
