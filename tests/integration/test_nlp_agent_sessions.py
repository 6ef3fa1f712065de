"""NLPAgent in a pool behind SessionManager.handle, on real Valkey (standalone and cluster)."""

from __future__ import annotations

import asyncio

from agentgpt import AgentPool, NLPAgent, SessionManager
from agentgpt.store.context_store import RedisContextStore

IBAN = "DE89 3704 0044 0532 0130 00"


def manager(store: RedisContextStore) -> SessionManager:
    m = SessionManager(store=store)
    m.nlp_agents = AgentPool(  # type: ignore[attr-defined]
        agent_class=NLPAgent, min_ready=4, max_connections=8
    )
    return m


async def test_guide_conversation_through_the_session_engine(store: RedisContextStore) -> None:
    m = manager(store)
    session = await m.create_session("user-nlp")
    first = await m.handle(session.id, "I forgot my password")
    second = await m.handle(session.id, f"Wire transfer to IBAN {IBAN}")
    third = await m.handle(session.id, "Card blocked in foreign country")
    assert [r.topic for r in (first, second, third)] == [
        "Password & access", "Transfers", "Card issues",
    ]  # fmt: skip
    assert second.actions == ["require_verification"]

    loaded = await m.load_session(session.id)
    assert [e.user for e in loaded.context.window][1] == "Wire transfer to IBAN <IBAN_1>"
    assert loaded.context.slots["wire_transfer.beneficiary"] == "<IBAN_1>"
    assert await store.read_vault(session.id, 2) is not None  # the raw IBAN, 7-day class
    log = await store.read_log(session.id)
    assert len(log) == 3
    assert all(IBAN.encode() not in entry for entry in log)  # sealed and redacted


async def test_many_sessions_share_eight_agents(store: RedisContextStore) -> None:
    m = manager(store)
    sessions = [await m.create_session(f"user-{i}") for i in range(40)]
    messages = ["My card was stolen", "How do I activate my card?", "Thanks"]

    async def converse(session_id: str) -> list[str]:
        return [(await m.handle(session_id, text)).topic or "" for text in messages]

    topics = await asyncio.gather(*(converse(s.id) for s in sessions))
    assert all(t == ["Fraud alerts", "Card issues", "Conversation"] for t in topics)
    pool = m.nlp_agents  # type: ignore[attr-defined]
    assert pool.live <= 8
    assert pool.holding_state() == []
