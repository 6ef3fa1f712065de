"""The exception hierarchy: one root, split by who is at fault.

Every error carries a stable ``code`` (used as the problem+json ``type`` suffix by the
server), an HTTP ``status`` and a CLI ``exit_code``, so that each layer maps errors the
same way without a table of its own.
"""

from __future__ import annotations

from typing import ClassVar


class AgentGPTError(Exception):
    """Root of every error this package raises on purpose."""

    code: ClassVar[str] = "error"
    status: ClassVar[int] = 500
    exit_code: ClassVar[int] = 1


# --- the caller's fault: bad input or bad configuration ---------------------------------


class UserError(AgentGPTError):
    """The request or the input is wrong; retrying it unchanged fails again."""

    code = "bad-request"
    status = 400
    exit_code = 2


class InvalidInput(UserError):
    """A message, id or argument is malformed (empty, too large, not UTF-8 ...)."""

    code = "invalid-input"
    status = 422


class MessageTooLarge(InvalidInput):
    """A message exceeds the configured size limit."""

    code = "message-too-large"
    status = 413


class InvalidSessionId(InvalidInput):
    """A session id is not of the shape this service issues."""

    code = "invalid-session-id"


class ConfigError(UserError):
    """The configuration is invalid or names something that cannot be reached."""

    code = "config-error"
    status = 500
    exit_code = 78  # EX_CONFIG


class SessionNotFound(UserError):
    """No such session: never created, expired, closed or erased."""

    code = "session-not-found"
    status = 404
    exit_code = 2


class SessionClosed(UserError):
    """The session was closed and takes no more turns."""

    code = "session-closed"
    status = 409


class AlreadyDone(UserError):
    """The operation was already applied (e.g. an alert acknowledged twice)."""

    code = "conflict"
    status = 409


# --- limits and contention: retry later -------------------------------------------------


class LimitExceeded(AgentGPTError):
    """A configured limit was reached; retry later or raise the limit."""

    code = "limit-exceeded"
    status = 429
    exit_code = 75  # EX_TEMPFAIL


class SessionLimitExceeded(LimitExceeded):
    """Admission refused: ``max_concurrent_sessions`` sessions are already active."""

    code = "session-limit"


class RateLimited(LimitExceeded):
    """Too many requests from one caller; ``retry_after`` seconds until the next is allowed."""

    code = "rate-limited"

    def __init__(self, message: str, retry_after: float = 1.0) -> None:
        """Say what was limited and when to retry."""
        super().__init__(message)
        self.retry_after = retry_after


class PoolTimeout(LimitExceeded):
    """No agent became free within the pool's ``ready_timeout``."""

    code = "pool-timeout"
    status = 503


class LockError(AgentGPTError):
    """Base of the distributed-lock errors."""

    code = "lock-error"
    status = 409
    exit_code = 75


class LockTimeout(LockError):
    """The lock could not be acquired within the wait timeout."""

    code = "lock-timeout"


class LockNotHeld(LockError):
    """An operation needed a lock that this holder no longer owns."""

    code = "lock-not-held"


class StaleFencingToken(LockError):
    """A write carried a fencing token older than one already committed."""

    code = "stale-fencing-token"


class ConcurrentUpdate(LockError):
    """The session changed between load and commit; reload and retry the turn."""

    code = "concurrent-update"


# --- access ----------------------------------------------------------------------------


class AccessDenied(AgentGPTError):
    """The caller may not do this (wrong owner, scope or token)."""

    code = "access-denied"
    status = 403
    exit_code = 77  # EX_NOPERM


class InvalidToken(AccessDenied):
    """The API token is missing, malformed, expired or not signed by a trusted key."""

    code = "invalid-token"
    status = 401

    def __init__(self, message: str = "invalid token", reason: str | None = None) -> None:
        """``message`` reaches the caller; ``reason`` is for the operator's logs only."""
        super().__init__(message)
        self.reason = reason or message


# --- infrastructure --------------------------------------------------------------------


class StoreError(AgentGPTError):
    """The session store failed."""

    code = "store-error"
    status = 503
    exit_code = 69  # EX_UNAVAILABLE


class StoreUnavailable(StoreError):
    """The store cannot be reached; check the URL, network, TLS and credentials."""

    code = "store-unavailable"


class DurabilityNotReached(StoreError):
    """A commit did not reach the configured durability in time: not acknowledged.

    The turn may be on the primary alone; a retry with the same ``Idempotency-Key`` is
    safe (it replays the turn and waits for its durability again).
    """

    code = "durability-not-reached"


class EmbeddedServerError(StoreUnavailable):
    """The embedded Valkey server could not be started or reached."""

    code = "embedded-server"


class StoreScriptError(AgentGPTError):
    """One of our Lua scripts failed on the server: a bug of ours, not a reason to retry."""

    code = "store-script"
    status = 500
    exit_code = 70  # EX_SOFTWARE


class KeyProviderUnavailable(StoreError):
    """The key provider (local keyset, KMS) cannot be reached or refused the request."""

    code = "key-provider-unavailable"


class ServiceUnavailable(AgentGPTError):
    """The HTTP service could not be started or reached."""

    code = "service-unavailable"
    status = 503
    exit_code = 69  # EX_UNAVAILABLE


class AgentError(AgentGPTError):
    """An agent failed while processing a turn; the turn was not committed."""

    code = "agent-error"
    status = 500


# --- end-to-end encryption (issue 17) ---------------------------------------------------


class EndToEndError(UserError):
    """A message or handshake of the end-to-end protocol was refused; nothing was stored."""

    code = "e2e"
    status = 400


class UnknownProtocol(EndToEndError):
    """``apply_encryption`` named a protocol this service does not speak."""

    code = "e2e-unknown-protocol"


class EndToEndRequired(EndToEndError):
    """A plain message reached a session (or service) that requires end-to-end encryption."""

    code = "e2e-required"


class EndToEndNotEstablished(EndToEndError):
    """An encrypted message reached a session whose client has not run the handshake."""

    code = "e2e-not-established"


class PrekeyExpired(EndToEndError):
    """The handshake used a prekey that is retired or already consumed."""

    code = "e2e-prekey-expired"


class IdentityKeyChanged(EndToEndError):
    """A prekey bundle is signed by another key than the one the client pinned."""

    code = "e2e-identity-changed"


class BrokenMessage(EndToEndError):
    """An end-to-end message failed authentication or parsing; the state is unchanged."""

    code = "e2e-broken-message"


class ReplayedMessage(BrokenMessage):
    """An end-to-end message was already decrypted once (or its key was purged)."""

    code = "e2e-replayed-message"


class TooManySkipped(BrokenMessage):
    """An end-to-end message skips more messages than the out-of-order window allows."""

    code = "e2e-too-many-skipped"


class RuntimeUnavailable(AgentGPTError):
    """An isolated runtime cannot run on this machine (names what is missing)."""

    code = "runtime-unavailable"
    status = 503
    exit_code = 69  # EX_UNAVAILABLE


class WorkerLimitExceeded(AgentError):
    """The session's agent exceeded its region's limits (memory, time); the turn was dropped."""

    code = "runtime-limit"
    status = 422


class WorkerFailed(AgentError):
    """The session's isolated worker died or broke the turn protocol; it was replaced."""

    code = "runtime-worker-failed"
    status = 500


# --- data integrity ---------------------------------------------------------------------


class IntegrityError(AgentGPTError):
    """Stored data failed authentication or structural checks; it was not used."""

    code = "integrity"
    status = 500
    exit_code = 1


class CodecError(IntegrityError):
    """A stored record could not be decoded (unknown version, truncated, corrupt)."""

    code = "codec"
