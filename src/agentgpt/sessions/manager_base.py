"""What every part of the SessionManager shares: its state, the session loader, the owner check.

The manager is composed of parts by concept (``turn_path``, ``e2e_setup``, ``lifecycle``,
``reads``); each is a subclass of ``ManagerBase``, which declares the state that
``SessionManager.__init__`` sets and the steps more than one part uses: loading a session
from its records, the one ownership check, firing hooks.
"""

from __future__ import annotations

import contextlib
from typing import Any

from agentgpt.agents.context import Context
from agentgpt.agents.faq_agent import FAQAgent
from agentgpt.agents.nlp_agent import NLPAgent
from agentgpt.agents.pool import AgentPool
from agentgpt.analytics.snapshot import Analytics
from agentgpt.config.settings import SessionSettings
from agentgpt.errors import IntegrityError, SessionNotFound
from agentgpt.security.owners import OwnerHasher
from agentgpt.security.ratchet.prekeys import Prekeys
from agentgpt.security.session_keys import SessionKeyManager
from agentgpt.sessions.hooks import Event, HookEvent, HookRegistry
from agentgpt.sessions.isolation import IsolatedTurns
from agentgpt.sessions.key_managers import default_key_manager
from agentgpt.sessions.redaction import TurnRedactor
from agentgpt.sessions.session import BoundAgent, Session
from agentgpt.sessions.sweeper import Sweeper
from agentgpt.store import records
from agentgpt.store.context_store import RedisContextStore

#: Attributes where the guide's subclasses keep their pool.
GUIDE_POOL_NAMES = ("agents", "nlp_agents")


class ManagerBase:
    """The state and shared steps of a ``SessionManager`` (set by its ``__init__``)."""

    settings: SessionSettings
    max_concurrent_sessions: int
    idle_timeout: float
    max_sessions_per_user: int
    store: RedisContextStore
    encryption: SessionKeyManager | None
    hooks: HookRegistry
    redactor: TurnRedactor
    sweeper: Sweeper
    analytics: Analytics
    isolation: IsolatedTurns
    _owners: OwnerHasher | None
    _pool: AgentPool[Any] | None
    _default_pool: AgentPool[Any] | None
    _prekeys: Prekeys | None

    # --- configuration ------------------------------------------------------------------

    @property
    def agent_pool(self) -> AgentPool[Any]:
        """The pool serving this manager's sessions.

        The one given as ``agent_pool=``, else the pool the guide's subclass sets as
        ``self.agents`` or ``self.nlp_agents``, else a pool of the configured agent.
        """
        if self._pool is not None:
            return self._pool
        for name in GUIDE_POOL_NAMES:
            value = getattr(self, name, None)
            if isinstance(value, AgentPool):
                return value
        if self._default_pool is None:
            agent_class: type[Any] = NLPAgent if self.settings.agent == "nlp" else FAQAgent
            self._default_pool = AgentPool(agent_class, min_ready=4, max_connections=64)
        return self._default_pool

    @property
    def key_manager(self) -> SessionKeyManager:
        """The key manager encrypting session records."""
        if self.encryption is None:
            self.encryption = default_key_manager(self.settings)
        return self.encryption

    @property
    def owners(self) -> OwnerHasher:
        """The keyed hash that stores session owners (the data directory's owner key)."""
        if self._owners is None:
            self._owners = OwnerHasher()
        return self._owners

    def owns(self, session: Session, user: str) -> bool:
        """True when ``user`` owns ``session`` (constant-time, NFC, keyed hash or legacy id)."""
        return self.owners.matches(session.owner_hash or session.owner or "", user)

    def _start_sweeper(self) -> None:
        # Without a running loop there is nothing to start yet: any async entry point
        # (create_session, __aenter__) calls this again.
        with contextlib.suppress(RuntimeError):
            self.sweeper.start()

    # --- loading a session, the ownership check -----------------------------------------

    async def require_owner(self, session_id: str, owner: str | None) -> None:
        """Raise ``SessionNotFound`` unless ``owner`` (None: any) owns the live session."""
        if owner is None:
            return
        meta = await self.store.meta(session_id)
        if not meta:
            raise SessionNotFound(f"session {session_id} does not exist (expired or erased?)")
        self._check_owner(session_id, meta, owner)

    def _check_owner(self, session_id: str, raw: dict[bytes, bytes], owner: str | None) -> None:
        # The one ownership check of every entry point, made on the data it loaded.
        if owner is None:
            return
        meta = records.SessionMeta.from_hash(raw)
        if not self.owners.matches(meta.owner_hash or meta.owner, owner):
            raise SessionNotFound(f"session {session_id} does not exist (expired or erased?)")

    async def _materialise(
        self, session_id: str, raw: dict[bytes, bytes], ctx: bytes | None
    ) -> Session:
        meta = records.SessionMeta.from_hash(raw)
        session = Session(id=session_id, context_store=self.store, owner=meta.owner or None)
        session.owner_hash = meta.owner_hash
        session.redactor = self.redactor
        session.use_cipher(await self.key_manager.open_session_key(session_id, meta.wrapped_key))
        session.version, session.head, session.closed = meta.version, meta.head, meta.closed
        session.created, session.persisted = meta.created, True
        session.capabilities = list(meta.capabilities)
        session.agents = [BoundAgent(self.agent_pool, meta.capabilities)]
        session.region = meta.region or self.settings.region
        session.runtime, session.cpu_guarantee = meta.runtime, meta.cpu_guarantee
        if meta.version:
            if ctx is None:
                raise IntegrityError(f"session {session_id}: context missing at v{meta.version}")
            session.context = session.open(ctx, records.KIND_CONTEXT, meta.version, Context)
        return session

    # --- hooks ----------------------------------------------------------------------------

    async def _fire(self, event: HookEvent, session_id: str, **data: Any) -> None:
        if self.hooks.wants(event):
            await self.hooks.fire(Event(event, session_id, data=data))
