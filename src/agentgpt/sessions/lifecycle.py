"""Creating, closing and erasing sessions (admission, owner, data key, GDPR erasure)."""

from __future__ import annotations

from typing import Any

from agentgpt.errors import InvalidInput, SessionLimitExceeded, SessionNotFound
from agentgpt.security.owners import normalise_user
from agentgpt.sessions.hooks import HookEvent
from agentgpt.sessions.ids import generate_session_id
from agentgpt.sessions.manager_base import ManagerBase
from agentgpt.sessions.session import Session
from agentgpt.store import keys

DEFAULT_CAPABILITIES = ("intent_detection", "sentiment_analysis")


class SessionLifecycle(ManagerBase):
    """The manager's lifecycle part: create, close, erase a session or all of a user's."""

    async def create_session(
        self,
        user_id: str,
        *,
        region: str | None = None,
        runtime: str | None = None,
        cpu_guarantee: float | None = None,
    ) -> Session:
        """Create and persist a session owned by ``user_id`` (``SessionLimitExceeded``).

        ``region`` (default: ``sessions.region``) chooses the resource limits of its
        isolated runtime; ``runtime`` (``sandbox``, ``firecracker``; default:
        ``sessions.runtime.default``) runs its turns in an isolated worker.
        """
        session = Session(id=generate_session_id(user_id), context_store=self.store)
        session.attach_agent(self.agent_pool, DEFAULT_CAPABILITIES)
        session.region = region or ""
        if runtime:
            session.enable_isolated_runtime(runtime, cpu_guarantee)
        await self._register(session, user_id)
        return session

    async def _create_and_register(
        self, create: Any, user_id: str, *args: Any, **kwargs: Any
    ) -> Session:
        session: Session = await create(user_id, *args, **kwargs)
        if not session.persisted:
            await self._register(session, user_id)
        return session

    async def _register(self, session: Session, user_id: str) -> None:
        if not isinstance(user_id, str) or not user_id.strip() or len(user_id) > 256:
            raise InvalidInput("user_id must be a non-empty string of at most 256 characters")
        user_id = normalise_user(user_id)
        owner_hash = self.owners.digest(user_id)
        session.region = self.isolation.region(session.region)
        if not session.runtime:
            session.runtime = self.isolation.default_runtime()
        await self._admit(session.id, owner_hash)
        try:
            await self._persist(session, user_id, owner_hash)
        except BaseException:
            await self.store.release_admission(session.id, owner_hash)
            raise
        session.persisted = True
        if self.hooks.wants(HookEvent.TIMEOUT) or self.hooks.wants(HookEvent.EXPIRED):
            self._start_sweeper()
        await self._fire(HookEvent.CREATED, session.id)

    async def _persist(self, session: Session, user_id: str, owner_hash: str) -> None:
        # The guide's form: Session(..., encryption=SessionEncryptor(...)) chooses its own.
        key_manager = session.encryption if session.encryption is not None else self.key_manager
        wrapped, cipher = await key_manager.new_session_key(session.id)
        session.store = self.store
        session.redactor = self.redactor
        session.owner, session.owner_hash = user_id, owner_hash
        session.use_cipher(cipher)
        if not session.agents:
            session.attach_agent(self.agent_pool, DEFAULT_CAPABILITIES)
        fields: dict[str, bytes | str | int] = {
            "oh": owner_hash,  # never the user id in clear
            "created": int(session.created * 1000),
            "caps": ",".join(session.capabilities),
            "dk": wrapped,
            "version": 0,
            "region": session.region,
            "rt": session.runtime_field,
        }
        if not await self.store.create(session.id, fields):
            raise InvalidInput(f"session id {session.id} is already in use")

    async def _admit(self, session_id: str, owner_hash: str) -> None:
        # Check and take in one script: count-then-create let 60 racing creates past 20.
        status, count = await self.store.admit(
            session_id,
            owner_hash,
            int(self.idle_timeout * 1000),
            self.max_concurrent_sessions,
            self.max_sessions_per_user,
        )
        if status == 0:
            raise SessionLimitExceeded(
                f"{count} sessions are active (limit {self.max_concurrent_sessions}); "
                "retry when sessions time out, or raise max_concurrent_sessions"
            )
        if status < 0:
            raise SessionLimitExceeded(
                f"this user already has {count} live sessions (limit "
                f"{self.max_sessions_per_user}); end one, or raise max_sessions_per_user"
            )

    async def close(self, session_id: str, *, owner: str | None = None) -> None:
        """Close a session: no more turns; its data stays for its retention period."""
        await self.require_owner(session_id, owner)
        await self.store.close_session(session_id)
        await self.isolation.release(session_id)
        await self._fire(HookEvent.CLOSED, session_id)

    async def erase(self, session_id: str, *, owner: str | None = None) -> int:
        """Erase a session now (crypto-shredding); return the number of keys deleted.

        The unwrapped data keys leave this process's cache, then one script deletes the
        metadata holding the wrapped keys before every other key of the session. Copies of
        the wrapped keys in AOF files and backups are put beyond use when the KEK versions
        that wrapped them are retired (``agentgpt security rotate-keys --retire-before``).
        """
        meta = await self.store.meta(session_id)
        if not meta:
            raise SessionNotFound(f"session {session_id} does not exist (expired or erased?)")
        self._check_owner(session_id, meta, owner)
        self.key_manager.forget(session_id)
        deleted = await self.store.erase(session_id)
        self.key_manager.forget(session_id)  # a turn racing the erase may have cached it again
        await self.isolation.release(session_id)  # its worker's tmp goes with it
        await self._fire(HookEvent.ERASED, session_id)
        return deleted

    async def erase_user(self, user_id: str) -> list[str]:
        """Erase every session of ``user_id`` (GDPR Art. 17); return the erased ids."""
        erased = []
        for session_id in await self.user_sessions(user_id):
            try:
                await self.erase(session_id)
            except SessionNotFound:
                continue
            erased.append(session_id)
        return erased

    async def user_sessions(self, user_id: str) -> list[str]:
        """The ids of ``user_id``'s sessions that still exist (hashed and legacy index)."""
        user_id = normalise_user(user_id)
        return await self.store.user_sessions(
            keys.owner_index_key(self.owners.digest(user_id)), keys.user_key(user_id)
        )
