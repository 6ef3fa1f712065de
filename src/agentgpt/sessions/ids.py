"""Session ids: 128+ random bits, URL-safe, meaningless."""

from __future__ import annotations

import secrets

from agentgpt.errors import InvalidInput

PREFIX = "sess_"


def generate_session_id(user_id: str | None = None) -> str:
    """Return a new session id (``sess_`` + 192 random bits, URL-safe base64).

    ``user_id`` is accepted for the guide's signature and validated, but the id is drawn
    from the CSPRNG alone: it never encodes or reveals the user.
    """
    if user_id is not None and (not isinstance(user_id, str) or not user_id.strip()):
        raise InvalidInput("user_id must be a non-empty string")
    return PREFIX + secrets.token_urlsafe(24)
