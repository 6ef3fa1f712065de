"""NLPAgent on the shipped starter model: topics, PII, actions, replies and bad input."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from agentgpt import NLPAgent
from agentgpt.agents.context import Context, Exchange
from agentgpt.agents.dialogue import words
from agentgpt.agents.protocol import Agent
from agentgpt.agents.response import Action, Response
from agentgpt.config.settings import NLUSettings
from agentgpt.errors import ConfigError, InvalidInput, MessageTooLarge

IBAN = "DE89 3704 0044 0532 0130 00"


def after(context: Context, response: Response) -> Context:
    """The context as the session would keep it after this turn."""
    new = context.appended(
        Exchange(
            seq=context.turns + 1, ts=0.0, user=response.redacted_input or "",
            reply=response.reply, intent=response.intent, topic=response.topic,
            sentiment=response.sentiment.score,
        )
    )  # fmt: skip
    new.slots.update(response.slots)
    return new


async def converse(agent: NLPAgent, messages: list[str]) -> tuple[list[Response], Context]:
    context = Context()
    responses = []
    for message in messages:
        response = await agent.process(message, context)
        responses.append(response)
        context = after(context, response)
    return responses, context


async def test_the_guides_three_messages() -> None:
    agent = NLPAgent()
    assert isinstance(agent, Agent)
    responses, _ = await converse(
        agent,
        [
            "I forgot my password",
            f"Wire transfer to IBAN {IBAN}",
            "Card blocked in foreign country",
        ],
    )
    assert [r.topic for r in responses] == ["Password & access", "Transfers", "Card issues"]
    transfer = responses[1]
    assert transfer.redacted_input == "Wire transfer to IBAN <IBAN_1>"
    assert transfer.sensitive == {"<IBAN_1>": IBAN}
    assert [(e.kind, e.placeholder) for e in transfer.entities] == [("IBAN", "<IBAN_1>")]
    assert IBAN not in transfer.reply
    assert "DE89" not in str(transfer.public())
    assert transfer.actions == [Action.REQUIRE_VERIFICATION]
    assert "How much" in transfer.reply  # the amount is missing: ask for it


async def test_transfer_asks_for_what_is_missing_confirms_and_completes() -> None:
    responses, context = await converse(
        NLPAgent(),
        ["I need to wire money to my landlord", "500 euros", f"to {IBAN}", "yes, send it now"],
    )
    assert "How much" in responses[0].reply
    assert responses[1].slots["wire_transfer.amount"] == "500 EUR"
    assert "IBAN" in responses[1].reply  # now it needs the beneficiary
    assert "500 EUR" in responses[2].reply
    assert "the account ending 3000" in responses[2].reply
    assert "<IBAN_1>" not in responses[2].reply
    assert responses[2].reply.endswith("Shall I send it?")
    assert responses[3].intent == "affirm"
    assert responses[3].reply.startswith("Done: 500 EUR to the account ending 3000")
    assert not responses[3].escalate
    assert context.slots["task"] == ""


@pytest.mark.parametrize(
    "message",
    ["My card was stolen on the bus", "I want to speak to a human", "Someone cloned my card"],
)
async def test_fraud_lost_stolen_and_handoff_escalate(message: str) -> None:
    response = await NLPAgent().process(message, Context())
    assert Action.ESCALATE_TO_HUMAN in response.actions


async def test_strongly_negative_sentiment_escalates() -> None:
    response = await NLPAgent().process(
        "This is awful, the worst service ever, I am furious and disgusted", Context()
    )
    assert response.sentiment.label == "negative"
    assert response.sentiment.score <= -0.6
    assert response.escalate


async def test_a_falling_mood_escalates_before_it_is_strongly_negative() -> None:
    agent = NLPAgent()
    happy = ["Hello, great to be here, thanks a lot!", "Thanks, that is wonderful and helpful!"]
    responses, context = await converse(agent, happy)
    assert not any(r.escalate for r in responses)
    response = await agent.process("Hmm, my card payment was declined, that is annoying", context)
    assert -0.6 < response.sentiment.score < 0
    assert response.escalate


async def test_personal_detail_changes_require_verification() -> None:
    response = await NLPAgent().process("I moved house, please update my address", Context())
    assert response.intent == "edit_personal_details"
    assert response.actions == [Action.REQUIRE_VERIFICATION]


async def test_a_plain_question_has_no_actions() -> None:
    response = await NLPAgent().process("How do I activate my new card?", Context())
    assert response.topic == "Card issues"
    assert response.actions == []


async def test_never_repeats_a_reply_within_the_window() -> None:
    responses, context = await converse(NLPAgent(), ["Hello"] * 8)
    replies = [r.reply for r in responses]
    assert len(set(replies)) == len(replies)
    assert len(context.window) == 8


async def test_refers_back_when_the_customer_returns_to_an_earlier_concern() -> None:
    responses, _ = await converse(
        NLPAgent(),
        ["I forgot my password", "How do I activate my new card?", "I forgot my password"],
    )
    earlier = words(responses[0].intent or "")
    assert responses[0].topic == "Password & access"
    assert earlier not in responses[1].reply  # a new topic: no preamble
    assert responses[2].reply.startswith("Coming back to " + earlier)


async def test_capabilities_switch_parts_off() -> None:
    agent = NLPAgent()
    agent.configure(["sentiment_analysis"])
    assert "pii_detection" in agent.capabilities  # redaction stays on unless opted out
    response = await agent.process(f"send to {IBAN} now", Context())
    assert response.intent is None
    assert response.topic is None
    assert response.redacted_input == "send to <IBAN_1> now"
    agent.configure(["intent_detection", "no_pii_detection"])
    response = await agent.process(f"send to {IBAN} now", Context())
    assert response.redacted_input == f"send to {IBAN} now"
    assert response.sentiment.label == "neutral"
    assert response.sentiment.score == 0.0
    with pytest.raises(InvalidInput, match="unknown capabilities"):
        agent.configure(["mind_reading"])


async def test_reset_forgets_the_call() -> None:
    agent = NLPAgent()
    agent.configure(["intent_detection"])
    await agent.process("hello", Context())
    assert agent.holds_state()
    agent.reset()
    assert not agent.holds_state()
    assert agent.capabilities == frozenset(
        {"intent_detection", "sentiment_analysis", "pii_detection"}
    )


@pytest.mark.parametrize(
    ("value", "error", "message"),
    [
        ("", InvalidInput, "empty"),
        ("   \n ", InvalidInput, "empty"),
        (None, InvalidInput, "not NoneType"),
        (b"bytes", InvalidInput, "not bytes"),
        (42, InvalidInput, "not int"),
        ("x" * (64 * 1024 + 1), MessageTooLarge, "at most"),
    ],
)
async def test_bad_input_gets_a_typed_error(
    value: object, error: type[Exception], message: str
) -> None:
    with pytest.raises(error, match=message):
        await NLPAgent().process(value, Context())  # type: ignore[arg-type]


async def test_a_large_message_is_processed_with_a_bounded_cost() -> None:
    text = "my card was declined at the shop " * 1500  # ~50 KB
    response = await NLPAgent().process(text, Context())
    assert response.topic == "Card payments"


def test_operator_playbook_override(tmp_path: Path) -> None:
    shipped = Path(__file__).resolve().parents[2] / "src/agentgpt/agents/playbook.yaml"
    custom = tmp_path / "playbook.yaml"
    custom.write_text(
        shipped.read_text().replace("Hello! How can I help you today?", "Welcome to Acme Bank!")
    )
    agent = NLPAgent(NLUSettings(playbook_path=custom))
    assert asyncio.run(agent.process("Hello", Context())).reply == "Welcome to Acme Bank!"
    broken = tmp_path / "broken.yaml"
    broken.write_text("version: 1\nclarify: []\n")
    with pytest.raises(ConfigError, match="invalid playbook"):
        NLPAgent(NLUSettings(playbook_path=broken))


async def test_1000_concurrent_turns_each_get_their_own_analysis() -> None:
    agent = NLPAgent()  # one agent object is enough: process keeps nothing between awaits
    messages = [
        (f"My card was stolen, mail me at user{i}@example.com", "Fraud alerts")
        if i % 2
        else (f"I forgot my password, I am user{i}@example.com", "Password & access")
        for i in range(1000)
    ]
    responses = await asyncio.gather(*(agent.process(m, Context()) for m, _ in messages))
    for i, ((_, topic), response) in enumerate(zip(messages, responses, strict=True)):
        assert response.sensitive == {"<EMAIL_1>": f"user{i}@example.com"}
        assert response.topic == topic
