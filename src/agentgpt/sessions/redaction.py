"""The redaction step of the turn pipeline: PII out of the text before any agent runs.

Whatever agent a session uses (the NLP agent, the FAQ agent, a custom one), the customer's
message is redacted here first: the agent, the context and the turn log see placeholders
(``<IBAN_1>``), and the raw values go only to the session's 7-day vault (DESIGN, turn path
step 3; invariant 3).
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

from agentgpt.agents.response import Entity, Response
from agentgpt.agents.turn_pii import mark_redacted
from agentgpt.nlu.pii import PIIRedactor, Redaction, restore

#: Capability with which a session opts out of redaction (the NLP agent's switch).
NO_PII = "no_pii_detection"
#: Longer messages are redacted in a worker thread: their scan is no longer microseconds.
INLINE_CHARS = 4096


class TurnRedactor:
    """Redacts one message per turn with the process's PII detector."""

    def __init__(self, redactor: PIIRedactor) -> None:
        """Use ``redactor`` (its phone region comes from the ``nlu`` settings)."""
        self.redactor = redactor

    async def redact(self, text: str, capabilities: Sequence[str]) -> Redaction:
        """Return ``text`` redacted, unless the session opted out with ``no_pii_detection``."""
        if NO_PII in capabilities:
            return Redaction(text, {}, {})
        if len(text) <= INLINE_CHARS:
            redaction = self.redactor.redact(text)
        else:
            redaction = await asyncio.to_thread(self.redactor.redact, text)
        mark_redacted(redaction.text, (self.redactor.region, self.redactor.kinds))
        return redaction


def merged(response: Response, redaction: Redaction) -> Response:
    """Make the pipeline's redaction part of ``response``: text kept, vault, entities.

    The agent saw the redacted text. If it redacted more (its own placeholders), its text
    wins and its vault values get the raw values back in place of the pipeline's
    placeholders; a pipeline value already inside one of the agent's is not stored twice.
    """
    if response.redacted_input is None:
        response.redacted_input = redaction.text
    own = {p: restore(v, redaction.values) for p, v in response.sensitive.items()}
    values = {
        placeholder: value
        for placeholder, value in redaction.values.items()
        if placeholder in own or not any(value in v for v in own.values())
    }
    response.sensitive = {**values, **own}
    reported = {e.placeholder for e in response.entities}
    response.entities.extend(
        Entity(kind=redaction.kinds[placeholder], placeholder=placeholder)
        for placeholder in values
        if placeholder not in reported
    )
    return response
