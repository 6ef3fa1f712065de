"""Build redis-py asyncio clients (standalone, cluster, unix socket, TLS, ACL users)."""

from __future__ import annotations

import ssl
from typing import Any

from redis.asyncio import Redis, UnixDomainSocketConnection
from redis.asyncio.cluster import ClusterNode, RedisCluster
from redis.asyncio.retry import Retry
from redis.backoff import ExponentialBackoff

from agentgpt.config.settings import StoreSettings
from agentgpt.errors import ConfigError
from agentgpt.store.cluster_client import FailoverCluster
from agentgpt.store.connection_pool import LeanBlockingPool, hiredis_packing

#: Either client: both speak the same commands for our single-slot usage.
Client = Redis | RedisCluster


def _retry() -> Retry:
    # Reconnects are a strategy object, not inline sleeps (redis-py's Retry/backoff).
    return Retry(ExponentialBackoff(cap=0.5, base=0.01), retries=3)


def _tls_kwargs(settings: StoreSettings) -> dict[str, Any]:
    if not settings.uses_tls:
        return {}
    return {
        "ssl": True,
        "ssl_ca_certs": str(settings.tls_ca_file) if settings.tls_ca_file else None,
        "ssl_certfile": str(settings.tls_cert_file) if settings.tls_cert_file else None,
        "ssl_keyfile": str(settings.tls_key_file) if settings.tls_key_file else None,
        "ssl_check_hostname": settings.tls_check_hostname,
        "ssl_cert_reqs": ssl.CERT_REQUIRED,
        "ssl_min_version": ssl.TLSVersion.TLSv1_2,
    }


def _common_kwargs(settings: StoreSettings) -> dict[str, Any]:
    password = settings.password.get_secret_value() if settings.password else None
    return {
        "username": settings.username,
        "password": password,
        "socket_timeout": settings.socket_timeout,
        "socket_connect_timeout": settings.connect_timeout,
        "retry": _retry(),
        "decode_responses": False,
        "health_check_interval": 30,
    }


def create_client(settings: StoreSettings, url: str | None = None) -> Client:
    """Return a client for ``settings`` (``url`` overrides, e.g. the embedded socket)."""
    target = url or settings.url
    if settings.cluster_mode:
        return _cluster_client(settings)
    if target is None:
        raise ConfigError("no store URL: set session_storage.config.url or AGENTGPT_STORE_URL")
    kwargs = _common_kwargs(settings)
    # A blocking pool: past max_connections, callers queue for a connection instead of
    # failing (10,000 sessions share a few dozen connections).
    pool_kwargs: dict[str, Any] = {
        "max_connections": settings.max_connections,
        "timeout": settings.pool_timeout,
    }
    if target.startswith("unix://"):
        pool = LeanBlockingPool(
            connection_class=hiredis_packing(UnixDomainSocketConnection),
            path=target.removeprefix("unix://"),
            **pool_kwargs,
            **kwargs,
        )
        return Redis.from_pool(pool)
    kwargs.update(_tls_kwargs(settings))
    kwargs.pop("ssl", None)  # implied by the rediss:// scheme
    target = _redis_scheme(target, tls=settings.uses_tls)
    pool = LeanBlockingPool.from_url(target, **pool_kwargs, **kwargs)
    pool.connection_class = hiredis_packing(pool.connection_class)
    return Redis.from_pool(pool)


def _redis_scheme(url: str, *, tls: bool) -> str:
    """``url`` in redis-py's schemes: ``rediss://`` whenever TLS is on.

    ``tls: true`` with a ``redis://`` URL asks for TLS: honoured (a plaintext server then
    fails the handshake: StoreUnavailable naming it), never passed to a plaintext
    connection class (a TypeError).
    """
    scheme, sep, rest = url.partition("://")
    base = scheme.split("+")[0].lower().replace("valkey", "redis")
    if tls:
        base = "rediss"
    return f"{base}{sep}{rest}"


def _cluster_client(settings: StoreSettings) -> RedisCluster:
    if not settings.nodes:
        raise ConfigError("cluster_mode is on but no nodes are listed (host:port each)")
    nodes = []
    for node in settings.nodes:
        host, _, port = node.rpartition(":")
        nodes.append(ClusterNode(host, int(port)))
    kwargs = _common_kwargs(settings)
    kwargs.update(_tls_kwargs(settings))
    # The cluster client has no blocking pool: give each node room for every concurrent
    # caller rather than failing with "Too many connections". FailoverCluster: a failover
    # re-reads the topology without dropping the healthy nodes' connections.
    return FailoverCluster(
        startup_nodes=nodes,
        max_connections=max(settings.max_connections, 4096),
        require_full_coverage=True,
        **kwargs,
    )
