"""The cluster client: redis-py's ``RedisCluster`` with resets that spare the healthy nodes.

Why this exists (issue 14, a primary killed under load): redis-py 8.1's asyncio cluster
client "resets" itself by calling ``aclose()``, which disconnects every connection of every
node, including the ones other tasks are using mid-command. It does so after a CLUSTERDOWN
or slot-not-covered reply, every ``reinitialize_steps`` MOVED replies, on any connection
error inside a pipeline (then sleeps 0.25 s), and when a topology refresh fails. During a
failover dozens of concurrent turns take those paths: each reset tears down the connections
of turns on healthy shards, which then fail too (a connection closed under a handshake
raises ``'NoneType' object has no attribute 'writelines'``, an ``AttributeError`` outside
every retry list: a 500), retry, and reset again. Measured with redis-py's own client
(``tests/integration/test_cluster_client.py``): with one primary dead, 0 pipelined writes on
the healthy shards succeeded in 3 s; and the cluster load tests failed with 2 s leases
("Redis Cluster cannot be connected": live nodes refused the reconnect storms).

Inside a command (``execute_command``, a pipeline's ``execute``) this client instead:

* treats ``aclose()`` as "re-read the topology before the next command" (``_initialize``);
  redis-py's refresh then reconnects the kept nodes' connections lazily, each one after
  the command it is running;
* leaves the connections alone when a refresh fails (the error still reaches the caller;
  redis-py closes them all, also when a readiness check refreshes during an outage);
* refreshes at most once per ``REFRESH_INTERVAL_S``: while a dead primary is still in the
  slot map, every command to it fails at once and asks for a refresh; one in flight per
  interval is enough, and the healthy shards keep their connections meanwhile.

``aclose()`` called by the owner (outside a command) closes everything, as documented.
Connections also turn a writer closed under them into ``ConnectionError`` (retried and
reported as the store being unavailable) rather than an ``AttributeError``.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterable
from contextvars import ContextVar
from typing import Any

from redis.asyncio.cluster import ClusterPipeline, RedisCluster
from redis.asyncio.connection import Connection, SSLConnection
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import RedisClusterException

#: The shortest time between two topology refreshes asked for by failing commands.
REFRESH_INTERVAL_S = 0.25

#: True while the current task runs a command of a ``FailoverCluster``.
_in_command: ContextVar[bool] = ContextVar("agentgpt_cluster_in_command", default=False)


class _WriterGoneMixin:
    """Report a writer closed under a send as ``ConnectionError``, not ``AttributeError``."""

    host: str
    port: int

    async def send_packed_command(
        self, command: bytes | str | Iterable[bytes], check_health: bool = True
    ) -> None:
        """Send ``command``; a connection closed meanwhile raises ``ConnectionError``."""
        try:
            await super().send_packed_command(command, check_health)  # type: ignore[misc]
        except (AttributeError, TypeError) as exc:
            # Another task disconnected this connection while we wrote to it (redis-py
            # has already dropped the socket): the command was not sent.
            raise RedisConnectionError(
                f"connection to {self.host}:{self.port} closed while sending: {exc}"
            ) from exc


class _Connection(_WriterGoneMixin, Connection):
    """A TCP connection of the cluster client."""


class _SSLConnection(_WriterGoneMixin, SSLConnection):
    """A TLS connection of the cluster client."""


class FailoverCluster(RedisCluster):
    """``RedisCluster`` whose internal resets re-read the topology and keep connections."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        """Same arguments as ``RedisCluster``."""
        super().__init__(*args, **kwargs)
        tls = self.connection_kwargs["connection_class"] is SSLConnection
        connection_class = _SSLConnection if tls else _Connection
        # Nodes discovered later are built from this same dict (the nodes manager's).
        self.connection_kwargs["connection_class"] = connection_class
        for node in self.nodes_manager.startup_nodes.values():
            node.connection_class = connection_class
        self._refreshed_at = -REFRESH_INTERVAL_S
        self._initialized_once = False
        #: Topology refreshes run after a failure (for tests and metrics).
        self.refreshes = 0

    async def execute_command(self, *args: Any, **kwargs: Any) -> Any:
        """Run a command (see ``RedisCluster.execute_command``)."""
        token = _in_command.set(True)
        try:
            return await super().execute_command(*args, **kwargs)
        finally:
            _in_command.reset(token)

    def pipeline(self, transaction: Any | None = None, shard_hint: Any | None = None) -> Any:
        """A pipeline whose failures reset this client as its commands do."""
        if shard_hint:
            raise RedisClusterException("shard_hint is deprecated in cluster mode")
        return _Pipeline(self, transaction)  # type: ignore[abstract]  # as redis-py builds its own

    async def aclose(self) -> None:
        """Close every connection; inside a command, only mark the topology for a refresh."""
        if _in_command.get():
            self._initialize = True
            return
        await super().aclose()
        self._initialized_once = False

    async def initialize(
        self,
        additional_startup_nodes_info: list[tuple[str, int]] | None = None,
        last_failed_node_name: str | None = None,
    ) -> RedisCluster:
        """Read the topology (the first time, or when a failure asked for it)."""
        if not self._initialize:
            return self
        if not self._initialized_once:
            await super().initialize(additional_startup_nodes_info, last_failed_node_name)
            self._initialized_once = True
            return self
        if self._lock is None:
            self._lock = asyncio.Lock()
        async with self._lock:
            if not self._initialize:
                return self
            recent = time.monotonic() - self._refreshed_at < REFRESH_INTERVAL_S
            if recent and _in_command.get():
                # Refreshed a moment ago: use that map (a command to a node still dead
                # fails at once and asks again after the interval).
                self._initialize = False
                return self
            self._refreshed_at = time.monotonic()
            self.refreshes += 1
            await self.nodes_manager.initialize(
                additional_startup_nodes_info=additional_startup_nodes_info,
                last_failed_node_name=last_failed_node_name,
            )
            self._initialize = False
        return self


class _Pipeline(ClusterPipeline):
    """A cluster pipeline run as a command of its ``FailoverCluster`` (see the module)."""

    async def execute(self, raise_on_error: bool = True, allow_redirections: bool = True) -> Any:
        """Execute the queued commands (see ``ClusterPipeline.execute``)."""
        token = _in_command.set(True)
        try:
            return await super().execute(raise_on_error, allow_redirections)
        finally:
            _in_command.reset(token)
