"""The FastAPI application of ``agentgpt serve``: build it with ``create_app()``."""

from __future__ import annotations

import asyncio
import contextlib
import gc
import logging
from collections.abc import AsyncIterator
from importlib import resources
from typing import Any

from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles

from agentgpt.app_context import AppContext
from agentgpt.background_tasks import stop_task
from agentgpt.config.defaults import default_settings
from agentgpt.config.settings import Settings
from agentgpt.errors import AgentGPTError
from agentgpt.observability import tracing
from agentgpt.operations.rewrap import start_background_rewrap
from agentgpt.security.tokens import TokenIssuer, TokenVerifier
from agentgpt.server import (
    api_docs,
    chat_socket,
    e2e_api,
    health,
    limits_api,
    monitor_api,
    pages,
    problems,
    sessions_api,
)
from agentgpt.server.message_route import MessageLane
from agentgpt.server.metrics import Metrics
from agentgpt.server.middleware import RequestContext
from agentgpt.server.safety import refuse_unsafe
from agentgpt.server.services import Services
from agentgpt.server.strict_json import StrictJSONResponse
from agentgpt.sessions.hooks import HookEvent
from agentgpt.sessions.manager import SessionManager
from agentgpt.store.rate_limit import TokenBucketLimiter

log = logging.getLogger("agentgpt.server")

DESCRIPTION = """Conversational support sessions for the bank's portal.

Every endpoint takes a bearer token from `agentgpt token create` (scopes `session:create`,
`session:read`, `session:write`, `session:monitor`, `session:admin`). Errors are
`application/problem+json` with a stable `type`."""


def create_app(
    settings: Settings | None = None,
    *,
    manager: SessionManager | None = None,
    verifier: TokenVerifier | None = None,
    issuer: TokenIssuer | None = None,
) -> FastAPI:
    """Build the app; anything not given is built from the configuration at startup."""
    settings = settings or default_settings()
    metrics = Metrics()

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        # Tracing first (ConfigError if asked for without the packages), flushed last.
        with tracing.configured(settings.tracing):
            svc = _services(settings, metrics, manager, verifier, issuer)
            async with _running(app, svc, owns_store=manager is None):
                yield

    app = FastAPI(
        title="agentgpt sessions",
        version="0.1.0",
        description=DESCRIPTION,
        lifespan=lifespan,
        responses=problems.responses(500),
        docs_url=None,
        redoc_url=None,
        default_response_class=StrictJSONResponse,
    )
    problems.install(app)
    api_docs.install(app)  # /docs with locally served assets (FastAPI's default uses a CDN)
    app.include_router(sessions_api.router)
    app.include_router(chat_socket.router)
    app.include_router(e2e_api.router)
    app.include_router(monitor_api.router)
    app.include_router(limits_api.router)
    app.include_router(health.router)
    app.include_router(pages.router)
    static = resources.files("agentgpt.server") / "static"
    app.mount("/static", StaticFiles(directory=str(static)), name="static")
    # Inside RequestContext (ids, metrics, log, body limit), before Starlette's routing.
    app.add_middleware(MessageLane, routes=sessions_api.router.routes)
    app.add_middleware(
        RequestContext, metrics=metrics, max_body_bytes=settings.server.max_body_bytes
    )
    return app


@contextlib.asynccontextmanager
async def _running(app: FastAPI, svc: Services, *, owns_store: bool) -> AsyncIterator[None]:
    app.state.services = svc
    await svc.manager.__aenter__()  # analytics flusher, sweeper
    rewrap = start_background_rewrap(svc.manager.store, svc.manager.key_manager)
    # Load the model before reporting ready, so no customer waits for it.
    preload = getattr(svc.manager.agent_pool.agent_class, "preload", None)
    if preload is not None:
        await asyncio.to_thread(preload)
    _freeze_startup_objects()
    svc.extras["model_ready"] = True
    stop = asyncio.Event()
    sampler = asyncio.create_task(_sample(svc, stop), name="agentgpt-metrics-sampler")
    try:
        yield
    finally:
        # Stopped by an event, not by cancel(): a cancel that lands while the task
        # waits on the store's pool condition could be swallowed there.
        stop.set()
        await sampler
        await stop_task(rewrap)
        await svc.manager.aclose()
        if owns_store:  # we built it: its connections belong to this loop
            await svc.manager.store.aclose()


def startup_checks(settings: Settings) -> None:
    """Refuse, with a ``ConfigError``, a configuration the service must not start with.

    ``agentgpt serve`` runs these before starting uvicorn (one line, exit 78); the app's
    lifespan runs them again for anyone who serves ``create_app`` another way. Every refusal
    of a configuration belongs here, not only in the lifespan (which can only fail with a
    traceback).
    """
    tracing.check(settings.tracing)
    refuse_unsafe(settings)  # production refuses every development shortcut


def _services(
    settings: Settings,
    metrics: Metrics,
    manager: SessionManager | None,
    verifier: TokenVerifier | None,
    issuer: TokenIssuer | None,
) -> Services:
    startup_checks(settings)
    production = settings.server.environment == "production"
    if manager is None:
        manager = AppContext.from_settings(settings).manager
    manager.register_hook(HookEvent.TURN, metrics.on_turn)
    manager.register_hook(HookEvent.ALERT, metrics.on_alert)
    manager.agent_pool.warm()
    if issuer is None and not production and settings.server.demo_tokens:
        issuer = TokenIssuer()
    return Services(
        settings=settings,
        manager=manager,
        verifier=verifier or TokenVerifier(),
        limiter=TokenBucketLimiter(
            manager.store, settings.server.rate_per_user, settings.server.rate_burst
        ),
        metrics=metrics,
        issuer=issuer,
    )


async def _sample(svc: Services, stop: asyncio.Event) -> None:
    # The active-session count is a store query: refresh it on a timer, not per scrape.
    interval = svc.settings.server.monitor_interval.total_seconds()
    problem: str | None = None  # logged once per change, not once a second
    while not stop.is_set():
        active: Any = None
        try:
            active = await svc.manager.count_active()
            if problem is not None:
                log.info("metrics sampler: the session store answers again")
            problem = None
        except AgentGPTError as exc:
            if str(exc) != problem:
                log.warning("metrics sampler: %s", exc)
            problem = str(exc)
        store = svc.manager.store
        svc.metrics.sample(svc.manager.agent_pool, active, store.round_trips, store.supervisor)
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), interval)


#: Net allocations between two young-generation collections in the service (default 700).
YOUNG_GC_THRESHOLD = 10_000


def _freeze_startup_objects() -> None:
    # What startup built (modules, the NLU model's vocabularies, the app) lives as long as
    # the process. Left to the collector, every full collection walks it again: ~110,000
    # objects, a 120 ms pause of every turn in flight on the benchmark machine. Frozen, a
    # full collection only walks what requests allocated since.
    gc.collect()
    gc.freeze()
    # A turn leaves few objects for the collector (reference counting frees the rest), but
    # at the default 700 net allocations a young collection ran every ~60 turns and every
    # tenth of them a middle one (up to a few ms each under load). 10,000 cuts them ~15x;
    # the older generations keep their defaults.
    gc.set_threshold(YOUNG_GC_THRESHOLD, *gc.get_threshold()[1:])
