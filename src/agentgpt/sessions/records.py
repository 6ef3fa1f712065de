"""What a session stores: metadata fields, turn-log entries and sensitive records."""

from __future__ import annotations

import msgspec

from agentgpt.agents.response import Action, Entity, Sentiment

#: Record kinds, bound into every ciphertext's associated data.
KIND_CONTEXT = "ctx"
KIND_LOG = "log"
KIND_VAULT = "vault"


def associated_data(session_id: str, kind: str, version: int) -> bytes:
    """AEAD associated data binding a record to its session, kind and version."""
    return f"ag1|{session_id}|{kind}|{version}".encode()


class TurnRecord(msgspec.Struct, kw_only=True, array_like=True):
    """One entry of the append-only turn log (PII redacted; ``prev`` chains the log)."""

    seq: int
    ts: float
    user: str
    reply: str
    intent: str | None = None
    topic: str | None = None
    confidence: float = 0.0
    sentiment: Sentiment = msgspec.field(default_factory=Sentiment)
    entities: list[Entity] = msgspec.field(default_factory=list)
    actions: list[Action] = msgspec.field(default_factory=list)
    fence: int | None = None
    latency_ms: float = 0.0
    prev: bytes = b""


class VaultRecord(msgspec.Struct, kw_only=True, array_like=True):
    """Raw PII values captured at one turn (sensitive retention class)."""

    seq: int
    ts: float
    values: dict[str, str]


class SessionMeta(msgspec.Struct, kw_only=True):
    """A session's metadata as read from its hash."""

    owner: str
    created: float
    capabilities: list[str]
    wrapped_key: bytes
    version: int = 0
    head: bytes = b""
    last_active: float = 0.0
    fence: int | None = None
    fence_issued: int = 0
    closed: bool = False

    @classmethod
    def from_hash(cls, raw: dict[bytes, bytes]) -> SessionMeta:
        """Parse the store's hash (bytes fields) into a SessionMeta."""

        def text(name: str, default: str = "") -> str:
            value = raw.get(name.encode())
            return value.decode() if value is not None else default

        fence = text("fence")
        caps = text("caps")
        return cls(
            owner=text("owner"),
            created=int(text("created", "0")) / 1000,
            capabilities=caps.split(",") if caps else [],
            wrapped_key=raw.get(b"dk", b""),
            version=int(text("version", "0")),
            head=raw.get(b"head", b""),
            last_active=int(text("last_active", "0")) / 1000,
            fence=int(fence) if fence else None,
            fence_issued=int(text("fence_issued", "0")),
            closed=text("closed") == "1",
        )
