"""``security scan`` against real Valkey: each planted leak is reported, a clean store is not."""

from __future__ import annotations

import asyncio
import json

import pytest

from agentgpt import AgentPool, SessionManager
from agentgpt.agents.context import Exchange
from agentgpt.cli.app import main
from agentgpt.errors import SessionNotFound
from agentgpt.nlu.pii import PIIRedactor
from agentgpt.operations.leakage_scan import scan
from agentgpt.store import keys as K
from agentgpt.store import records as R
from agentgpt.store.context_store import RedisContextStore
from tests.integration.agents_for_tests import EchoAgent, VaultingAgent
from tests.integration.test_verify import store_url

IBAN = "DE89 3704 0044 0532 0130 00"


class LeakyAgent(EchoAgent):
    """An agent whose reset() forgets to clear what it saw (the bug the audit must catch)."""

    def reset(self) -> None:
        pass


def manager(
    store: RedisContextStore, agent: type = VaultingAgent, *, redact: bool = True
) -> SessionManager:
    # redact=False: a pipeline whose detector finds nothing, to write the leaks the scan
    # must find (the real pipeline redacts every agent's input).
    redactor = PIIRedactor() if redact else PIIRedactor(kinds=())
    m = SessionManager(store=store, max_concurrent_sessions=100_000, redactor=redactor)
    m.agents = AgentPool(agent, min_ready=1, max_connections=16)  # type: ignore[attr-defined]
    return m


async def two_sessions(m: SessionManager) -> tuple[str, str]:
    a = await m.create_session("user-a")
    b = await m.create_session("user-b")
    await m.handle(a.id, IBAN)  # goes to a's vault; a's context keeps <SECRET_1>
    await m.handle(b.id, "hello")
    await m.handle(b.id, "again")
    return a.id, b.id


def problems(report: object) -> set[tuple[str, str, str]]:
    return {(f.key, f.problem, f.session_id) for f in report.findings}  # type: ignore[attr-defined]


async def test_ciphertext_copied_from_another_session(store: RedisContextStore) -> None:
    m = manager(store)
    a, b = await two_sessions(m)
    client = await store.backend.connect()
    entry_of_a = await client.lindex(K.session_keys(a).log, 0)
    await client.set(K.session_keys(b).ctx, entry_of_a, keepttl=True)
    # a gap in b's own log is verify's business, not a leak: it must not be reported here
    await client.lpop(K.session_keys(b).log)

    report = await scan(store, m.key_manager, [a, b])
    assert problems(report) == {(K.session_keys(b).ctx, "foreign-record", b)}
    assert f"session {a}, log v1" in report.findings[0].detail


async def test_pii_of_one_session_in_another_context(store: RedisContextStore) -> None:
    m = manager(store)
    a, b = await two_sessions(m)
    session_b = await m.load_session(b)
    leaked = Exchange(
        seq=session_b.version, ts=0.0, user="pay de89-3704-0044-0532-0130-00 now", reply="ok"
    )
    context = session_b.context
    context.window[-1] = leaked
    blob = session_b.seal(context, R.KIND_CONTEXT, session_b.version)
    client = await store.backend.connect()
    await client.set(K.session_keys(b).ctx, blob, keepttl=True)

    report = await scan(store, m.key_manager, "all")
    assert problems(report) == {(K.session_keys(b).ctx, "pii-of-another-session", b)}
    assert f"<SECRET_1> from session {a}" in report.findings[0].detail
    printed = json.dumps([f.line() for f in report.findings])
    assert "3704" not in printed
    assert "370400440532013000" not in printed


async def test_keys_outside_namespace_or_without_hash_tag(store: RedisContextStore) -> None:
    m = manager(store)
    await two_sessions(m)
    client = await store.backend.connect()
    await client.set("ag:sess_untagged000000:ctx", b"x")
    await client.set("cache:customer:42", b"y")
    await client.set(K.SCHEMA_KEY, 1)  # untagged by design: not a finding
    broken = await m.create_session("user-broken-meta")
    await client.hset(K.session_keys(broken.id).meta, "version", "not-a-number")

    report = await scan(store, m.key_manager, "all")
    assert problems(report) == {
        ("ag:sess_untagged000000:ctx", "no-hash-tag", ""),
        ("cache:customer:42", "outside-namespace", ""),
        (K.session_keys(broken.id).meta, "malformed", broken.id),
    }
    assert report.sessions_scanned == 2


