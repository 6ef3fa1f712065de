"""AppContext: the one explicit wiring point of the service and the CLI.

``AppContext.from_settings(settings)`` builds, once, everything a process runs on: the
store, the key manager, the agent pool, the PII redactor of the turn pipeline, analytics
and the session manager that uses them. Nothing is looked up in process-wide state; a test
builds its own context. The guide's zero-argument forms build theirs from
``agentgpt.config.defaults`` (see docs/architecture.md, "Wiring").
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from agentgpt.agents.faq_agent import FAQAgent
from agentgpt.agents.nlp_agent import NLPAgent
from agentgpt.agents.pool import AgentPool
from agentgpt.analytics.snapshot import Analytics
from agentgpt.config.defaults import default_settings
from agentgpt.config.settings import Settings
from agentgpt.nlu.pii import PIIRedactor
from agentgpt.security.session_keys import SessionKeyManager
from agentgpt.sessions.key_managers import build_key_manager
from agentgpt.sessions.manager import SessionManager
from agentgpt.store.context_store import BackendRegistry, RedisContextStore

#: The default pool: a few agents warm, at most this many alive (DESIGN, turn path step 4).
POOL_MIN_READY = 4
POOL_MAX_CONNECTIONS = 64


@dataclass
class AppContext:
    """Everything one process runs on, built from one ``Settings``."""

    settings: Settings
    store: RedisContextStore
    key_manager: SessionKeyManager
    agent_pool: AgentPool[Any]
    redactor: PIIRedactor
    analytics: Analytics
    manager: SessionManager

    @classmethod
    def from_settings(cls, settings: Settings | None = None) -> AppContext:
        """Build the process's objects from ``settings`` (default: the configuration)."""
        settings = settings if settings is not None else default_settings()
        # The context owns its connections and key manager: nothing is shared with
        # another context or with the default runtime of the guide's zero-argument forms.
        store = RedisContextStore(settings.store, registry=BackendRegistry())
        key_manager = build_key_manager(settings.sessions)
        agent_class: type[Any] = NLPAgent if settings.sessions.agent == "nlp" else FAQAgent
        pool: AgentPool[Any] = AgentPool(
            agent_class, min_ready=POOL_MIN_READY, max_connections=POOL_MAX_CONNECTIONS
        )
        redactor = PIIRedactor(settings.nlu.phone_region)
        idle = settings.sessions.idle_timeout.total_seconds()
        analytics = Analytics(store, settings.analytics, idle_timeout=idle)
        manager = SessionManager(
            store=store,
            settings=settings.sessions,
            analytics_settings=settings.analytics,
            encryption=key_manager,
            agent_pool=pool,
            redactor=redactor,
            analytics=analytics,
        )
        return cls(settings, manager.store, key_manager, pool, redactor, analytics, manager)

    async def aclose(self) -> None:
        """Stop the manager's background work and close the store's connections."""
        await self.manager.aclose()
        await self.store.aclose()
