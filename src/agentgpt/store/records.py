"""What the store holds for a session: the record bindings, metadata and vault records.

These layouts are the store's data format (the Lua scripts write the metadata hash that
``SessionMeta.from_hash`` reads), shared by the session engine that writes them and the
audits (``agentgpt.security.verify``, ``leakage_scan``) that read them. The turn-log entry,
which is built from an agent's response, is ``agentgpt.sessions.records.TurnRecord``.
"""

from __future__ import annotations

from collections.abc import Mapping

import msgspec

#: Field of the session's meta hash holding the verification flag's expiry (epoch ms),
#: set by ``an_auth.lua`` and read by the turn path with the rest of the meta.
FLAG_FIELD = b"flagged"

#: Record kinds, bound into every ciphertext's associated data.
KIND_CONTEXT = "ctx"
KIND_LOG = "log"
KIND_VAULT = "vault"


def associated_data(session_id: str, kind: str, version: int) -> bytes:
    """AEAD associated data binding a record to its session, kind and version."""
    return f"ag1|{session_id}|{kind}|{version}".encode()


def flag_active(meta: Mapping[bytes, bytes], now: float) -> bool:
    """True when a session's meta carries a verification flag that has not expired."""
    value = meta.get(FLAG_FIELD)
    return value is not None and int(value) > now * 1000


class VaultRecord(msgspec.Struct, kw_only=True, array_like=True):
    """Raw PII values captured at one turn (sensitive retention class)."""

    seq: int
    ts: float
    values: dict[str, str]


class SessionMeta(msgspec.Struct, kw_only=True):
    """A session's metadata as read from its hash."""

    owner: str
    owner_hash: str
    created: float
    capabilities: list[str]
    wrapped_key: bytes
    version: int = 0
    head: bytes = b""
    last_active: float = 0.0
    fence: int | None = None
    fence_issued: int = 0
    closed: bool = False
    region: str = ""  # "" for sessions created before regions (issue 18): the configured one
    runtime: str = ""  # an isolated runtime's name, "" for the service's own process
    cpu_guarantee: float | None = None

    @classmethod
    def from_hash(cls, raw: dict[bytes, bytes]) -> SessionMeta:
        """Parse the store's hash (bytes fields) into a SessionMeta."""

        # Read on every turn: bytes keys, no helper calls (int() takes ASCII bytes as is).
        get = raw.get
        fence = get(b"fence")
        runtime, _, cpu = get(b"rt", b"").decode().partition(":")  # "sandbox" or "sandbox:0.5"
        caps = get(b"caps", b"").decode()
        return cls(
            owner=get(b"owner", b"").decode(),  # only sessions from before owners were hashed
            owner_hash=get(b"oh", b"").decode(),
            created=int(get(b"created", b"0")) / 1000,
            capabilities=caps.split(",") if caps else [],
            wrapped_key=get(b"dk", b""),
            version=int(get(b"version", b"0")),
            head=get(b"head", b""),
            last_active=int(get(b"last_active", b"0")) / 1000,
            fence=int(fence) if fence else None,
            fence_issued=int(get(b"fence_issued", b"0")),
            closed=get(b"closed") == b"1",
            region=get(b"region", b"").decode(),
            runtime=runtime,
            cpu_guarantee=float(cpu) if cpu else None,
        )
