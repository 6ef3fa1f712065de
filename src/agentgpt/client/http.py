"""``AsyncClient``: the HTTP API of ``agentgpt serve`` as typed async methods."""

from __future__ import annotations

from datetime import timedelta
from types import TracebackType
from typing import Any, Literal, Self, TypeVar

import httpx
import msgspec

from agentgpt.client.end_to_end import ClientRatchets
from agentgpt.client.models import (
    AuthResult,
    EncryptedTurn,
    Health,
    SessionInfo,
    SessionView,
    Token,
    Turn,
    TurnsPage,
)
from agentgpt.client.monitor import Snapshot
from agentgpt.client.problems import raise_for_problem
from agentgpt.errors import InvalidInput

T = TypeVar("T")
Window = Literal["5m", "15m", "1h", "24h", "7d"]


class AsyncClient:
    """A keep-alive client of one service; errors raise the matching ``agentgpt.errors``.

    Transport failures (connection refused, timeouts) raise ``httpx.TransportError``.
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
    ) -> None:
        """Talk to ``base_url`` with ``token``; pass ``http`` to share a connection pool.

        ``end_to_end=True``: sessions this client creates speak the double ratchet (issue
        17): messages and answers cross the network and the service's HTTP layer encrypted.
        """
        self.base_url = base_url.rstrip("/")
        self.token = token
        self._owned = http is None
        self._http = http or httpx.AsyncClient(timeout=timeout)
        self.ratchets = ClientRatchets(key_rotation) if end_to_end else None

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
        return AsyncClient(self.base_url, token, http=self._http)

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
        body = {"protocol": "double_ratchet", "key_rotation": str(self.ratchets.key_rotation),
                "handshake": msgspec.to_builtins(handshake)}  # fmt: skip
        await self._request("POST", f"/v1/sessions/{session_id}/e2e", json=body)

    async def send(
        self, session_id: str, text: str, on_busy: Literal["queue", "reject"] = "queue"
    ) -> Turn:
        """Send one message; ``on_busy="reject"`` fails with a ``LockError`` instead of waiting."""
        if self.ratchets is not None and session_id in self.ratchets:
            return await self.send_encrypted(
                session_id, self.ratchets.encrypt(session_id, text), on_busy
            )
        params = {"on_busy": on_busy} if on_busy != "queue" else None
        return await self._call("POST", f"/v1/sessions/{session_id}/messages", Turn,
                                json={"text": text}, params=params)  # fmt: skip

    async def send_encrypted(
        self, session_id: str, wire: str, on_busy: Literal["queue", "reject"] = "queue"
    ) -> Turn:
        """Send a message already encrypted with ``ratchets.encrypt``; decrypt the answer."""
        if self.ratchets is None:
            raise InvalidInput("create the client with end_to_end=True")
        params = {"on_busy": on_busy} if on_busy != "queue" else None
        answer = await self._call("POST", f"/v1/sessions/{session_id}/messages", EncryptedTurn,
                                  json={"e2e": wire}, params=params)  # fmt: skip
        return self.ratchets.decrypt_turn(session_id, answer.e2e)

    async def get_session(self, session_id: str) -> SessionView:
        """A session's metadata and redacted context window."""
        return await self._call("GET", f"/v1/sessions/{session_id}", SessionView)

    async def turns(self, session_id: str, offset: int = 0, limit: int = 50) -> TurnsPage:
        """Turns ``offset+1 .. offset+limit`` of the session's log."""
        params = {"offset": offset, "limit": limit}
        return await self._call("GET", f"/v1/sessions/{session_id}/turns", TurnsPage,
                                params=params)  # fmt: skip

    async def report_auth(
        self, session_id: str, success: bool, method: str = "password"
    ) -> AuthResult:
        """Report an OTP/password step-up result; 3 failures in 10 minutes flag the session."""
        return await self._call("POST", f"/v1/sessions/{session_id}/auth-events", AuthResult,
                                json={"success": success, "method": method})  # fmt: skip

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
        return await self._call("POST", "/v1/demo/token", Token,
                                json={"user": user, "role": role}, auth=False)  # fmt: skip

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
        return msgspec.json.decode(response.content, type=into)

    async def _request(
        self, method: str, path: str, *, auth: bool = True, **kw: Any
    ) -> httpx.Response:
        headers = {"Authorization": f"Bearer {self.token}"} if auth and self.token else None
        response = await self._http.request(method, self.base_url + path, headers=headers, **kw)
        raise_for_problem(response)
        return response
