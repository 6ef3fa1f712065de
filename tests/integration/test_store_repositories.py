"""Conformance of the store's repositories, on standalone and cluster alike.

The store is the only code that speaks Redis: scripts are loaded through one mechanism
(one NOSCRIPT retry), a failing script is a bug (500) and not an unavailable store (503),
and each repository behaves the same on both deployments.
"""

from __future__ import annotations

import json

import pytest

from agentgpt import SessionManager
from agentgpt.config.settings import SessionSettings
from agentgpt.errors import StoreScriptError, StoreUnavailable
from agentgpt.store import keys
from agentgpt.store.analytics_repository import AnalyticsRepository
from agentgpt.store.context_store import RedisContextStore
from agentgpt.store.keyspace import memory_usage, scan_keys
from agentgpt.store.records import FLAG_FIELD


async def _flush_scripts(store: RedisContextStore) -> None:
    client = await store.client()
    await client.script_flush()  # every primary on a cluster: the servers forget our scripts


async def test_a_failing_script_is_an_internal_error_not_unavailable(
    store: RedisContextStore,
) -> None:
    with pytest.raises(StoreScriptError) as caught:
        await store.run_script("token_bucket", [keys.rate_key("probe")], ["not-a-rate", 5])
    assert not isinstance(caught.value, StoreUnavailable)
    assert caught.value.status == 500
    assert "script" in str(caught.value)


async def test_scripts_come_back_after_the_server_forgets_them(store: RedisContextStore) -> None:
    await _flush_scripts(store)
    allowed, _ = await store.run_script("token_bucket", [keys.rate_key("reload")], [1, 5])
    assert int(allowed) == 1
    await _flush_scripts(store)
    calls = [([keys.rate_key(f"reload-{i}")], [1, 5]) for i in range(4)]
    assert [int(r[0]) for r in await store.run_scripts("token_bucket", calls)] == [1] * 4
    await _flush_scripts(store)
    m = SessionManager(store=store, settings=SessionSettings(agent="faq"))
    session = await m.create_session("user-noscript")
    await _flush_scripts(store)
    assert (await m.handle(session.id, "hello")).seq == 1  # the commit pipeline reloads too


async def test_analytics_repository(store: RedisContextStore) -> None:
    repo = AnalyticsRepository(store)
    bucket = [keys.analytics_bucket_key(0, "m", 7), keys.analytics_bucket_key(0, "h", 0),
              keys.analytics_bucket_key(0, "d", 0)]  # fmt: skip
    await repo.add_buckets([(bucket, [60_000, 60_000, "turns", 3])])
    (total,) = await repo.sum_buckets([([bucket[0]], [1])])
    assert total
    entry = ["rule", "r", "severity", "info", "subject", "s", "message", "m", "at", "1.0",
             "data", json.dumps({})]  # fmt: skip
    alert_id = await repo.append_alert("r", "conformance", [60_000, 100, *entry])
    assert alert_id
    assert await repo.append_alert("r", "conformance", [60_000, 100, *entry]) is None
    rows = await repo.recent_alerts(10)
    ident = alert_id.decode() if isinstance(alert_id, bytes) else str(alert_id)
    assert ident in [(r.decode() if isinstance(r, bytes) else r) for r, _ in rows]
    assert await repo.acknowledged_by([ident]) == [None]
    assert await repo.acknowledge([ident, "op", 1, 60_000])
    assert not await repo.acknowledge([ident, "op", 1, 60_000])


async def test_session_flag_and_keyspace(store: RedisContextStore) -> None:
    m = SessionManager(store=store, settings=SessionSettings(agent="faq"))
    session = await m.create_session("user-flag")
    repo = AnalyticsRepository(store)
    assert await repo.flag(session.id) is None
    for _ in range(3):
        await m.record_auth(session.id, False, "otp")
    assert await repo.flag(session.id) is not None
    assert (await m.load_session(session.id)).id == session.id
    assert FLAG_FIELD in await store.meta(session.id)
    assert await repo.clear_flag(session.id)
    found = [k async for k in scan_keys(store, keys.session_keys(session.id).meta)]
    assert found == [keys.session_keys(session.id).meta.encode()]
    memory = await memory_usage(store)
    assert memory["primaries"] >= 1
    assert memory["used_memory"] > 0
