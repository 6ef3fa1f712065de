"""Idempotent turns: a retried message with the same key gets the first answer back.

A client that lost the answer to a turn (a reset connection, a timeout, a 503 while the
store failed over) cannot know whether the turn was committed. It sends the message
again with the same ``Idempotency-Key``: the commit script recorded the key's digest
against the turn's sequence number, atomically with the turn, in the session's own
hash-tagged ``idem`` hash; the retry, under the session's lock (so it also waits for a
first attempt still in flight), finds it and replays the answer from the turn log instead
of running the agent and storing the message twice. Erasing the session deletes the hash.
"""

from __future__ import annotations

import hashlib
import re

from agentgpt.agents.response import Response
from agentgpt.errors import InvalidInput
from agentgpt.sessions.records import TurnRecord

#: What a key may hold: a UUID, a ULID, a client's counter... printable, no spaces.
_KEY = re.compile(r"[\x21-\x7e]{1,255}")


def key_digest(key: str) -> str:
    """The digest under which ``key`` is remembered (validated; the key itself is not kept)."""
    if not isinstance(key, str) or not _KEY.fullmatch(key):
        raise InvalidInput(
            "Idempotency-Key must be 1-255 printable ASCII characters without spaces "
            "(a UUID is a good choice)"
        )
    return hashlib.sha256(key.encode()).hexdigest()[:32]


def replayed(record: TurnRecord) -> Response:
    """The answer of a committed turn, rebuilt from its log entry (PII already redacted)."""
    return Response(
        reply=record.reply,
        intent=record.intent,
        confidence=record.confidence,
        topic=record.topic,
        sentiment=record.sentiment,
        entities=list(record.entities),
        actions=list(record.actions),
        redacted_input=record.user,
        seq=record.seq,
    )
