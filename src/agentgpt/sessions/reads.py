"""Reading sessions: load one, page through its turn log, count the active ones."""

from __future__ import annotations

import time

from agentgpt.errors import InvalidInput
from agentgpt.sessions.manager_base import ManagerBase
from agentgpt.sessions.records import TurnRecord
from agentgpt.sessions.session import Session
from agentgpt.store import records


class SessionReads(ManagerBase):
    """The manager's read part: sessions and their turn logs, ownership checked once."""

    async def load_session(self, session_id: str, *, owner: str | None = None) -> Session:
        """Load a session's metadata and context (decrypted); ``SessionNotFound``.

        ``owner``: the caller's user; a session of someone else is reported missing (None:
        an operator, or the library's own caller).
        """
        raw, ctx = await self.store.load(session_id)
        self._check_owner(session_id, raw, owner)
        session = await self._materialise(session_id, raw, ctx)
        if owner is not None:
            session.owner = owner  # the stored owner is a keyed hash; this is who it names
        return session

    async def turns(
        self, session_id: str, offset: int = 0, limit: int = 50, *, owner: str | None = None
    ) -> list[TurnRecord]:
        """Page through the session's turn log (decrypted, PII already redacted)."""
        return (await self.turns_page(session_id, offset, limit, owner=owner))[1]

    async def turns_page(
        self, session_id: str, offset: int = 0, limit: int = 50, *, owner: str | None = None
    ) -> tuple[Session, list[TurnRecord]]:
        """The session (loaded once, ownership checked) and a page of its turn log."""
        if offset < 0 or not 1 <= limit <= 500:
            raise InvalidInput("offset must be >= 0 and limit between 1 and 500")
        session = await self.load_session(session_id, owner=owner)
        blobs = await self.store.read_log(session_id, offset, offset + limit - 1)
        entries = [
            session.open(blob, records.KIND_LOG, offset + i + 1, TurnRecord)
            for i, blob in enumerate(blobs)
        ]
        return session, entries

    async def count_active(self) -> int:
        """Sessions with activity within the idle timeout, across all processes."""
        since = int((time.time() - self.idle_timeout) * 1000)
        return await self.store.count_active(since)
