"""NLPAgent: intent, concern topic, sentiment, PII redaction and a context-aware reply.

Model work (PII detection, sentiment, classification) runs in the process's shared
micro-batcher, off the event loop; the agent itself only words the reply and decides the
actions, which takes microseconds. Agents hold no model: a pool of 100 agents shares one.
"""

from __future__ import annotations

import asyncio
import functools
from collections.abc import Sequence
from pathlib import Path

from agentgpt.agents.context import Context
from agentgpt.agents.dialogue import TASK, Composer, amount_in, fresh
from agentgpt.agents.playbook import Playbook, load_playbook
from agentgpt.agents.response import Action, Entity, Response, Sentiment
from agentgpt.config.loader import load_settings
from agentgpt.config.settings import NLUSettings
from agentgpt.errors import InvalidInput, MessageTooLarge
from agentgpt.nlu.analysis import Analysis, Request
from agentgpt.nlu.batcher import MicroBatcher
from agentgpt.nlu.engine import shared_engine
from agentgpt.nlu.pii import Redaction
from agentgpt.nlu.sentiment import falling, strongly_negative
from agentgpt.nlu.topics import OTHER, topic_of

INTENT = "intent_detection"
SENTIMENT = "sentiment_analysis"
PII = "pii_detection"
#: Listing this capability is the only way to switch PII redaction off: raw PII must not
#: reach the context by accident because a caller named only the guide's two capabilities.
NO_PII = "no_pii_detection"
KNOWN = frozenset({INTENT, SENTIMENT, PII, NO_PII})
DEFAULT = frozenset({INTENT, SENTIMENT, PII})
#: Largest message the agent accepts (characters); the session layer has its own limit.
MAX_INPUT_CHARS = 64 * 1024


@functools.cache
def _playbook(path: Path | None) -> Playbook:
    # Once per process and path: a pool of 100 agents shares one parsed playbook.
    return load_playbook(path)


@functools.cache
def _configured() -> NLUSettings:
    # A pool builds agents with no arguments: they take the process's configuration
    # (YAML + environment), read once.
    return load_settings().nlu


