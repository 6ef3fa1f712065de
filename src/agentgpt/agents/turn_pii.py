"""The raw PII values of the turn being processed, for the agent call only.

The turn pipeline redacts a message before any agent sees it (DESIGN, turn path step 3):
the agent gets ``<IBAN_1>``, never the value. An agent that must say something about a
value (the last four characters of an account, as banks do to confirm it) reads it here,
for the duration of its call; nothing here is ever written to the context or the log.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar
from types import MappingProxyType

from agentgpt.nlu.pii import KINDS

_EMPTY: Mapping[str, str] = MappingProxyType({})
_values: ContextVar[Mapping[str, str]] = ContextVar("agentgpt_turn_pii", default=_EMPTY)
#: The text the turn pipeline's redaction produced in this task, and its detector (region,
#: kinds).
_redacted: ContextVar[tuple[str, object] | None] = ContextVar(
    "agentgpt_turn_redacted", default=None
)
_PLACEHOLDER = re.compile(r"<(" + "|".join(KINDS) + r")_\d+>")


@contextmanager
def turn_values(values: Mapping[str, str]) -> Iterator[None]:
    """Expose ``values`` (placeholder -> raw value) to the agent call made inside."""
    token = _values.set(MappingProxyType(dict(values)))
    try:
        yield
    finally:
        _values.reset(token)


def mark_redacted(text: str, detector: object) -> None:
    """Record that the turn pipeline produced ``text`` with ``detector`` (region, kinds)."""
    _redacted.set((text, detector))


def redacted_already(text: str, detector: object) -> bool:
    """True when ``text`` is what the pipeline's redaction produced with the same detector.

    The agent's own detector would find nothing more in it (the same detector, already
    run): the NLP agent then skips its second pass (~30-50 us per message).
    """
    seen = _redacted.get()
    return seen is not None and seen[1] == detector and seen[0] == text


def current_values() -> Mapping[str, str]:
    """The raw values of the current turn's placeholders (empty outside a turn)."""
    return _values.get()


def placeholders(text: str) -> dict[str, str]:
    """The placeholders already in ``text`` and their kinds (``{"<IBAN_1>": "IBAN"}``)."""
    return {m.group(): m.group(1) for m in _PLACEHOLDER.finditer(text)}
