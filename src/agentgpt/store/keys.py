"""Every key the project writes, built in one place (no f-string keys elsewhere).

All keys of one session share the hash tag ``{<session_id>}``, so a session lives in one
cluster slot and every per-session script is single-slot (DESIGN invariant 1). Keys that
all sessions write (the activity and expiry schedules) are sharded over
``SCHEDULE_SHARDS`` tags so that no single key or slot takes every write.
"""

from __future__ import annotations

import hashlib
import re
import zlib
from typing import NamedTuple

from agentgpt.errors import InvalidInput, InvalidSessionId

PREFIX = "ag"
#: Schema version written by ``session store init`` and checked at start-up.
SCHEMA_VERSION = 1
SCHEMA_KEY = f"{PREFIX}:schema"
SWEEPER_KEY = f"{PREFIX}:sweeper"
REWRAP_LEADER_KEY = f"{PREFIX}:rewrap"  # issue 4: lease of the one background re-wrap
SCHEDULE_SHARDS = 16

# Ids we issue are URL-safe base64 (see sessions.ids); accept the same alphabet for ids
# callers bring, so a hash tag can never contain braces, glob characters or path parts.
_SESSION_ID = re.compile(r"[A-Za-z0-9_-]{8,128}")
_RESOURCE = re.compile(r"[A-Za-z0-9_.:-]{1,200}")
SESSION_RESOURCE_PREFIX = "session_"


def validate_session_id(session_id: object) -> str:
    """Return ``session_id`` if it has the shape of a session id, else raise."""
    if not isinstance(session_id, str) or not _SESSION_ID.fullmatch(session_id):
        shown = repr(session_id)[:40]
        raise InvalidSessionId(
            f"invalid session id {shown}: expected 8-128 characters of A-Z, a-z, 0-9, '_' or '-'"
        )
    return session_id


class SessionKeys(NamedTuple):
    """The keys of one session (all in the slot of its hash tag)."""

    meta: str
    ctx: str
    log: str
    lock: str
    queue: str
    heartbeats: str
    idempotency: str

    def vault(self, seq: int) -> str:
        """Key of the sensitive record captured at turn ``seq`` (7-day retention class)."""
        return f"{self.meta[:-5]}:v:{seq}"

    @property
    def vault_pattern_prefix(self) -> str:
        """Prefix shared by every vault key of the session."""
        return f"{self.meta[:-5]}:v:"


def session_keys(session_id: str) -> SessionKeys:
    """Return the keys of ``session_id`` (validated)."""
    tag = f"{PREFIX}:{{{validate_session_id(session_id)}}}"
    return SessionKeys(
        meta=f"{tag}:meta",
        ctx=f"{tag}:ctx",
        log=f"{tag}:log",
        lock=f"{tag}:lock",
        queue=f"{tag}:lockq",
        heartbeats=f"{tag}:lockhb",
        idempotency=f"{tag}:idem",
    )


#: SCAN pattern of every session's metadata hash (braces are literal in SCAN globs).
META_MATCH = f"{PREFIX}:{{*}}:meta"


def session_id_of_meta(key: str | bytes) -> str | None:
    """Return the session id of a metadata key found by ``META_MATCH``, else None."""
    text = key.decode() if isinstance(key, bytes) else key
    head, tail = f"{PREFIX}:{{", "}:meta"
    if not (text.startswith(head) and text.endswith(tail)):
        return None
    candidate = text[len(head) : -len(tail)]
    return candidate if _SESSION_ID.fullmatch(candidate) else None


class LockKeys(NamedTuple):
    """Keys of one lock resource; ``fence`` is the hash holding the issued-token counter."""

    lock: str
    queue: str
    heartbeats: str
    fence: str
    session_id: str | None


def lock_keys(resource: str) -> LockKeys:
    """Return the keys of a lock resource.

    ``session_<id>`` (the guide's form) maps onto the session's own lock, so a lock taken
    by user code and the turn lock of ``SessionManager.handle`` are the same lock, and the
    fencing counter lives in the session's metadata.
    """
    if not isinstance(resource, str) or not _RESOURCE.fullmatch(resource):
        raise InvalidInput(
            f"invalid lock resource {repr(resource)[:40]}: use 1-200 characters of "
            "A-Z, a-z, 0-9, '_', '.', ':' or '-'"
        )
    if resource.startswith(SESSION_RESOURCE_PREFIX):
        candidate = resource[len(SESSION_RESOURCE_PREFIX) :]
        if _SESSION_ID.fullmatch(candidate):
            keys = session_keys(candidate)
            return LockKeys(keys.lock, keys.queue, keys.heartbeats, keys.meta, candidate)
    tag = f"{PREFIX}:lock:{{{resource}}}"
    return LockKeys(f"{tag}:lock", f"{tag}:q", f"{tag}:hb", f"{tag}:fence", None)


def _shard(session_id: str) -> int:
    return zlib.crc32(session_id.encode()) % SCHEDULE_SHARDS


def active_key(shard: int) -> str:
    """Sorted set of live sessions by last activity (ms), one of ``SCHEDULE_SHARDS``."""
    return f"{PREFIX}:active:{{s{shard:02d}}}"


def expiry_key(shard: int) -> str:
    """Sorted set of sessions by retention deadline (ms), swept for ``expired`` hooks."""
    return f"{PREFIX}:expiry:{{s{shard:02d}}}"