class NLPAgent:
    """The production support agent: understands a message and answers from the playbook."""

    def __init__(
        self, settings: NLUSettings | None = None, *, playbook: Playbook | None = None
    ) -> None:
        """Share the process's model for ``settings`` (default: the configuration's ``nlu``)."""
        self.settings = settings or _configured()
        self.playbook = playbook or _playbook(self.settings.playbook_path)
        self.composer = Composer(self.playbook)
        self.capabilities: frozenset[str] = DEFAULT
        self._last_input: str | None = None
        # The process-wide engine, found once per agent (not per-call state).
        self._engine: MicroBatcher[Request, Analysis] | None = None

    @staticmethod
    def preload(settings: NLUSettings | None = None) -> None:
        """Load (or train, first time) the process's model now, blocking: call in a thread."""
        from agentgpt.nlu.models import shared_classifier

        shared_classifier(settings or _configured())

    def configure(self, capabilities: Sequence[str]) -> None:
        """Choose the analyses of the next calls; PII redaction stays on unless opted out."""
        unknown = set(capabilities) - KNOWN
        if unknown:
            raise InvalidInput(
                f"unknown capabilities {sorted(unknown)}; choose from {sorted(KNOWN)}"
            )
        chosen = set(capabilities)
        if NO_PII in chosen:
            chosen -= {NO_PII, PII}
        else:
            chosen.add(PII)
        self.capabilities = frozenset(chosen)

    def reset(self) -> None:
        """Forget the last call and restore the default capabilities."""
        self._last_input = None
        self.capabilities = DEFAULT

    def holds_state(self) -> bool:
        """True if something of the last call is still held."""
        return self._last_input is not None

    async def process(self, input: str, context: Context) -> Response:
        """Analyse ``input`` (batched, off the loop) and answer it in ``context``."""
        text = _validated(input)
        if not isinstance(context, Context):
            raise InvalidInput(f"context must be a Context, not {type(context).__name__}")
        self._last_input = text
        caps = self.capabilities
        request = Request(text, pii=PII in caps, sentiment=SENTIMENT in caps, intent=INTENT in caps)
        if self._engine is None:
            # The first call may load (or even train) the process's model: seconds of CPU
            # that must not stall the event loop.
            self._engine = await asyncio.to_thread(shared_engine, self.settings)
        analysis = await self._engine.submit(request)
        return self._respond(analysis, context)

    def _respond(self, analysis: Analysis, context: Context) -> Response:
        prediction, polarity = analysis.prediction, analysis.polarity
        redaction = analysis.redaction
        intent = prediction.intent if prediction else None
        confidence = prediction.confidence if prediction else 0.0
        topic = topic_of(intent) if intent else None
        reply, slots = self._reply(intent, topic, confidence, redaction, context)
        sentiment = Sentiment(label=polarity.label, score=polarity.score) if polarity else None
        return Response(
            reply=reply,
            intent=intent,
            confidence=confidence,
            topic=topic,
            sentiment=sentiment or Sentiment(),
            entities=[Entity(kind=k, placeholder=p) for p, k in redaction.kinds.items()],
            actions=self._actions(intent, topic, sentiment, context),
            slots=slots,
            redacted_input=redaction.text,
            sensitive=dict(redaction.values),
        )

    def _reply(
        self,
        intent: str | None,
        topic: str | None,
        confidence: float,
        redaction: Redaction,
        context: Context,
    ) -> tuple[str, dict[str, str]]:
        pending = context.slots.get(TASK) or None
        found = {"amount": amount_in(redaction.text, bare=pending is not None) or ""}
        iban = next((p for p, k in redaction.kinds.items() if k == "IBAN"), "")
        if iban:
            # Slots live in the context: they keep the placeholder (the vault holds the
            # value) and the last four characters, which banks show to confirm an account.
            found["beneficiary"] = iban
            last4 = redaction.values[iban].replace(" ", "")[-4:]
            found["beneficiary_hint"] = f"the account ending {last4}"
        unsure = intent is None or confidence < self.playbook.low_confidence
        if pending and (intent == pending or (unsure and any(found.values()))):
            variants, slots = self.composer.task(pending, context, found, [])
            return fresh(variants, self.playbook, context), slots
        if unsure or intent is None or topic is None:
            return self.composer.clarify(context), {}
        opening = self.composer.answer(intent, topic, context)
        if intent in self.playbook.slots:
            variants, slots = self.composer.task(intent, context, found, opening)
            return fresh(variants, self.playbook, context), slots
        slots = {TASK: ""} if pending else {}  # the customer moved on: drop the open task
        return fresh(opening, self.playbook, context), slots

    def _actions(
        self, intent: str | None, topic: str | None, sentiment: Sentiment | None, context: Context
    ) -> list[Action]:
        rules = self.playbook.rules
        actions: list[Action] = []
        escalate = intent in rules.escalate_intents or (
            topic not in (None, OTHER) and topic in rules.escalate_topics
        )
        if sentiment is not None:
            history = [e.sentiment for e in context.window if e.sentiment is not None]
            escalate = escalate or strongly_negative(sentiment.score)
            escalate = escalate or falling(history, sentiment.score)
        if escalate:
            actions.append(Action.ESCALATE_TO_HUMAN)
        if intent in rules.verify_intents or (topic is not None and topic in rules.verify_topics):
            actions.append(Action.REQUIRE_VERIFICATION)
        return actions


def _validated(text: object) -> str:
    if not isinstance(text, str):
        raise InvalidInput(f"input must be text (str), not {type(text).__name__}")
    if not text.strip():
        raise InvalidInput("input is empty; send the customer's message text")
    if len(text) > MAX_INPUT_CHARS:
        raise MessageTooLarge(
            f"input is {len(text)} characters; the agent accepts at most {MAX_INPUT_CHARS}"
        )
    return text
