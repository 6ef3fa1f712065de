"""FAQAgent: a small rule-based support agent (keywords -> intent -> canned reply).

It is real and deterministic, which makes it the agent of the foundation's tests, the
demo and the turn benchmark; ``NLPAgent`` is the production agent.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from agentgpt.agents.context import Context
from agentgpt.agents.response import Action, Response, Sentiment

# (intent, topic, keyword pattern, reply). First match wins; order from specific to broad.
_RULES: tuple[tuple[str, str, str, str], ...] = (
    (
        "password_reset",
        "Password & access",
        r"password|log ?in|locked out|passcode",
        "You can reset your online-banking password from the sign-in page under "
        "'Forgot password'. I can also send you a reset link.",
    ),
    (
        "lost_or_stolen_card",
        "Fraud alerts",
        r"stolen|lost (my )?card|fraud|not recogni[sz]ed",
        "I've flagged this as urgent and am connecting you with our fraud team.",
    ),
    (
        "card_blocked_abroad",
        "Card issues",
        r"blocked|abroad|foreign",
        "Cards can be blocked abroad as a safety measure. I can unblock it once you confirm "
        "the country you're in.",
    ),
    (
        "wire_transfer",
        "Transfers",
        r"transfer|iban|wire|send money",
        "I can help with that transfer. What amount would you like to send?",
    ),
    (
        "loan_inquiry",
        "Loan inquiries",
        r"loan|mortgage|borrow",
        "Our personal loans start at 4.9% APR. Would you like a quote?",
    ),
    (
        "human_handoff",
        "Conversation",
        r"human|agent|person|representative",
        "Let me connect you with one of our advisers.",
    ),
    (
        "greeting",
        "Conversation",
        r"^(hi|hello|hey|good (morning|afternoon|evening))\b",
        "Hello! How can I help you today?",
    ),
    ("thanks", "Conversation", r"thank", "You're welcome! Anything else?"),
    ("goodbye", "Conversation", r"bye|that'?s all", "Goodbye, and thank you for banking with us."),
)
_COMPILED = tuple((i, t, re.compile(p, re.IGNORECASE), r) for i, t, p, r in _RULES)
_NEGATIVE = re.compile(r"angry|furious|terrible|worst|useless|ridiculous|unacceptable", re.I)
_ESCALATING = {"lost_or_stolen_card", "human_handoff"}
_VERIFYING = {"wire_transfer"}


class FAQAgent:
    """Answers common banking questions from keyword rules."""

    def __init__(self) -> None:
        """Create an agent with every capability on."""
        self.capabilities: frozenset[str] = frozenset({"intent_detection", "sentiment_analysis"})
        self._last_input: str | None = None

    def configure(self, capabilities: Sequence[str]) -> None:
        """Select capabilities for the next call."""
        self.capabilities = frozenset(capabilities)

    def reset(self) -> None:
        """Forget the last call."""
        self._last_input = None
        self.capabilities = frozenset({"intent_detection", "sentiment_analysis"})

    def holds_state(self) -> bool:
        """True if something of the last call is still held."""
        return self._last_input is not None

    async def process(self, input: str, context: Context) -> Response:
        """Match ``input`` against the rules and answer, using the context for follow-ups."""
        self._last_input = input
        intent, topic, reply = self._classify(input)
        if intent == "other" and context.window and context.window[-1].intent:
            reply = f"Are we still talking about {context.window[-1].intent.replace('_', ' ')}? "
            reply += "Could you tell me a little more?"
        negative = "sentiment_analysis" in self.capabilities and bool(_NEGATIVE.search(input))
        sentiment = Sentiment(label="negative", score=-0.8) if negative else Sentiment()
        actions = []
        if intent in _ESCALATING or negative:
            actions.append(Action.ESCALATE_TO_HUMAN)
        if intent in _VERIFYING:
            actions.append(Action.REQUIRE_VERIFICATION)
        return Response(
            reply=reply,
            intent=intent if "intent_detection" in self.capabilities else None,
            confidence=1.0 if intent != "other" else 0.0,
            topic=topic,
            sentiment=sentiment,
            actions=actions,
            redacted_input=input,
        )

    @staticmethod
    def _classify(text: str) -> tuple[str, str, str]:
        for intent, topic, pattern, reply in _COMPILED:
            if pattern.search(text):
                return intent, topic, reply
        return "other", "other", "I'm not sure I understood. Could you rephrase that?"
