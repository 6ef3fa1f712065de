"""What the integrity check and the leakage audit report: findings naming a record."""

from __future__ import annotations

import msgspec


class Finding(msgspec.Struct, frozen=True, kw_only=True):
    """One problem found in the store: which key (and field or seq), what, and why.

    ``problem`` is a stable code (for scripts and alerting); ``detail`` explains it for a
    person. Neither ever carries a stored value in clear: records are named by key and
    field, PII by placeholder and keyed fingerprint.
    """

    key: str
    field: str = ""
    problem: str
    detail: str
    session_id: str = ""

    def line(self) -> str:
        """Return the finding as one readable line."""
        where = f"{self.key} [{self.field}]" if self.field else self.key
        return f"{where}: {self.problem}: {self.detail}"


def shown_key(raw: bytes | str, limit: int = 120) -> str:
    """Return a key name printable on one line (escaped, truncated), whatever it holds."""
    text = raw.decode("utf-8", "backslashreplace") if isinstance(raw, bytes) else raw
    text = text.encode("unicode_escape").decode("ascii")
    return text if len(text) <= limit else text[: limit - 3] + "..."
