"""Keyed fingerprints of PII values, so the leakage audit compares values it never shows.

A value and a piece of text are compared through HMAC-SHA256 under a scan key (random per
scan unless one is given): the audit holds fingerprints, not values, and a fingerprint
printed in a report cannot be tested against guesses without the key.

Values are compared in a canonical form (case-folded, letters and digits only), so
``DE89 3704 0044 ...`` in a vault matches ``de89-3704-0044...`` in a context. Text is
split into word tokens and every run of up to ``MAX_SPAN`` consecutive tokens is a
candidate; only runs whose length equals that of some fingerprinted value are hashed.
Limitation: a value glued to other letters or digits (``IBAN:DE89...`` is fine,
``IBANDE89...`` is not) is not found.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from collections.abc import Iterator

#: Values shorter than this (canonical form) are not compared: too many false matches.
MIN_LENGTH = 6
#: Longest token run compared (an IBAN written in groups of four has up to 9 groups).
MAX_SPAN = 10
_TOKEN = re.compile(r"[^\W_]+")


def canonical(text: str) -> str:
    """Return ``text`` case-folded with everything but letters and digits removed."""
    return "".join(ch for ch in text.casefold() if ch.isalnum())


class Fingerprinter:
    """HMAC-SHA256 fingerprints under one scan key."""

    def __init__(self, key: bytes | None = None) -> None:
        """Use ``key`` (default: 32 random bytes, so fingerprints live for one scan)."""
        self._key = key if key is not None else secrets.token_bytes(32)
        self.lengths: set[int] = set()

    def value(self, value: str) -> bytes | None:
        """Fingerprint a PII value (None when too short to compare) and remember its length."""
        text = canonical(value)
        if len(text) < MIN_LENGTH:
            return None
        self.lengths.add(len(text))
        return self._mac(text)

    def candidates(self, text: str) -> Iterator[bytes]:
        """Yield the fingerprint of every token run of ``text`` that could be a value."""
        if not self.lengths:
            return
        longest = max(self.lengths)
        tokens = [canonical(t) for t in _TOKEN.findall(text)]
        for start in range(len(tokens)):
            joined = ""
            for token in tokens[start : start + MAX_SPAN]:
                joined += token
                if len(joined) > longest:
                    break
                if len(joined) in self.lengths:
                    yield self._mac(joined)

    def _mac(self, text: str) -> bytes:
        return hmac.digest(self._key, text.encode(), hashlib.sha256)


def shown(fingerprint: bytes) -> str:
    """Return the short form of a fingerprint printed in reports."""
    return "hmac:" + fingerprint[:8].hex()


def strings_in(obj: object) -> Iterator[str]:
    """Yield every string inside a decoded record (dict keys and values, lists)."""
    if isinstance(obj, str):
        yield obj
    elif isinstance(obj, dict):
        for key, value in obj.items():
            yield from strings_in(key)
            yield from strings_in(value)
    elif isinstance(obj, list | tuple):
        for item in obj:
            yield from strings_in(item)
