"""Turns of sessions with an isolated runtime: the glue between the manager and the runtime."""

from __future__ import annotations

import inspect
from collections.abc import Callable
from typing import Any

from agentgpt.agents.isolated import HANDLER_FACTORY, agent_path, decode_response, encode_call
from agentgpt.agents.response import Response
from agentgpt.config.settings import SessionSettings
from agentgpt.errors import ConfigError
from agentgpt.runtime import HandlerSpec, RuntimeService, validate_region
from agentgpt.sessions.session import Session
from agentgpt.store.context_store import RedisContextStore


class IsolatedTurns:
    """Sends a session's turn to its bound worker; the worker sees that session only."""

    def __init__(
        self,
        settings: SessionSettings,
        store: RedisContextStore,
        agent_class: Callable[[], type[Any] | Callable[[], Any]],
    ) -> None:
        """``agent_class`` returns the class the workers run (the manager's pool's)."""
        self.settings = settings
        self.store = store
        self._agent_class = agent_class
        self._service: RuntimeService | None = None

    @property
    def service(self) -> RuntimeService:
        """The runtime service (created on the first isolated turn)."""
        if self._service is None:
            agent_class = self._agent_class()
            if not inspect.isclass(agent_class):
                raise ConfigError(
                    "isolated runtimes need the pool's agent_class to be an importable class"
                )
            handler = HandlerSpec(HANDLER_FACTORY, agent_path(agent_class))
            self._service = RuntimeService(self.settings.runtime, self.store, handler)
        return self._service

    def region(self, requested: str | None) -> str:
        """The region of a new session: ``requested`` (validated) or the configured one."""
        return validate_region(requested or self.settings.region, self.settings.regions)

    def default_runtime(self) -> str:
        """The runtime of new sessions that do not choose one ("" = in process)."""
        return "" if self.settings.runtime.default == "none" else self.settings.runtime.default

    async def process(self, session: Session, message: str) -> Response:
        """Run one turn of ``session`` in its isolated worker."""
        body = encode_call(message, session.context, tuple(session.capabilities))
        region = session.region or self.settings.region
        reply = await self.service.call(
            session.runtime, session.id, region, session.cpu_guarantee, body
        )
        return decode_response(reply)

    async def release(self, session_id: str) -> None:
        """Kill the session's worker (erase, close)."""
        if self._service is not None:
            await self._service.release(session_id)

    async def aclose(self) -> None:
        """Stop every worker."""
        service, self._service = self._service, None
        if service is not None:
            await service.aclose()
