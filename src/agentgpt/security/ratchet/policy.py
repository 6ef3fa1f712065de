"""A session's end-to-end policy: the protocol it speaks and its rotation period."""

from __future__ import annotations

from datetime import timedelta

from agentgpt.config.durations import parse_rotation
from agentgpt.errors import InvalidInput, UnknownProtocol

PROTOCOL = "double_ratchet"
#: Metadata fields: the rotation period in seconds (the policy), the sealed ratchet state.
POLICY_FIELD = "e2ep"
STATE_FIELD = "e2e"


def rotation_seconds(protocol: str, key_rotation: str | timedelta | None) -> float:
    """Validate ``apply_encryption``'s arguments; return the rotation period in seconds."""
    if protocol != PROTOCOL:
        raise UnknownProtocol(
            f"unknown end-to-end protocol {protocol[:40]!r}: this service speaks "
            f"{PROTOCOL!r} (X3DH + Double Ratchet)"
        )
    try:
        period = parse_rotation("daily" if key_rotation is None else key_rotation)
    except ValueError as exc:
        raise InvalidInput(f"key_rotation: {exc}") from None
    if period is None or period.total_seconds() <= 0:
        raise InvalidInput("key_rotation must be a period (daily, hourly, 12h ...), not never")
    return period.total_seconds()
