"""How durable a commit is before the API acknowledges it: ``local``, ``aof`` or ``replica``.

``local``: the primary applied the turn (it is in its memory and AOF buffer); a crash of the
primary before replication or fsync can lose it. ``aof``: ``WAITAOF 1 0`` - the primary has
fsynced it to its AOF, so a restart of that primary finds it. ``replica``: ``WAIT n`` - ``n``
replicas hold it, so a failover that promotes one of them keeps it.

The wait is queued on the same pipeline (so the same connection) as the write: ``WAIT`` and
``WAITAOF`` count the calling connection's own writes. A commit that does not reach its level
within the timeout raises ``DurabilityNotReached`` (503): the turn may be stored on the
primary alone, and a retry with the same ``Idempotency-Key`` replays it and waits again.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from agentgpt.config.settings import StoreSettings
from agentgpt.errors import DurabilityNotReached


@dataclass(frozen=True, slots=True)
class Durability:
    """The durability level of commits and the wait that proves it."""

    level: str = "local"
    replicas: int = 1
    timeout_ms: int = 1000

    @classmethod
    def of(cls, settings: StoreSettings) -> Durability:
        """The level configured in ``settings``."""
        return cls(
            level=settings.durability,
            replicas=settings.durability_replicas,
            timeout_ms=int(settings.durability_timeout.total_seconds() * 1000),
        )

    @property
    def waits(self) -> bool:
        """True when commits wait for more than the primary's memory."""
        return self.level != "local"

    def queue(self, pipe: Any, **route: Any) -> None:
        """Queue the wait after the writes (``route``: ``target_nodes`` on a cluster)."""
        if self.level == "aof":
            pipe.execute_command("WAITAOF", 1, 0, self.timeout_ms, **route)
        elif self.level == "replica":
            pipe.execute_command("WAIT", self.replicas, self.timeout_ms, **route)

    def check(self, reply: Any, where: str) -> None:
        """Raise ``DurabilityNotReached`` unless ``reply`` (of ``queue``'s wait) proves it."""
        if isinstance(reply, Exception):
            raise DurabilityNotReached(
                f"turn not acknowledged: {self.level} durability could not be checked on "
                f"{where} ({reply}); retry it with the same Idempotency-Key"
            )
        if self.level == "aof":
            local = int(reply[0])
            if local < 1:
                raise DurabilityNotReached(
                    f"turn not acknowledged: the primary of {where} did not fsync its AOF "
                    f"within {self.timeout_ms} ms; retry it with the same Idempotency-Key"
                )
        elif self.level == "replica":
            acked = int(reply)
            if acked < self.replicas:
                raise DurabilityNotReached(
                    f"turn not acknowledged: {acked} of {self.replicas} replica(s) of {where} "
                    f"confirmed it within {self.timeout_ms} ms; retry it with the same "
                    "Idempotency-Key"
                )
