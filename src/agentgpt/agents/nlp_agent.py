"""NLPAgent: intent, concern topic, sentiment, PII redaction and a context-aware reply.

Model work (PII detection, sentiment, classification) uses the process's shared model. The
fast backend runs it inline (~100 us, cheaper than a thread hand-off); the accurate backend
goes through the shared micro-batcher, off the event loop. The agent itself only words the
reply and decides the actions. Agents hold no model: a pool of 100 agents shares one.
"""

from __future__ import annotations

import asyncio
import functools
from collections.abc import Sequence
from pathlib import Path

from agentgpt.agents.context import Context
from agentgpt.agents.dialogue import (
    AFFIRM,
    DENY,
    REMINDED,
    SMALL_TALK,
    TASK,
    Composer,
    amount_in,
    fresh,
)
from agentgpt.agents.playbook import Playbook, load_playbook
from agentgpt.agents.response import Action, Entity, Response, Sentiment
from agentgpt.agents.turn_pii import current_values, placeholders, redacted_already
from agentgpt.config.defaults import default_settings
from agentgpt.config.settings import NLUSettings
from agentgpt.errors import InvalidInput, MessageTooLarge
from agentgpt.nlu.analysis import Analysis, Analyzer, Request
from agentgpt.nlu.batcher import MicroBatcher
from agentgpt.nlu.engine import shared_analyzer, shared_engine
from agentgpt.nlu.pii import KINDS, Redaction
from agentgpt.nlu.sentiment import falling, strongly_negative
from agentgpt.nlu.taxonomy import OUT_OF_SCOPE
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
    return default_settings().nlu


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
        self._inline: Analyzer | None = None

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
        # The turn pipeline ran the same detector on this text already: no second pass.
        pii = PII in caps and not redacted_already(text, (self.settings.phone_region, KINDS))
        request = Request(text, pii=pii, sentiment=SENTIMENT in caps, intent=INTENT in caps)
        if self.settings.backend == "fast":
            if self._inline is None:
                # The first call loads the process's model (a second at most): off the loop.
                self._inline = await asyncio.to_thread(shared_analyzer, self.settings)
            return self._respond(self._inline.one(request), context)
        if self._engine is None:
            # The first call may load (or even train) the process's model: seconds of CPU
            # that must not stall the event loop.
            self._engine = await asyncio.to_thread(shared_engine, self.settings)
        analysis = await self._engine.submit(request)
        return self._respond(analysis, context)

    def _respond(self, analysis: Analysis, context: Context) -> Response:
        prediction, polarity = analysis.prediction, analysis.polarity
        redaction = _with_turn_values(analysis.redaction)
        intent = prediction.intent if prediction else None
        confidence = prediction.confidence if prediction else 0.0
        topic = topic_of(intent) if intent else None
        reply, slots, task = self._reply(intent, topic, confidence, redaction, context)
        if task is not None:
            # The message continued an open task ("800 euros" during a transfer): it is
            # about that task, whatever the classifier made of it alone.
            intent, topic = task, topic_of(task)
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
    ) -> tuple[str, dict[str, str], str | None]:
        """Return the reply, the slots to store and the task the message continued (if any)."""
        pending = context.slots.get(TASK) or None
        found = {"amount": amount_in(redaction.text, bare=pending is not None) or ""}
        iban = next((p for p, k in redaction.kinds.items() if k == "IBAN"), "")
        if iban:
            # Slots live in the context: they keep the placeholder (the vault holds the
            # value) and the last four characters, which banks show to confirm an account.
            found["beneficiary"] = iban
            last4 = redaction.values.get(iban, "").replace(" ", "")[-4:]
            if last4:
                found["beneficiary_hint"] = f"the account ending {last4}"
        if pending:
            answered = self._task_turn(pending, intent, found, context)
            if answered is not None:
                return answered
        if intent == OUT_OF_SCOPE:
            return fresh(list(self.playbook.decline), self.playbook, context), {}, None
        unsure = intent is None or confidence < self.playbook.low_confidence
        if unsure or intent is None or topic is None:
            return self.composer.clarify(context), {}, None
        opening = self.composer.answer(intent, topic, context)
        if intent in self.playbook.slots:
            variants, slots = self.composer.task(intent, context, found, opening)
            return fresh(variants, self.playbook, context), slots, None
        if pending and context.slots.get(REMINDED) != pending and topic not in SMALL_TALK:
            # Another question while a task is open: answer it, and say once that the task
            # is kept (not on every later turn).
            opening = self.composer.reminded(pending, opening)
            return fresh(opening, self.playbook, context), {REMINDED: pending}, None
        return fresh(opening, self.playbook, context), {}, None

    def _task_turn(
        self, task: str, intent: str | None, found: dict[str, str], context: Context
    ) -> tuple[str, dict[str, str], str | None] | None:
        """Continue the open ``task`` if this message is about it, else return None."""
        asked = context.slots.get(f"{task}.confirm") == "asked"
        details = any(found.values())
        if intent in DENY:
            return (*self.composer.finish(task, context, done=False), None)
        if asked and not details and (intent in AFFIRM or intent == task):
            # "yes, send it now" (or "please send it") after the confirmation question.
            return (*self.composer.finish(task, context, done=True), None)
        if intent == task or details:
            variants, slots = self.composer.task(task, context, found, [])
            return fresh(variants, self.playbook, context), slots, task
        return None

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


def _with_turn_values(redaction: Redaction) -> Redaction:
    # The turn pipeline redacted the message before this call: its placeholders count as
    # found, with their raw values (for this call only) from the pipeline.
    given = placeholders(redaction.text)
    if not given:
        return redaction
    raw = current_values()
    values = {p: raw[p] for p in given if p in raw}
    return Redaction(redaction.text, {**values, **redaction.values}, {**given, **redaction.kinds})


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
