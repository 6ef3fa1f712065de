"""``AsyncClient``: the HTTP API of ``agentgpt serve`` as typed async methods."""

from __future__ import annotations

import asyncio
import random
import uuid
from datetime import timedelta
from types import TracebackType
from typing import Any, Literal, Self, TypeVar, cast

import httpx
import msgspec
from pydantic import BaseModel

from agentgpt.client.end_to_end import ClientRatchets
from agentgpt.client.models import (
    AuthResult,
    EncryptedTurn,
    Health,
    SessionInfo,
    SessionView,
    Snapshot,
    Token,
    Turn,
    TurnsPage,
)
from agentgpt.client.problems import raise_for_problem
from agentgpt.errors import InvalidInput, StoreError

T = TypeVar("T")
Window = Literal["5m", "15m", "1h", "24h", "7d"]


class AsyncClient:
    """A keep-alive client of one service; errors raise the matching ``agentgpt.errors``.

    Transport failures (connection refused, timeouts) raise ``httpx.TransportError``.
    ``send`` retries them, and 503s, by itself: its idempotency key makes that safe.
    """

    def __init__(
        self,
        base_url: str,
        token: str | None = None,
        *,
        timeout: float = 30.0,
        http: httpx.AsyncClient | None = None,
        end_to_end: bool = False,
        key_rotation: str | timedelta = "daily",
        identity_key: str | None = None,
        retries: int = 5,
        retry_backoff: float = 0.1,
    ) -> None:
        """Talk to ``base_url`` with ``token``; pass ``http`` to share a connection pool.

        ``end_to_end=True``: sessions this client creates speak the double ratchet (issue
        17): messages and answers cross the network and the service's HTTP layer encrypted.
        ``identity_key``: the deployment's end-to-end signing key to require (from
        ``agentgpt security e2e-identity``); without it the first bundle's key is pinned
        (``client.ratchets.pinned``) and any other refused with ``IdentityKeyChanged``.
        ``retries``: how many times ``send`` retries a connection error or a 503, waiting
        ``retry_backoff`` seconds doubled at each attempt (with jitter, at most 2 s).
        """
        self.base_url = base_url.rstrip("/")
        self.token = token
        self.retries = retries
        self.retry_backoff = retry_backoff
        self._owned = http is None
        self._http = http or httpx.AsyncClient(timeout=timeout)
        self.ratchets = ClientRatchets(key_rotation, identity_key) if end_to_end else None

    async def __aenter__(self) -> Self:
        """Use as ``async with AsyncClient(...) as client``."""
        return self

    async def __aexit__(
        self, et: type[BaseException] | None, e: BaseException | None, tb: TracebackType | None
    ) -> None:
        """Close the connection pool if this client created it."""
        await self.aclose()

    async def aclose(self) -> None:
        """Close the connection pool if this client created it."""
        if self._owned:
            await self._http.aclose()

    def with_token(self, token: str) -> AsyncClient:
        """A client for another caller sharing this one's connection pool."""
        return AsyncClient(
            self.base_url,
            token,
            http=self._http,
            retries=self.retries,
            retry_backoff=self.retry_backoff,
        )

    # --- sessions ---------------------------------------------------------------------

    async def create_session(self) -> SessionInfo:
        """Create a session owned by the token's user (and run the handshake, end to end)."""
        info = await self._call("POST", "/v1/sessions", SessionInfo)
        if self.ratchets is not None:
            await self.handshake(info.id)
        return info

    async def handshake(self, session_id: str) -> None:
        """Run X3DH against the service's prekey bundle for ``session_id``."""
        if self.ratchets is None:
            raise InvalidInput("create the client with end_to_end=True")
        bundle = await self._request("GET", "/v1/e2e/bundle")
        handshake = self.ratchets.start(session_id, bundle.content)
        body = {
            "protocol": "double_ratchet",
            "key_rotation": str(self.ratchets.key_rotation),
            "handshake": msgspec.to_builtins(handshake),
        }
        await self._request("POST", f"/v1/sessions/{session_id}/e2e", json=body)

    async def send(
        self,
        session_id: str,
        text: str,
        on_busy: Literal["queue", "reject"] = "queue",
        *,
        idempotency_key: str | None = None,
    ) -> Turn:
        """Send one message; ``on_busy="reject"`` fails with a ``LockError`` instead of waiting.

        The message carries an idempotency key (a new UUID unless given), so the retries
        after a lost answer or a 503 return the first answer instead of a second turn.
        In an end-to-end session the message is encrypted once and the same ciphertext
        retried (a replayed answer comes encrypted with the ratchet's next key).
        """
        if self.ratchets is not None and session_id in self.ratchets:
            return await self.send_encrypted(
                session_id,
                self.ratchets.encrypt(session_id, text),
                on_busy,
                idempotency_key=idempotency_key,
            )
        return await self._post_turn(session_id, {"text": text}, Turn, on_busy, idempotency_key)

    async def send_encrypted(
        self,
        session_id: str,
        wire: str,
        on_busy: Literal["queue", "reject"] = "queue",
        *,
        idempotency_key: str | None = None,
    ) -> Turn:
        """Send a message already encrypted with ``ratchets.encrypt``; decrypt the answer."""
        if self.ratchets is None:
            raise InvalidInput("create the client with end_to_end=True")
        answer = await self._post_turn(
            session_id, {"e2e": wire}, EncryptedTurn, on_busy, idempotency_key
        )
        return self.ratchets.decrypt_turn(session_id, answer.e2e)

    async def _post_turn(
        self,
        session_id: str,
        body: dict[str, str],
        model: type[T],
        on_busy: Literal["queue", "reject"],
        idempotency_key: str | None,
    ) -> T:
        """POST one message with an idempotency key, retrying connection errors and 503s."""
        params = {"on_busy": on_busy} if on_busy != "queue" else None
        headers = {"Idempotency-Key": idempotency_key or str(uuid.uuid4())}
        for attempt in range(self.retries + 1):
            try:
                return await self._call(
                    "POST",
                    f"/v1/sessions/{session_id}/messages",
                    model,
                    json=body,
                    params=params,
                    headers=headers,
                )
            except (httpx.TransportError, StoreError):
                if attempt == self.retries:
                    raise
                cap = min(2.0, self.retry_backoff * 2**attempt)
                await asyncio.sleep(random.uniform(cap / 2, cap))
        raise AssertionError("unreachable: the last attempt returns or raises")

    async def get_session(self, session_id: str) -> SessionView:
        """A session's metadata and redacted context window."""
        return await self._call("GET", f"/v1/sessions/{session_id}", SessionView)

    async def turns(self, session_id: str, offset: int = 0, limit: int = 50) -> TurnsPage:
        """Turns ``offset+1 .. offset+limit`` of the session's log."""
        params = {"offset": offset, "limit": limit}
        return await self._call("GET", f"/v1/sessions/{session_id}/turns", TurnsPage, params=params)

    async def report_auth(
        self, session_id: str, success: bool, method: str = "password"
    ) -> AuthResult:
        """Report an OTP/password step-up result; 3 failures in 10 minutes flag the session."""
        return await self._call(
            "POST",
            f"/v1/sessions/{session_id}/auth-events",
            AuthResult,
            json={"success": success, "method": method},
        )

    async def erase(self, session_id: str) -> None:
        """Erase a session now (crypto-shredding)."""
        await self._request("DELETE", f"/v1/sessions/{session_id}")
        if self.ratchets is not None:
            self.ratchets.forget(session_id)

    # --- operations -------------------------------------------------------------------

    async def monitor(self, window: Window = "15m", *, top: int = 5) -> Snapshot:
        """The analytics snapshot (needs ``session:monitor``)."""
        params = {"window": window, "top": top}
        return await self._call("GET", "/v1/monitor", Snapshot, params=params)

    async def demo_token(
        self, user: str, role: Literal["customer", "operator"] = "customer"
    ) -> Token:
        """A development token for ``user`` (served only in development mode)."""
        return await self._call(
            "POST", "/v1/demo/token", Token, json={"user": user, "role": role}, auth=False
        )

    async def healthz(self) -> Health:
        """Liveness of the process."""
        return await self._call("GET", "/healthz", Health, auth=False)

    async def readyz(self) -> Health:
        """Readiness (store reachable, model loaded); ``StoreError`` when not ready."""
        return await self._call("GET", "/readyz", Health, auth=False)

    async def metrics(self) -> str:
        """The Prometheus text of the serving process."""
        return (await self._request("GET", "/metrics", auth=False)).text

    # --- plumbing ---------------------------------------------------------------------

    async def _call(self, method: str, path: str, into: type[T], **kw: Any) -> T:
        response = await self._request(method, path, **kw)
        if isinstance(into, type) and issubclass(into, BaseModel):  # agentgpt.wire bodies
            return cast(T, into.model_validate_json(response.content))
        return msgspec.json.decode(response.content, type=into)

    async def _request(
        self, method: str, path: str, *, auth: bool = True, **kw: Any
    ) -> httpx.Response:
        headers = dict(kw.pop("headers", None) or {})
        if auth and self.token:
            headers["Authorization"] = f"Bearer {self.token}"
        response = await self._http.request(method, self.base_url + path, headers=headers, **kw)
        raise_for_problem(response)
        return response