def shard_of(session_id: str) -> int:
    """Return the schedule shard of ``session_id``."""
    return _shard(session_id)


def user_key(user_id: str) -> str:
    """Set of the session ids of one user (for listing and ``erase_user``).

    The user id is hashed so the key name carries no customer identifier.
    """
    digest = hashlib.sha256(user_id.encode()).hexdigest()[:32]
    return f"{PREFIX}:user:{{{digest}}}"


def owner_index_key(owner_hash: str) -> str:
    """Set of the session ids of one owner, by the owner's keyed hash (``h1:<hex>``)."""
    return f"{PREFIX}:user:{{{_owner_tag(owner_hash)}}}"


def _owner_tag(owner_hash: str) -> str:
    return owner_hash.removeprefix("h1:")[:32]


# --- admission (issue 12) ------------------------------------------------------------------
# Every admission key shares the tag {adm}: the global count and a user's count are taken
# in one single-slot script, on a cluster too (the price: one slot takes every create and
# one ZADD per turn; a ZCARD-bounded sorted set, so the slot's memory stays bounded).


def admission_live_key() -> str:
    """Sorted set of admitted sessions by last activity (ms): the global limit's count."""
    return f"{PREFIX}:adm:{{adm}}:live"


def admission_user_key(owner_hash: str) -> str:
    """Sorted set of one owner's admitted sessions by last activity: the per-user count."""
    return f"{PREFIX}:adm:{{adm}}:u:{_owner_tag(owner_hash)}"


# --- analytics (issue 5) -------------------------------------------------------------------
# Aggregate buckets are sharded over ``AnalyticsSettings.shards`` hash tags: a writer sticks
# to one shard, so every bucket of one shard (minutes, hours, days) shares a slot and a
# reader sums a whole shard in one single-slot script.

ANALYTICS_RESOLUTIONS = ("m", "h", "d")
_SUBJECT = re.compile(r"[^A-Za-z0-9_.:-]")


def analytics_bucket_key(shard: int, resolution: str, index: int) -> str:
    """Hash of one aggregate bucket: ``resolution`` m|h|d, ``index`` epoch minutes|hours|days."""
    if resolution not in ANALYTICS_RESOLUTIONS:
        raise InvalidInput(f"unknown bucket resolution {resolution!r}")
    return f"{PREFIX}:an:{{an{shard:02d}}}:{resolution}{index}"


def alert_stream_key() -> str:
    """Stream of alerts (ordered, capped with MAXLEN)."""
    return f"{PREFIX}:an:{{alerts}}:stream"


def alert_ack_keys() -> tuple[str, str]:
    """(sorted set of acknowledged alert ids by ack time, hash of id -> operator)."""
    return f"{PREFIX}:an:{{alerts}}:acked", f"{PREFIX}:an:{{alerts}}:ackby"


#: The one alert rule whose subject is a session id (erasure removes its entries).
AUTH_FAILURE_RULE = "auth_failures"


def alert_cooldown_key(rule: str, subject: str) -> str:
    """Marker that de-duplicates an alert of ``rule`` on ``subject`` during its cool-down."""
    digest = hashlib.sha256(subject.encode()).hexdigest()[:16]
    return f"{PREFIX}:an:{{alerts}}:cool:{_SUBJECT.sub('_', rule)[:40]}:{digest}"


def auth_failures_key(session_id: str) -> str:
    """Sorted set of a session's recent failed authentications (in the session's slot).

    The verification flag itself is the ``flagged`` field of the session's meta hash, so
    the turn path reads it with the meta it loads anyway and erasure removes it.
    """
    return f"{PREFIX}:{{{validate_session_id(session_id)}}}:authfail"


def analytics_leader_key() -> str:
    """Lease held by the one process that evaluates the alert rules each interval."""
    return f"{PREFIX}:an:leader"


def rate_key(subject: str) -> str:
    """Token bucket of one API caller (hashed: the key name carries no identifier)."""
    digest = hashlib.sha256(subject.encode()).hexdigest()[:32]
    return f"{PREFIX}:rate:{{{digest}}}"


# --- end-to-end encryption (issue 17) ------------------------------------------------------
# The deployment's prekey bundle: one hash tag, so a one-time prekey is taken atomically.
E2E_TAG = f"{PREFIX}:e2e:{{e2e}}"


def e2e_identity_key() -> str:
    """The deployment's identity keys, wrapped by the key provider's KEK."""
    return f"{E2E_TAG}:identity"


def e2e_signed_prekeys_key() -> str:
    """Hash of signed prekeys by id (wrapped private + public record), plus ``current``."""
    return f"{E2E_TAG}:spk"


def e2e_one_time_prekeys_key() -> str:
    """Hash of one-time prekeys' wrapped private keys by id (deleted when consumed)."""
    return f"{E2E_TAG}:opk"


def e2e_free_prekeys_key() -> str:
    """List of one-time prekeys not yet handed out (``id|public key``)."""
    return f"{E2E_TAG}:opk:free"


def e2e_prekey_counter_key() -> str:
    """Counter issuing prekey ids."""
    return f"{E2E_TAG}:ids"


# --- runtime limits (issue 18) -------------------------------------------------------------


def limits_key() -> str:
    """Hash of the resource policy of each region (field: region, value: msgpack policy)."""
    return f"{PREFIX}:limits"
