"""The turn pipeline redacts PII for every agent: the raw value lives only in the vault."""

from __future__ import annotations

from typing import Any, ClassVar

from agentgpt import AgentPool, SessionManager
from agentgpt.agents.context import Context
from agentgpt.agents.response import Response
from agentgpt.config.settings import SessionSettings
from agentgpt.sessions.session import Session
from agentgpt.store import records
from agentgpt.store.context_store import RedisContextStore
from agentgpt.store.lock import DistributedLock

IBAN = "DE89 3704 0044 0532 0130 00"
RAW = IBAN.replace(" ", "")


def _raw_in(text: str) -> bool:
    return IBAN in text or RAW in text.replace(" ", "")


class EchoAgent:
    """A custom agent that repeats what it was given (it must only ever see placeholders)."""

    seen: ClassVar[list[str]] = []

    def configure(self, capabilities: Any) -> None:
        """Accept any capability."""

    def reset(self) -> None:
        """Nothing to forget."""

    def holds_state(self) -> bool:
        """Never holds anything."""
        return False

    async def process(self, input: str, context: Context) -> Response:
        """Echo the input."""
        EchoAgent.seen.append(input)
        return Response(reply=f"you said: {input}")


async def _assert_only_in_vault(m: SessionManager, store: RedisContextStore, sid: str) -> None:
    loaded = await m.load_session(sid)
    assert all(not _raw_in(e.user) and not _raw_in(e.reply) for e in loaded.context.window)
    for turn in await m.turns(sid):
        assert not _raw_in(turn.user)
        assert not _raw_in(turn.reply)
    seq = loaded.version
    vault = loaded.open(await store.read_vault(sid, seq), records.KIND_VAULT, seq,
                        records.VaultRecord)  # fmt: skip
    assert IBAN in vault.values.values()


async def test_faq_agent_iban_goes_only_to_the_vault(store: RedisContextStore) -> None:
    m = SessionManager(store=store, settings=SessionSettings(agent="faq"))
    session = await m.create_session("user-faq-iban")
    response = await m.handle(session.id, f"Please wire 50 EUR to IBAN {IBAN} today")
    assert response.redacted_input == "Please wire 50 EUR to IBAN <IBAN_1> today"
    assert [(e.kind, e.placeholder) for e in response.entities] == [("IBAN", "<IBAN_1>")]
    assert "sensitive" not in response.public()
    await _assert_only_in_vault(m, store, session.id)


async def test_custom_agent_sees_only_placeholders(store: RedisContextStore) -> None:
    m = SessionManager(store=store, settings=SessionSettings(agent="faq"))
    m.agents = AgentPool(agent_class=EchoAgent, min_ready=1, max_connections=2)  # type: ignore[attr-defined]
    session = await m.create_session("user-echo-iban")
    await m.handle(session.id, f"my IBAN is {IBAN}")
    assert EchoAgent.seen[-1] == "my IBAN is <IBAN_1>"
    await _assert_only_in_vault(m, store, session.id)


async def test_the_guides_lock_form_commits_redacted(store: RedisContextStore) -> None:
    m = SessionManager(store=store, settings=SessionSettings(agent="faq"))
    created = await m.create_session("user-guide-iban")
    async with DistributedLock(resource=f"session_{created.id}", store=store):
        session: Session = await m.load_session(created.id)
        text = f"send it to {IBAN}"
        response = await session.agents[0].process(input=text, context=session.context)
        await session.commit(text, response)
    await _assert_only_in_vault(m, store, created.id)


async def test_the_nlp_agent_skips_a_second_pass_on_the_pipelines_text(
    standalone_store: RedisContextStore, monkeypatch: Any
) -> None:
    from agentgpt import NLPAgent
    from agentgpt.nlu.analysis import Analyzer

    asked: list[bool] = []
    original = Analyzer.one

    def one(self: Analyzer, request: Any) -> Any:
        asked.append(request.pii)
        return original(self, request)

    monkeypatch.setattr(Analyzer, "one", one)
    m = SessionManager(store=standalone_store, settings=SessionSettings(agent="nlp"))
    session = await m.create_session("skip-second-pass")
    message = f"send 50 euros to {IBAN} please, my card number is 4111 1111 1111 1111"
    in_pipeline = await m.handle(session.id, message)
    assert asked == [False]  # the pipeline redacted it with the same detector
    assert not _raw_in(in_pipeline.redacted_input or "")
    # Outside a pipeline (the agent called directly) the agent still redacts by itself,
    # and finds nothing more than the pipeline did in the pipeline's text.
    agent = NLPAgent()
    direct = await agent.process(input=message, context=Context())
    assert asked == [False, True]
    assert direct.redacted_input == in_pipeline.redacted_input
    assert {e.kind for e in direct.entities} == {e.kind for e in in_pipeline.entities}
    await _assert_only_in_vault(m, standalone_store, session.id)
    await m.aclose()
