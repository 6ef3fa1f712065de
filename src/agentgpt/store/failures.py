"""What redis-py raises when the store cannot serve us, mapped to ``StoreUnavailable``.

The one mapping of the store layer: connection refused or reset, timeouts, failed TLS
handshakes (``ssl.SSLError`` is an ``OSError``), authentication, a cluster that cannot be
reached or does not cover a slot (``RedisClusterException`` is not a ``RedisError``), and
any other error reply. Everything above the store (sessions, the service, the CLI) sees
``StoreUnavailable`` only: 503 problem+json in the service, exit 69 in the CLI, one line.
Messages name the store through ``describe_store`` (credentials masked) and are scrubbed of
its password.
"""

from __future__ import annotations

from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import RedisClusterException, RedisError
from redis.exceptions import TimeoutError as RedisTimeoutError

from agentgpt.config.addresses import describe_store, mask_node, scrub
from agentgpt.config.settings import StoreSettings
from agentgpt.errors import StoreUnavailable

#: Every exception of the client library (or its sockets) that means "the store failed".
STORE_FAILURES: tuple[type[Exception], ...] = (RedisError, RedisClusterException, OSError)

#: Of those, the ones that mean "could not reach it" rather than "it answered an error".
_UNREACHABLE: tuple[type[Exception], ...] = (
    RedisConnectionError, RedisTimeoutError, RedisClusterException, OSError, TimeoutError,
)  # fmt: skip

HINT = "check the URL or nodes, the network, TLS settings and credentials"


def reason(exc: BaseException, settings: StoreSettings | None = None) -> str:
    """The library's message on one line, without the store's password."""
    text = " ".join(str(exc).split()) or type(exc).__name__
    return scrub(text, settings)


def store_unavailable(
    exc: BaseException, settings: StoreSettings | None, *, where: str | None = None,
    node: str | None = None, hint: bool = False,
) -> StoreUnavailable:  # fmt: skip
    """The ``StoreUnavailable`` to raise for ``exc`` (raise it ``from exc``).

    ``where`` names the store (default: ``describe_store(settings)``); ``node`` the node
    that failed, by default the one redis-py's cluster client names, if any.
    """
    if where is None:
        where = describe_store(settings) if settings is not None else "session store"
    node = node or getattr(exc, "last_failed_node_name", None)
    if isinstance(node, str) and node:
        where = f"node {mask_node(node)} of {where}"
    state = "unreachable" if isinstance(exc, _UNREACHABLE) else "failed"
    tail = f"; {HINT}" if hint else ""
    why = reason(exc, settings).rstrip(".")
    return StoreUnavailable(f"session store {state} ({where}): {why}{tail}")
