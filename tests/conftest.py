"""Fixtures: real Valkey servers (standalone and 3-master cluster) and stores on them."""

from __future__ import annotations

import os
import tempfile
from collections.abc import AsyncIterator, Iterator
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

# Tests never touch the user's data directory.
_HOME = tempfile.mkdtemp(prefix="agentgpt-test-home-")
os.environ["AGENTGPT_HOME"] = _HOME
os.environ.pop("AGENTGPT_STORE_URL", None)
os.environ.pop("AGENTGPT_CONFIG", None)
# Many tests give one user dozens of sessions; the per-user limit has its own tests.
os.environ["AGENTGPT_SESSIONS__MAX_SESSIONS_PER_USER"] = "1000000"

from agentgpt.config.settings import StoreSettings  # noqa: E402
from agentgpt.store.context_store import RedisContextStore  # noqa: E402
from tests import servers  # noqa: E402


@pytest.fixture(scope="session")
def home() -> str:
    """The data directory the tests run with."""
    return _HOME


@pytest.fixture(scope="session")
def standalone_url() -> Iterator[str]:
    """A standalone Valkey on a free loopback port."""
    with servers.standalone() as url:
        yield url


@pytest.fixture(scope="session")
def cluster_nodes() -> Iterator[list[str]]:
    """A 3-master Valkey cluster on free loopback ports."""
    with servers.cluster() as nodes:
        yield nodes


def _settings(kind: str, request: pytest.FixtureRequest) -> StoreSettings:
    if kind == "cluster":
        nodes = request.getfixturevalue("cluster_nodes")
        return StoreSettings(cluster_mode=True, nodes=nodes)
    return StoreSettings.from_url(request.getfixturevalue("standalone_url"))


@pytest.fixture(params=["standalone", pytest.param("cluster", marks=pytest.mark.cluster)])
async def store(request: pytest.FixtureRequest) -> RedisContextStore:
    """A store on a flushed server: every test runs against standalone and cluster."""
    store = RedisContextStore(_settings(request.param, request))
    client = await store.backend.connect()
    await client.flushall()
    return store


@pytest.fixture
async def standalone_store(standalone_url: str) -> RedisContextStore:
    """A store on the flushed standalone server only."""
    store = RedisContextStore(standalone_url)
    client = await store.backend.connect()
    await client.flushall()
    return store


@pytest.fixture(scope="session", autouse=True)
async def _close_stores() -> AsyncIterator[None]:
    """Close every store connection the tests opened, on the loop that opened them."""
    yield
    from agentgpt.store.backend import DEFAULT_BACKENDS

    for backend in DEFAULT_BACKENDS.backends():
        await backend.aclose()


@pytest.fixture(scope="session")
def _span_provider() -> Iterator[tuple[TracerProvider, InMemorySpanExporter]]:
    """One SDK provider with an in-memory exporter; never OpenTelemetry's global one."""
    pytest.importorskip("opentelemetry.sdk.trace")
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import SimpleSpanProcessor
    from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    # Simple (synchronous) processor: a span is in the exporter as soon as it ends.
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    yield provider, exporter
    provider.shutdown()


@pytest.fixture
def spans(
    _span_provider: tuple[TracerProvider, InMemorySpanExporter],
) -> Iterator[InMemorySpanExporter]:
    """Tracing on for one test; yields the InMemorySpanExporter holding its finished spans."""
    from agentgpt.observability import tracing

    provider, exporter = _span_provider
    exporter.clear()
    tracing.install(provider)
    try:
        yield exporter
    finally:
        tracing.uninstall()