async def test_pooled_agent_holding_state_after_check_in(store: RedisContextStore) -> None:
    leaky = manager(store, LeakyAgent)
    session = await leaky.create_session("user-leaky")
    await leaky.handle(session.id, "my secret question")
    report = await scan(store, leaky.key_manager, [session.id], pools=[leaky.agent_pool])
    assert {(f.key, f.problem) for f in report.findings} == {
        ("pool:LeakyAgent", "agent-holds-state")
    }

    fresh_leaky = AgentPool(LeakyAgent, min_ready=1, max_connections=1)
    honest = AgentPool(EchoAgent, min_ready=2, max_connections=2)
    report = await scan(
        store,
        leaky.key_manager,
        [],
        pools=[fresh_leaky, honest],
        probe=True,
        keyspace=False,
    )
    assert [f.key for f in report.findings] == ["pool:LeakyAgent"]
    assert report.agents_checked == 3


async def test_clean_store_of_1000_sessions_reports_nothing(
    standalone_store: RedisContextStore,
) -> None:
    m = manager(standalone_store)
    sessions = await asyncio.gather(*(m.create_session(f"user-{i}") for i in range(1000)))

    async def converse(i: int, session_id: str) -> None:
        await m.handle(session_id, f"IBAN DE{i:02d} 3704 0044 0532 0130 {i:04d}")
        await m.handle(session_id, "what is my balance?")

    await asyncio.gather(*(converse(i, s.id) for i, s in enumerate(sessions)))
    report = await scan(standalone_store, m.key_manager, "all", pools=[m.agent_pool])
    assert report.findings == []
    assert report.sessions_scanned == 1000
    assert report.records_checked == 1000 * (1 + 2 + 2)  # context, 2 log entries, 2 vault


async def test_cli_exit_codes_and_json(
    store: RedisContextStore, capsys: pytest.CaptureFixture[str]
) -> None:
    m = manager(store)
    a, b = await two_sessions(m)
    url = store_url(store)

    async def cli(*args: str) -> int:
        return await asyncio.to_thread(main, ["security", "scan", "--url", url, *args])

    assert await cli("--sessions", a, b) == 0
    assert "no leakage found" in capsys.readouterr().out
    assert await cli("--sessions", "sess_doesnotexist0000000000") == 2
    assert "does not exist" in capsys.readouterr().err
    assert await cli() == 2
    capsys.readouterr()
    client = await store.backend.connect()
    await client.set(K.session_keys(a).ctx, await client.get(K.session_keys(b).ctx), keepttl=True)
    assert await cli("--all", "--json") == 1
    report = json.loads(capsys.readouterr().out)
    assert report["clean"] is False
    assert [f["problem"] for f in report["findings"]] == ["foreign-record"]
    with pytest.raises(SessionNotFound):
        await scan(store, m.key_manager, ["sess_doesnotexist0000000000"])


async def test_pii_in_a_later_page_of_another_log(
    standalone_store: RedisContextStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    from agentgpt.operations import leakage_scan as L

    monkeypatch.setattr(L, "PAGE", 2)
    m = manager(standalone_store)
    a, b = await two_sessions(m)
    echo = manager(standalone_store, EchoAgent, redact=False)  # keeps text in clear
    for text in ("one", "two", f"my friend's IBAN is {IBAN}"):
        await echo.handle(b, text)

    report = await scan(standalone_store, m.key_manager, [a, b])
    assert {(f.key, f.field, f.problem) for f in report.findings} == {
        (K.session_keys(b).log, "log[4]", "pii-of-another-session"),
        (K.session_keys(b).ctx, "v5", "pii-of-another-session"),
    }
