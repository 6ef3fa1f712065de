"""The store's connection: one client (and embedded server) per settings, errors, scripts.

Every repository of the store reaches the server through a ``StoreBackend``: it connects
once (starting the embedded Valkey when no server is configured), counts round trips,
and classifies failures (``guard``: unavailable -> ``StoreUnavailable``, a failing script
of ours -> ``StoreScriptError``). Nothing outside ``agentgpt.store`` holds it or a client
(docs/architecture.md; ``tests/unit/test_store_encapsulation.py`` checks).
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from redis.asyncio.cluster import RedisCluster

from agentgpt.config.addresses import describe_store
from agentgpt.config.paths import data_home
from agentgpt.config.settings import StoreSettings
from agentgpt.errors import StoreUnavailable
from agentgpt.store.compaction import ErasureCompactor
from agentgpt.store.connection import Client, create_client
from agentgpt.store.embedded import EmbeddedServer
from agentgpt.store.failures import STORE_FAILURES, script_failure, store_unavailable
from agentgpt.store.scripts import SCRIPTS, ScriptCall
from agentgpt.store.supervisor import EmbeddedSupervisor, RestartPolicy
from agentgpt.store.turn_channel import TurnChannel, usable

if TYPE_CHECKING:
    from agentgpt.store.lock import _Gate as LockGate

#: Hash slots of a Redis/Valkey cluster: every one must be served for the store to be ready.
CLUSTER_SLOTS = 16384

#: Key of a backend in a registry: connection settings, data home, event loop.
BackendKey = tuple[str, str | None, int]


class BackendRegistry:
    """The backends of one runtime: one per connection settings, data home and event loop.

    The default runtime (``config.defaults``) owns one for the guide's zero-argument
    ``RedisContextStore()``; a test or an ``AppContext`` may hold its own.
    """

    def __init__(self) -> None:
        """Start empty; backends are made on first use."""
        self._backends: dict[BackendKey, StoreBackend] = {}

    def backend(self, settings: StoreSettings, home: str | None) -> StoreBackend:
        """Return the backend shared by stores of the same settings on this loop."""
        try:
            loop_id = id(asyncio.get_running_loop())
        except RuntimeError:
            loop_id = 0
        # Retention and compression do not change the connection: stores that differ only
        # there (a manager's session_ttl) share one client.
        key = (settings.model_dump_json(exclude={"data_retention", "compression"}), home, loop_id)
        backend = self._backends.get(key)
        if backend is None:
            backend = self._backends[key] = StoreBackend(settings, home, registry=self)
        return backend

    def backends(self) -> list[StoreBackend]:
        """The backends currently open through this registry."""
        return list(self._backends.values())

    def forget(self, backend: StoreBackend) -> None:
        """Drop a closed backend."""
        for key, known in list(self._backends.items()):
            if known is backend:
                del self._backends[key]


#: The process's default registry (the one behind ``RedisContextStore()`` without one).
DEFAULT_BACKENDS = BackendRegistry()


class StoreBackend:
    """One connection (and embedded server) per settings, event loop and registry."""

    def __init__(
        self, settings: StoreSettings, home: str | None, *, registry: BackendRegistry | None = None
    ) -> None:
        """Describe the connection; it opens on first use."""
        self.settings = settings
        self.home = home
        self.round_trips = 0
        self._registry = registry
        self._client: Client | None = None
        self._embedded: EmbeddedServer | None = None
        #: AOF rewrites after erasures (embedded server only: external ones are the
        #: operator's, see ``agentgpt security compact``).
        self.compactor: ErasureCompactor | None = None
        self.supervisor: EmbeddedSupervisor | None = None
        #: In-process FIFO gates of ``DistributedLock``, one per (loop, resource) polled
        #: through this connection; removed when nobody uses them.
        self.lock_gates: dict[tuple[int, str], LockGate] = {}
        #: The turn's calls on one pipelined connection (standalone stores only).
        self.channel: TurnChannel | None = None
        self._lock = asyncio.Lock()

    @property
    def embedded(self) -> EmbeddedServer | None:
        """The embedded server this backend started (None for a configured server)."""
        return self._embedded

    def describe(self) -> str:
        """The target as shown in messages and health checks (credentials masked)."""
        socket = str(self._embedded.socket_path) if self._embedded is not None else None
        return describe_store(self.settings, socket)

    def unavailable(self, exc: BaseException, *, hint: bool = False) -> StoreUnavailable:
        """The ``StoreUnavailable`` of a client library error ``exc`` on this store."""
        return store_unavailable(exc, self.settings, where=self.describe(), hint=hint)

    async def connect(self) -> Client:
        """Connect once; later calls return the same client."""
        if self._client is not None:
            return self._client
        async with self._lock:
            if self._client is None:
                self._client = await self._open()
        return self._client

    async def _open(self) -> Client:
        url = None
        if self.settings.is_embedded:
            from pathlib import Path

            home = Path(self.home) if self.home else data_home()
            self._embedded = EmbeddedServer(home, appendfsync=self.settings.appendfsync)
            url = await asyncio.to_thread(self._embedded.acquire)
            policy = RestartPolicy(
                max_restarts=self.settings.embedded_max_restarts,
                restart_window_s=self.settings.embedded_restart_window.total_seconds(),
            )
            if self.supervisor is None:  # a failed connect must not leave a second watcher
                self.supervisor = EmbeddedSupervisor(self._embedded, policy)
                self.supervisor.start()
        client = create_client(self.settings, url)
        try:
            if hasattr(client, "initialize"):
                await client.initialize()
            await SCRIPTS.load(client)
        except STORE_FAILURES as exc:
            with contextlib.suppress(*STORE_FAILURES):
                await client.aclose()
            raise self.unavailable(exc, hint=True) from exc
        self.channel = TurnChannel(client) if usable(client) else None
        return client

    async def guard(self, awaitable: Any) -> Any:
        """Await a store call: failures -> ``StoreUnavailable``, script bugs -> 500."""
        self.round_trips += 1
        try:
            return await awaitable
        except STORE_FAILURES as exc:
            bug = script_failure(exc)
            if bug is not None:
                raise bug from exc
            raise self.unavailable(exc) from exc

    async def script(self, name: str, keys: Sequence[str], args: Sequence[Any]) -> Any:
        """Run one of the store's Lua scripts (``agentgpt.store.scripts``), guarded."""
        return await self.guard(SCRIPTS.call(await self.connect(), name, keys, args))

    async def scripts(self, name: str, calls: Sequence[ScriptCall]) -> list[Any]:
        """Run script ``name`` once per (keys, args) in one round trip, guarded."""
        result: list[Any] = await self.guard(SCRIPTS.call_many(await self.connect(), name, calls))
        return result

    async def ping(self) -> bool:
        """Return True when the store answers."""
        client = await self.connect()
        return bool(await self.guard(client.ping()))

    async def check_ready(self) -> None:
        """Raise ``StoreUnavailable`` unless the store serves every session's slot.

        Standalone: it answers PING. Cluster: every primary of the slot map answers CLUSTER
        INFO and reports ``cluster_state:ok`` with all 16384 slots ok; a primary that does
        not answer is named at once, before the others notice it is gone.
        """
        client = await self.connect()
        if not isinstance(client, RedisCluster):
            await self.guard(client.ping())
            return
        await self.guard(client.initialize())  # re-reads the slot map after a failure
        primaries = client.get_primaries()
        if not primaries:
            raise StoreUnavailable(f"session store unreachable ({self.describe()}): no primary")
        for node in primaries:
            try:
                info = await client.cluster_info(target_nodes=node)
            except STORE_FAILURES as exc:
                raise store_unavailable(
                    exc, self.settings, where=self.describe(), node=node.name
                ) from exc
            state, slots_ok = _cluster_health(info)
            if state != "ok" or slots_ok < CLUSTER_SLOTS:
                raise StoreUnavailable(
                    f"session store cluster not serving every slot (node {node.name} of "
                    f"{self.describe()}): cluster_state {state}, {slots_ok}/{CLUSTER_SLOTS} "
                    "slots ok"
                )

    def erased(self, client: Client) -> None:
        """Schedule the rewrite that takes an erasure off the embedded server's disk."""
        if self._embedded is None:
            return
        if self.compactor is None:
            self.compactor = ErasureCompactor(self.settings.erase_compaction_delay.total_seconds())
        self.compactor.erased(client)

    async def aclose(self) -> None:
        """Close the client and leave the embedded server."""
        if self.compactor is not None and self._client is not None:
            await self.compactor.flush()
        client, self._client = self._client, None
        channel, self.channel = self.channel, None
        if channel is not None:
            await channel.aclose()
        if client is not None:
            await client.aclose()
        supervisor, self.supervisor = self.supervisor, None
        if supervisor is not None:
            await supervisor.aclose()
        if self._embedded is not None:
            embedded, self._embedded = self._embedded, None
            await asyncio.to_thread(embedded.release)
        if self._registry is not None:
            self._registry.forget(self)


