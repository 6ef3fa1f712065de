"""Conformance of the store's repositories, on standalone and cluster alike.

The store is the only code that speaks Redis: scripts are loaded through one mechanism
(one NOSCRIPT retry), a failing script is a bug (500) and not an unavailable store (503),
and each repository (sessions, turn locks, schedules, analytics, limits, prekeys, the
keyspace and maintenance operations) behaves the same on both deployments.
"""

from __future__ import annotations

import json
import time

import pytest

from agentgpt import SessionManager
from agentgpt.config.settings import SessionSettings
from agentgpt.errors import SessionNotFound, StaleFencingToken, StoreScriptError, StoreUnavailable
from agentgpt.store import keys, maintenance
from agentgpt.store.analytics_repository import AnalyticsRepository
from agentgpt.store.context_store import RedisContextStore, TurnWrite
from agentgpt.store.keyspace import memory_usage, scan_keys
from agentgpt.store.limits_repository import LimitsRepository
from agentgpt.store.prekey_repository import CURRENT_FIELD, PrekeyRepository
from agentgpt.store.records import FLAG_FIELD


async def _flush_scripts(store: RedisContextStore) -> None:
    client = await store.backend.connect()
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


async def test_sessions_repository(store: RedisContextStore) -> None:
    sessions = store.sessions
    sid = "conformance-session"
    assert await sessions.create(sid, {"owner": "user-c", "v": 0})
    assert not await sessions.create(sid, {"owner": "user-c", "v": 0})  # the id exists
    meta, ctx = await sessions.load(sid)
    assert meta[b"owner"] == b"user-c"
    assert ctx is None
    await sessions.set_fields(sid, {"topic": "cards"})
    assert await sessions.swap_meta_field(sid, "topic", "cards", "loans")
    assert not await sessions.swap_meta_field(sid, "topic", "cards", "fx")
    assert (await sessions.meta(sid))[b"topic"] == b"loans"
    assert await sessions.user_sessions(keys.user_key("user-c")) == [sid]
    assert 0 < await sessions.pttl(sid) <= store.retention_ms
    assert await sessions.read_log(sid) == []
    assert await sessions.read_vault(sid, 1) is None
    assert await sessions.idempotent_seq(sid, "digest") is None
    await sessions.close_session(sid)
    assert (await sessions.meta(sid))[b"closed"] == b"1"
    assert await sessions.erase(sid) >= 1
    assert await sessions.meta(sid) == {}
    with pytest.raises(SessionNotFound):
        await sessions.load(sid)
    assert await sessions.user_sessions(keys.user_key("user-c")) == []


async def test_turn_lock_repository(store: RedisContextStore) -> None:
    sid = "conformance-turn"
    assert await store.sessions.create(sid, {"owner": "user-t", "v": 0})
    turns, lock = store.turns, keys.lock_keys(f"session_{sid}")
    granted = await turns.begin_turn(lock, "ticket-a", 5_000, 5_000)
    assert granted.granted
    assert granted.fence > 0
    assert granted.meta is not None
    assert granted.meta[b"owner"] == b"user-t"
    waiting = await turns.acquire(lock, "ticket-b", 5_000, 5_000)
    assert not waiting.granted
    assert waiting.position == 0  # the first waiter behind the holder (ZRANK)
    await turns.leave_queue(lock, "ticket-b")
    holder = f"ticket-a:{granted.fence}"  # the lock key holds ticket:fence
    assert await turns.extend(lock.lock, holder, 5_000)
    write = TurnWrite(
        sid,
        granted.fence,
        0,
        b"ctx-1",
        b"log-1",
        b"head-1",
        vault=b"vault-1",
        release_value=holder,
    )
    assert await turns.commit(write) == 1
    assert not await turns.release(lock.lock, holder)  # the commit released it
    with pytest.raises(StaleFencingToken):
        await turns.commit(TurnWrite(sid, granted.fence - 1, 1, b"c", b"l", b"h"))
    assert await store.sessions.read_log(sid) == [b"log-1"]
    assert await store.sessions.read_vault(sid, 1) == b"vault-1"
    again = await turns.begin_turn(lock, "ticket-c", 5_000, 5_000)
    assert again.granted
    assert again.fence > granted.fence
    assert again.ctx == b"ctx-1"
    assert await turns.release(lock.lock, f"ticket-c:{again.fence}")


async def test_schedule_repository(store: RedisContextStore) -> None:
    schedules, sid = store.schedules, "conformance-schedule"
    now = int(time.time() * 1000)
    await schedules.schedule(sid, now - 10_000)
    assert await schedules.count_active(now - 20_000) >= 1
    shard = keys.shard_of(sid)
    assert sid in await schedules.due("active", shard, now, 100)
    await schedules.unschedule("active", sid)
    assert sid not in await schedules.due("active", shard, now, 100)
    await schedules.reschedule_expiry(sid, now - 1)
    assert sid in await schedules.due("expiry", shard, now, 100)
    lead = keys.session_keys(sid).meta + ":leader"  # any key: the lease is one string
    assert await schedules.try_lead(lead, "me", 5_000)
    assert await schedules.try_lead(lead, "me", 5_000)  # kept
    assert not await schedules.try_lead(lead, "other", 5_000)


async def test_limits_and_prekey_repositories(store: RedisContextStore) -> None:
    limits = LimitsRepository(store)
    await limits.put("eu-west", b"policy-1")
    assert await limits.get("eu-west") == b"policy-1"
    assert await limits.all() == {"eu-west": b"policy-1"}
    assert await limits.delete("eu-west")
    assert not await limits.delete("eu-west")
    assert await limits.get("eu-west") is None

    prekeys = PrekeyRepository(store)
    assert await prekeys.identity() is None
    assert await prekeys.add_identity(b"first") == b"first"
    assert await prekeys.add_identity(b"second") == b"first"  # set once
    first = await prekeys.next_prekey_ids()
    await prekeys.put_signed(first, b"spk")
    assert await prekeys.current_signed_id() == first
    assert await prekeys.signed(first) == b"spk"
    last = await prekeys.next_prekey_ids(2)
    ids = [last - 1, last]
    await prekeys.add_one_time(
        {str(i): b"wrapped-%d" % i for i in ids}, [b"%d|pub" % i for i in ids]
    )
    assert await prekeys.free_count() == 2
    assert await prekeys.pop_free() == b"%d|pub" % ids[0]
    assert await prekeys.take_one_time(ids[0]) == b"wrapped-%d" % ids[0]
    assert await prekeys.take_one_time(ids[0]) is None  # consumed once
    assert await prekeys.one_time_ids() == [ids[1]]
    await prekeys.drop_one_time([ids[1]])
    assert await prekeys.one_time_ids() == []
    assert set(await prekeys.signed_all()) == {str(first).encode(), CURRENT_FIELD.encode()}
    await prekeys.drop_signed([str(first).encode()])
    assert await prekeys.signed(first) is None


async def test_maintenance(store: RedisContextStore) -> None:
    reports = await maintenance.check_nodes(store)
    assert len(reports) == (3 if store.settings.cluster_mode else 1)
    assert all("valkey" in r or "redis" in r for r in reports)
    if store.settings.cluster_mode:
        await maintenance.check_cluster(store)
    assert await maintenance.write_schema_marker(store) == keys.SCHEMA_VERSION
    await store.check_ready()
    assert await store.ping()
