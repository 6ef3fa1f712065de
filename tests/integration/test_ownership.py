"""Ownership is checked once, by the manager, on the data the call loads."""

from __future__ import annotations

import pytest

from agentgpt import SessionManager
from agentgpt.config.settings import SessionSettings
from agentgpt.errors import SessionNotFound
from agentgpt.store.context_store import RedisContextStore


async def test_every_entry_point_checks_the_callers_identity(store: RedisContextStore) -> None:
    m = SessionManager(store=store, settings=SessionSettings(agent="faq"))
    session = await m.create_session("alice")
    await m.handle(session.id, "hello", owner="alice")
    for call in (
        m.load_session(session.id, owner="mallory"),
        m.turns_page(session.id, owner="mallory"),
        m.handle(session.id, "hi", owner="mallory"),
        m.record_auth(session.id, False, "otp", owner="mallory"),
        m.close(session.id, owner="mallory"),
        m.erase(session.id, owner="mallory"),
    ):
        with pytest.raises(SessionNotFound):
            await call
    loaded, turns = await m.turns_page(session.id, owner="alice")
    assert loaded.owner == "alice"
    assert [t.seq for t in turns] == [1]


async def _hgetalls(store: RedisContextStore) -> int:
    stats = await (await store.backend.connect()).info("commandstats")
    return int(stats.get("cmdstat_hgetall", {}).get("calls", 0))


async def test_turns_and_erase_load_the_session_once(standalone_store: RedisContextStore) -> None:
    store = standalone_store
    m = SessionManager(store=store, settings=SessionSettings(agent="faq"))
    session = await m.create_session("bob")
    await m.handle(session.id, "hello")
    before = await _hgetalls(store)
    await m.turns_page(session.id, owner="bob")
    assert await _hgetalls(store) - before == 1  # one load: ownership checked on it
    before = await _hgetalls(store)
    assert await m.erase(session.id, owner="bob") > 0
    assert await _hgetalls(store) - before == 1  # the meta read that checks the owner
