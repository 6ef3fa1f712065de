"""The chat WebSocket against a real server: auth for the life of the socket, 4401 vs 4403."""

from __future__ import annotations

import asyncio
import json
import time

import httpx
import pytest
import websockets
from websockets.exceptions import ConnectionClosed

from agentgpt.security.tokens import TokenIssuer

CUSTOMER = ("session:create", "session:read", "session:write")


async def _session(base: str, token: str) -> str:
    async with httpx.AsyncClient(base_url=base, timeout=10) as http:
        created = await http.post("/v1/sessions", headers={"Authorization": f"Bearer {token}"})
        assert created.status_code == 201, created.text
        return str(created.json()["id"])


def _url(base: str, sid: str) -> str:
    return base.replace("http://", "ws://") + f"/v1/sessions/{sid}/ws"


async def _close_code(base: str, sid: str, token: str) -> int:
    async with websockets.connect(_url(base, sid), subprotocols=["bearer", token]) as ws:  # type: ignore[list-item]
        with pytest.raises(ConnectionClosed) as closed:
            await asyncio.wait_for(ws.recv(), 10)
    assert closed.value.rcvd is not None
    return closed.value.rcvd.code


async def test_the_client_tells_a_bad_token_from_a_missing_scope(
    live_server: str, issuer: TokenIssuer
) -> None:
    sid = await _session(live_server, issuer.issue("ws-scope", CUSTOMER, 600))
    assert await _close_code(live_server, sid, "forged") == 4401
    reader = issuer.issue("ws-scope", ("session:read",), 600)
    assert await _close_code(live_server, sid, reader) == 4403


async def test_a_socket_closes_when_its_token_expires(
    live_server: str, issuer: TokenIssuer
) -> None:
    token = issuer.issue("ws-expiry", CUSTOMER, 3)
    sid = await _session(live_server, token)
    started = time.monotonic()
    async with websockets.connect(_url(live_server, sid), subprotocols=["bearer", token]) as ws:  # type: ignore[list-item]
        await ws.send(json.dumps({"text": "hello"}))
        assert json.loads(await asyncio.wait_for(ws.recv(), 10))["type"] == "turn"
        with pytest.raises(ConnectionClosed) as closed:
            await asyncio.wait_for(ws.recv(), 10)  # nothing sent: the expiry closes it
    assert closed.value.rcvd is not None
    assert closed.value.rcvd.code == 4401
    assert time.monotonic() - started < 6


async def test_a_renewed_token_keeps_the_socket_open(live_server: str, issuer: TokenIssuer) -> None:
    token = issuer.issue("ws-renew", CUSTOMER, 3)
    sid = await _session(live_server, token)
    async with websockets.connect(_url(live_server, sid), subprotocols=["bearer", token]) as ws:  # type: ignore[list-item]
        fresh = issuer.issue("ws-renew", CUSTOMER, 600)
        await ws.send(json.dumps({"type": "renew", "token": fresh}))
        assert json.loads(await asyncio.wait_for(ws.recv(), 10))["type"] == "renewed"
        await asyncio.sleep(4)  # past the first token's expiry
        await ws.send(json.dumps({"text": "still there?"}))
        assert json.loads(await asyncio.wait_for(ws.recv(), 10))["type"] == "turn"
        other = issuer.issue("someone-else", CUSTOMER, 600)
        await ws.send(json.dumps({"type": "renew", "token": other}))
        with pytest.raises(ConnectionClosed) as closed:
            await asyncio.wait_for(ws.recv(), 10)
    assert closed.value.rcvd is not None
    assert closed.value.rcvd.code == 4403