class Repository:
    """Base of the store's repositories: one backend and the settings (retention) they use."""

    def __init__(self, backend: StoreBackend, settings: StoreSettings) -> None:
        """Keep data through ``backend`` with ``settings``' retention."""
        self._backend = backend
        self.settings = settings

    @property
    def retention_ms(self) -> int:
        """Default retention in milliseconds."""
        return int(self.settings.data_retention.default.total_seconds() * 1000)

    @property
    def sensitive_ms(self) -> int:
        """Sensitive-class retention in milliseconds."""
        return int(self.settings.data_retention.sensitive.total_seconds() * 1000)

    def describe(self) -> str:
        """The store as shown in messages: a URL or nodes with credentials masked."""
        return self._backend.describe()

    async def _client(self) -> Client:
        return await self._backend.connect()

    async def _guard(self, awaitable: Any) -> Any:
        return await self._backend.guard(awaitable)

    async def _script(
        self, client: Client | TurnChannel, name: str, keys: Sequence[str], args: Sequence[Any]
    ) -> Any:
        return await self._guard(SCRIPTS.call(client, name, keys, args))


def _cluster_health(info: Any) -> tuple[str, int]:
    """``cluster_state`` and ``cluster_slots_ok`` of a CLUSTER INFO reply."""

    def text(value: Any) -> str:
        return value.decode() if isinstance(value, bytes) else str(value)

    fields = {text(k): text(v) for k, v in dict(info).items()}
    slots = fields.get("cluster_slots_ok", "0")
    return fields.get("cluster_state", "unknown"), int(slots) if slots.isdigit() else 0
