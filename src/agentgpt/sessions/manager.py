"""SessionManager: creates, loads, runs, closes and erases sessions.

The class is composed of parts by concept: ``turn_path.TurnPath`` (``handle`` and its
steps), ``e2e_setup.EndToEndSetup`` (prekeys, handshake), ``lifecycle.SessionLifecycle``
(create, close, erase), ``reads.SessionReads`` (load, turn log, counts), over
``manager_base.ManagerBase`` (state, session loader, the ownership check). This module
wires them: configuration, hooks, background work, analytics' auth attempts.
"""

from __future__ import annotations

import functools
from datetime import timedelta
from typing import Any

import msgspec

from agentgpt.agents.pool import AgentPool
from agentgpt.analytics.alerts import Alert
from agentgpt.analytics.snapshot import Analytics
from agentgpt.config.defaults import default_settings
from agentgpt.config.settings import AnalyticsSettings, SessionSettings
from agentgpt.nlu.pii import PIIRedactor
from agentgpt.security.session_keys import SessionKeyManager
from agentgpt.sessions.class_hooks import class_hooks, class_or_instance_hook
from agentgpt.sessions.e2e_setup import EndToEndSetup
from agentgpt.sessions.hooks import Hook, HookEvent, HookRegistry
from agentgpt.sessions.isolation import IsolatedTurns
from agentgpt.sessions.lifecycle import SessionLifecycle
from agentgpt.sessions.reads import SessionReads
from agentgpt.sessions.redaction import TurnRedactor
from agentgpt.sessions.sweeper import Sweeper
from agentgpt.store.context_store import RedisContextStore
from agentgpt.store.keys import validate_session_id


class SessionManager(EndToEndSetup, SessionLifecycle, SessionReads):
    """Runs many isolated sessions on one store with a shared pool of agents.

    The pool is ``agent_pool=``, or the guide's ``self.agents`` / ``self.nlp_agents``, else
    a pool of ``NLPAgent`` (``sessions.agent: faq`` picks the rule-based ``FAQAgent``). A
    subclass may override ``create_session``: the session it returns is registered
    (admission, owner, data key, ``created`` hook) when it comes back.
    """

    def __init__(
        self,
        max_concurrent_sessions: int | None = None,
        session_ttl: float | timedelta | None = None,
        *,
        store: RedisContextStore | None = None,
        encryption: SessionKeyManager | None = None,
        idle_timeout: float | timedelta | None = None,
        sensitive_ttl: float | timedelta | None = None,
        settings: SessionSettings | None = None,
        sweep_interval: float = 1.0,
        analytics: Analytics | None = None,
        analytics_settings: AnalyticsSettings | None = None,
        redactor: PIIRedactor | None = None,
        agent_pool: AgentPool[Any] | None = None,
    ) -> None:
        """Configure the manager; arguments override the loaded configuration."""
        if settings is None or redactor is None:
            loaded = default_settings()
            settings = settings or loaded.sessions
            analytics_settings = analytics_settings or loaded.analytics
            redactor = redactor or PIIRedactor(loaded.nlu.phone_region)
        analytics_settings = analytics_settings or AnalyticsSettings()
        self.settings = settings
        self.max_concurrent_sessions = (
            max_concurrent_sessions or self.settings.max_concurrent_sessions
        )
        self.idle_timeout = _seconds(idle_timeout) or self.settings.idle_timeout.total_seconds()
        self.max_sessions_per_user = self.settings.max_sessions_per_user
        self._owners = None
        base = store if store is not None else RedisContextStore()
        self.store = base.with_retention(_delta(session_ttl), _delta(sensitive_ttl))
        self.encryption = encryption
        self.hooks = HookRegistry()
        self.redactor = TurnRedactor(redactor)
        self.sweeper = Sweeper(
            self.store, self.hooks.fire, idle_timeout=self.idle_timeout, interval=sweep_interval
        )
        self._pool = agent_pool
        self._default_pool = None
        self._prekeys = None
        # --- analytics (issue 5) ---
        self.analytics = analytics or Analytics(
            self.store,
            analytics_settings,
            idle_timeout=self.idle_timeout,
        )
        if self.analytics.on_alert is None:
            self.analytics.on_alert = self._alert_hook
        # --- isolated runtimes (issue 18) ---
        self.isolation = IsolatedTurns(
            self.settings, self.store, lambda: self.agent_pool.agent_class
        )
        for event, callback in class_hooks(type(self)):
            self.register_hook(event, callback)

        override = type(self).create_session
        if override is not SessionManager.create_session:
            # The guide's subclass returns a Session it built: register it when it comes
            # back (admission, owner, data key, ``created`` hook) on this instance.
            self.create_session = functools.partial(  # type: ignore[method-assign]
                self._create_and_register, functools.partial(override, self)
            )

    # --- hooks and background work --------------------------------------------------------

    @class_or_instance_hook
    def register_hook(self, event: str, callback: Hook) -> None:
        """Call ``callback(Event)`` on ``event`` (created, turn, ...); on the class: for all."""
        self.hooks.register(event, callback)
        if event in {HookEvent.TIMEOUT, HookEvent.EXPIRED}:
            self._start_sweeper()

    async def aclose(self) -> None:
        """Stop background work: sweeper, analytics flush (connections stay open)."""
        await self.sweeper.stop()
        await self.isolation.aclose()
        if self._prekeys is not None:
            await self._prekeys.stop()
        await self.analytics.aclose()

    async def __aenter__(self) -> SessionManager:
        """Start background work: the sweeper when hooks need it, the analytics flusher.

        The key re-wrap is an operation over the whole store: the service starts it
        (``agentgpt.operations.rewrap.start_background_rewrap``), not each manager.
        """
        if self.hooks.wants(HookEvent.TIMEOUT) or self.hooks.wants(HookEvent.EXPIRED):
            self.sweeper.start()
        self.analytics.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        """Stop background work."""
        await self.aclose()

    # --- analytics (issue 5) -------------------------------------------------------------

    async def record_auth(
        self, session_id: str, success: bool, method: str, *, owner: str | None = None
    ) -> int:
        """Record an authentication attempt; return the session's recent failures.

        Three failures within ten minutes (configurable) flag the session
        (``analytics.is_flagged``) and raise a critical ``alert``.
        """
        validate_session_id(session_id)
        await self.require_owner(session_id, owner)
        return await self.analytics.record_auth(session_id, success, method)

    async def _alert_hook(self, alert: Alert) -> None:
        subject = alert.subject if alert.rule == "auth_failures" else ""
        await self._fire(HookEvent.ALERT, subject, **msgspec.to_builtins(alert))


def _delta(value: float | timedelta | None) -> timedelta | None:
    if value is None:
        return None
    return value if isinstance(value, timedelta) else timedelta(seconds=float(value))


def _seconds(value: float | timedelta | None) -> float | None:
    delta = _delta(value)
    return delta.total_seconds() if delta is not None else None
