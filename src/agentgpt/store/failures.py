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

import logging

from redis.exceptions import (
    BusyLoadingError,
    ClusterDownError,
    NoScriptError,
    OutOfMemoryError,
    ReadOnlyError,
    RedisClusterException,
    RedisError,
    ResponseError,
    TryAgainError,
)
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

from agentgpt.config.addresses import describe_store, mask_node, scrub
from agentgpt.config.settings import StoreSettings
from agentgpt.errors import StoreScriptError, StoreUnavailable

#: Every exception of the client library (or its sockets) that means "the store failed".
STORE_FAILURES: tuple[type[Exception], ...] = (RedisError, RedisClusterException, OSError)

#: Of those, the ones that mean "could not reach it" rather than "it answered an error".
_UNREACHABLE: tuple[type[Exception], ...] = (
    RedisConnectionError,
    RedisTimeoutError,
    RedisClusterException,
    OSError,
    TimeoutError,
)

#: Error replies that mean the server cannot serve right now (retry), even from a script.
_TRANSIENT_REPLIES: tuple[type[Exception], ...] = (
    BusyLoadingError,
    ClusterDownError,
    NoScriptError,
    OutOfMemoryError,
    ReadOnlyError,
    TryAgainError,
)

log = logging.getLogger("agentgpt.store")

HINT = "check the URL or nodes, the network, TLS settings and credentials"


def reason(exc: BaseException, settings: StoreSettings | None = None) -> str:
    """The library's message on one line, without the store's password."""
    text = " ".join(str(exc).split()) or type(exc).__name__
    return scrub(text, settings)


def store_unavailable(
    exc: BaseException,
    settings: StoreSettings | None,
    *,
    where: str | None = None,
    node: str | None = None,
    hint: bool = False,
) -> StoreUnavailable:
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


def script_failure(exc: BaseException) -> StoreScriptError | None:
    """The ``StoreScriptError`` for an error raised inside one of our scripts, else None.

    A Lua error (a bug of ours, or data the script did not expect) is reported as an
    internal error (500, logged), not as an unavailable store that invites a retry.
    """
    if not isinstance(exc, ResponseError) or isinstance(exc, _TRANSIENT_REPLIES):
        return None
    text = str(exc)
    if "script" not in text.lower():
        return None
    log.error("a store script failed: %s", reason(exc))
    return StoreScriptError(f"a session store script failed ({reason(exc)}); this is a bug")


def timed_out(exc: BaseException) -> bool:
    """True when ``exc`` (or the client error behind it) is a timeout: the call may have run."""
    cause = exc.__cause__ if exc.__cause__ is not None else exc
    return isinstance(exc, TimeoutError) or isinstance(cause, RedisTimeoutError | TimeoutError)
