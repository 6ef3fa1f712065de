"""Analytics on real Valkey: exact shares across processes, roll-ups, percentiles, alerts."""

from __future__ import annotations

import asyncio
import json
import math
import os
import random
import sys
import textwrap
import time

import pytest

from agentgpt import Action, AgentPool, SessionManager
from agentgpt.analytics import reader
from agentgpt.analytics.alerts import Alert, make_alert
from agentgpt.analytics.events import TurnEvent
from agentgpt.analytics.histogram import bucket_of, exact_percentile
from agentgpt.analytics.snapshot import Analytics
from agentgpt.config.settings import AnalyticsSettings
from agentgpt.demo.traffic import Surge, TrafficModel, seed, simulate
from agentgpt.errors import InvalidInput, SessionNotFound
from agentgpt.sessions.hooks import Event
from agentgpt.store.context_store import RedisContextStore
from tests.integration.agents_for_tests import EchoAgent

MIX = {"Password & access": 43, "Fraud alerts": 29, "Loan inquiries": 18, "Card issues": 10}
NOW = 1_800_000_000.0  # a fixed instant: tests own their clock


class Clock:
    """A settable clock (time is an input of the rules, not a component)."""

    def __init__(self, t: float) -> None:
        self.t = t

    def __call__(self) -> float:
        return self.t


def store_url(store: RedisContextStore) -> str:
    if store.settings.cluster_mode:
        return "redis+cluster://" + ",".join(store.settings.nodes)
    assert store.settings.url is not None
    return store.settings.url


async def test_shares_are_exact_across_writer_processes(store: RedisContextStore) -> None:
    topics = [t for t, pct in MIX.items() for _ in range(pct * 10)] + [None] * 100
    random.shuffle(topics)
    writers = 4
    script = textwrap.dedent("""
        import asyncio, json, sys
        from agentgpt.analytics.events import TurnEvent
        from agentgpt.analytics.snapshot import Analytics
        from agentgpt.store.context_store import RedisContextStore
        async def main():
            url, shard, now, topics = sys.argv[1], int(sys.argv[2]), float(sys.argv[3]), json.loads(sys.argv[4])
            a = Analytics(RedisContextStore(url), shard=shard)
            for i, topic in enumerate(topics):
                a.record_turn(TurnEvent(time=now - i % 120, topic=topic, latency_ms=50.0))
            assert await a.flush() == len(topics), a.dropped
        asyncio.run(main())
    """)  # noqa: E501
    procs = [
        await asyncio.create_subprocess_exec(
            sys.executable,
            "-c",
            script,
            store_url(store),
            str(w),
            repr(NOW),
            json.dumps(topics[w::writers]),
            env=dict(os.environ),
        )
        for w in range(writers)
    ]
    assert [await asyncio.wait_for(p.wait(), 60) for p in procs] == [0] * writers
    snap = await Analytics(store, clock=Clock(NOW)).snapshot("5m")
    assert snap.turns == 1100
    assert snap.topic_turns == 1000
    assert [(s.topic, s.percent) for s in snap.topics] == [(t, float(p)) for t, p in MIX.items()]
    client = await store.backend.connect()
    shards = {k for k in await _keys(client) if b":an:{an" in k}
    assert len({k.split(b"}")[0] for k in shards}) == writers  # no single key took every write


async def _keys(client: object) -> list[bytes]:
    if hasattr(client, "get_nodes"):
        found: list[bytes] = []
        for node in client.get_nodes():
            found += await client.keys("*", target_nodes=node)  # type: ignore[attr-defined]
        return found
    return await client.keys("*")  # type: ignore[attr-defined,no-any-return]


async def test_hours_and_days_equal_the_sum_of_their_minutes(store: RedisContextStore) -> None:
    analytics = Analytics(store, clock=Clock(NOW), shard=3)
    rng = random.Random(5)
    start = int(NOW // 86400) * 86400 + 3600 * 22  # crosses midnight: two day buckets
    for _ in range(3000):
        event = TurnEvent(time=start + rng.uniform(0, 3 * 3600), topic=rng.choice(list(MIX)),
                          intent="x", sentiment=rng.uniform(-1, 1),
                          latency_ms=rng.uniform(5, 900))  # fmt: skip
        analytics.record_turn(event)
    assert await analytics.flush() == 3000
    m0, h0 = start // 60, start // 3600
    groups = [reader.minutes(m0 + 60 * h, m0 + 60 * h + 59) for h in range(3)]
    groups += [[("h", h0 + h)] for h in range(3)]
    groups += [reader.minutes(m0, m0 + 179), [("d", (h0 + 2) // 24)], reader.hours(h0 + 2, h0 + 2)]
    by_minutes, by_hours = (await reader.sum_groups(store, 8, groups[:3]),
                            await reader.sum_groups(store, 8, groups[3:6]))  # fmt: skip
    assert by_minutes == by_hours
    assert sum(t["n"] for t in by_hours) == 3000
    total, day, last_hour = await reader.sum_groups(store, 8, groups[6:])
    assert total["n"] == 3000
    assert day == last_hour  # the new day holds only the hour after midnight


async def test_percentiles_are_within_one_bucket(standalone_store: RedisContextStore) -> None:
    analytics = Analytics(standalone_store, clock=Clock(NOW))
    rng = random.Random(11)
    values = [rng.lognormvariate(math.log(140), 0.8) for _ in range(5000)]
    for v in values:
        analytics.record_turn(TurnEvent(time=NOW - rng.uniform(0, 200), latency_ms=v))
    await analytics.flush()
    snap = await analytics.snapshot("5m")
    for q, got in ((0.5, snap.latency_p50_ms), (0.95, snap.latency_p95_ms),
                   (0.99, snap.latency_p99_ms)):  # fmt: skip
        assert got is not None
        assert abs(bucket_of(got) - bucket_of(exact_percentile(values, q))) <= 1
    assert snap.latency_avg_ms == pytest.approx(sum(values) / len(values), rel=1e-3)


def manager(store: RedisContextStore, analytics: Analytics | None = None) -> SessionManager:
    m = SessionManager(store=store, analytics=analytics)
    m.agents = AgentPool(EchoAgent, min_ready=2, max_connections=16)  # type: ignore[attr-defined]
    return m


async def test_third_failed_auth_flags_the_session_and_alerts_once(
    store: RedisContextStore,
) -> None:
    clock = Clock(NOW)
    m = manager(store, Analytics(store, clock=clock))
    seen: list[Event] = []
    m.register_hook(event="alert", callback=seen.append)
    session = (await m.create_session("user-auth")).id
    assert [await m.record_auth(session, False, "otp") for _ in range(2)] == [1, 2]
    assert seen == []
    assert not await m.analytics.is_flagged(session)
    clock.t += 120
    assert await m.record_auth(session, False, "otp") == 3
    assert [(e.session_id, e.data["rule"], e.data["severity"]) for e in seen] == [
        (session, "auth_failures", "critical")
    ]
    assert await m.analytics.is_flagged(session)
    response = await m.handle(session, "send 5000 to a new payee")
    assert Action.REQUIRE_VERIFICATION in response.actions
    clock.t += 60
    await m.record_auth(session, False, "password")  # a fourth: same incident, no new alert
    assert len(seen) == 1
    assert await m.analytics.clear_flag(session)
    assert not await m.analytics.is_flagged(session)
    assert Action.REQUIRE_VERIFICATION not in (await m.handle(session, "hello")).actions
    open_alerts = await m.analytics.alerts.recent()
    assert [a.message for a in open_alerts] == [f'Session "{session}": 3 failed auth attempts']


async def test_failures_spread_over_an_hour_or_reset_by_success_do_not_alert(
    store: RedisContextStore,
) -> None:
    clock = Clock(NOW)
    m = manager(store, Analytics(store, clock=clock))
    seen: list[Event] = []
    m.register_hook(event="alert", callback=seen.append)
    spread, reset = (await m.create_session("u1")).id, (await m.create_session("u2")).id
    counts = []
    for _ in range(3):
        counts.append(await m.record_auth(spread, False, "otp"))
        clock.t += 25 * 60
    assert counts == [1, 1, 1]
    for success in (False, False, True, False, False):
        await m.record_auth(reset, success, "otp")
    assert seen == []
    assert not await m.analytics.is_flagged(spread)
    assert not await m.analytics.is_flagged(reset)
    with pytest.raises(InvalidInput):
        await m.record_auth("bad id!", False, "otp")


DAY = 1440


async def test_fraud_surge_raises_a_critical_alert_and_stationary_traffic_none(
    standalone_store: RedisContextStore,
) -> None:
    raised: list[Alert] = []
    settings = AnalyticsSettings()
    end = int(NOW // 60)
    onset = end - 6
    model = TrafficModel()
    calm = simulate(model, end - 8 * DAY, 8 * DAY + 1, seed=3)
    await seed(standalone_store, settings, calm, end - 8 * DAY, end)
    analytics = Analytics(standalone_store, settings, clock=Clock(NOW), on_alert=raised.append)
    assert await analytics.evaluate() == []
    client = await standalone_store.backend.connect()
    await client.flushall()
    surged = simulate(model, end - 8 * DAY, 8 * DAY + 1, seed=3,
                      surges=[Surge("Fraud alerts", onset, 3.0)])  # fmt: skip
    await seed(standalone_store, settings, surged, end - 8 * DAY, end)
    new = await analytics.evaluate()
    assert [(a.rule, a.severity, a.subject) for a in new] == [
        ("critical_surge", "critical", "Fraud alerts")
    ]
    assert raised == new
    assert await analytics.evaluate() == []  # cool-down: no repeat
    snap = await analytics.snapshot("5m")
    assert ("surge", "Fraud alerts") in {(t.kind, t.subject) for t in snap.trends}
    assert [a.rule for a in snap.alerts] == ["critical_surge"]
    assert snap.turns_per_s > 0


async def test_alert_stream_is_deduplicated_filtered_and_acknowledged(
    standalone_store: RedisContextStore,
) -> None:
    analytics = Analytics(standalone_store, AnalyticsSettings(severity="prod"), clock=Clock(NOW))
    book = analytics.book
    first = await analytics.raise_alert(make_alert(book["topic_surge"], "Transfers", "x", NOW))
    assert first is not None
    assert (
        await analytics.raise_alert(make_alert(book["topic_surge"], "Transfers", "x", NOW)) is None
    )
    await analytics.raise_alert(make_alert(book["topic_drop"], "Transfers", "y", NOW))
    assert [a.rule for a in await analytics.alerts.recent(min_severity="debug")] == [
        "topic_drop", "topic_surge"
    ]  # fmt: skip
    assert [a.rule for a in (await analytics.snapshot("5m")).alerts] == ["topic_surge"]  # prod
    assert await analytics.alerts.acknowledge(first.id, "operator-ann")
    assert not await analytics.alerts.acknowledge(first.id, "operator-bob")
    assert [a.rule for a in await analytics.alerts.recent(min_severity="prod")] == []
    with pytest.raises(InvalidInput):
        await analytics.alerts.acknowledge("not-an-id", "operator-ann")
    done = await analytics.alerts.recent(min_severity="prod", include_acknowledged=True)
    assert [(a.id, a.acknowledged_by) for a in done] == [(first.id, "operator-ann")]


async def test_snapshot_counts_active_sessions_and_turns(store: RedisContextStore) -> None:
    m = manager(store)
    ids = [(await m.create_session(f"user-{i}")).id for i in range(5)]
    for session_id in ids:
        await m.handle(session_id, "hello")
    await m.analytics.flush()
    for window in ("5m", "15m", "1h", "24h", "7d"):
        snap = await m.analytics.snapshot(window)
        assert (snap.active_sessions, snap.turns, snap.escalations) == (5, 5, 0)
        assert [(s.topic, s.percent) for s in snap.topics] == [("test", 100.0)]
    with pytest.raises(InvalidInput):
        await m.analytics.snapshot("2h")
    await m.aclose()


class Counter:
    """A real StatsReporter that keeps what it was sent (statsd's client interface)."""

    def __init__(self) -> None:
        self.sent: list[str] = []

    def incr(self, stat: str, count: int = 1, rate: float = 1) -> None:
        self.sent.append(stat)

    def timing(self, stat: str, delta: float, rate: float = 1) -> None:
        self.sent.append(stat)


async def test_alerts_reach_a_statsd_reporter_through_the_hook(
    standalone_store: RedisContextStore,
) -> None:
    from functools import partial

    from agentgpt.sessions.statsd_reporter import log_alert

    counter = Counter()
    m = manager(standalone_store, Analytics(standalone_store, clock=Clock(NOW)))
    m.register_hook(event="alert", callback=partial(log_alert, reporter=counter))
    session = (await m.create_session("user-statsd")).id
    for _ in range(3):
        await m.record_auth(session, False, "otp")
    assert counter.sent == ["agentgpt.alert.critical.auth_failures"]


@pytest.mark.parametrize(("slow_minutes", "alerts"), [(5, ["latency_p99"]), (4, [])])
async def test_latency_p99_over_objective_for_five_minutes_warns(
    standalone_store: RedisContextStore, slow_minutes: int, alerts: list[str]
) -> None:
    settings = AnalyticsSettings(latency_objective_p99_ms=500)
    analytics = Analytics(standalone_store, settings, clock=Clock(NOW))
    end = int(NOW // 60) - 1
    for minute in range(end - 4, end + 1):
        slow = minute > end - slow_minutes
        for i in range(100):
            latency = 900.0 if slow and i >= 95 else 80.0  # 5% slow: the p99 is slow
            analytics.record_turn(TurnEvent(time=minute * 60 + i * 0.5, latency_ms=latency))
    await analytics.flush()
    assert [(a.rule, a.severity) for a in await analytics.evaluate()] == [
        (rule, "warning") for rule in alerts
    ]


async def test_background_loop_flushes_and_stops(standalone_store: RedisContextStore) -> None:
    settings = AnalyticsSettings(flush_interval=0.05, evaluate_interval=0.1)
    analytics = Analytics(standalone_store, settings)
    analytics.start()
    for _ in range(10):
        analytics.record_turn(TurnEvent(time=time.time(), topic="Transfers"))
    for _ in range(50):
        if analytics.writer.flushed == 10:
            break
        await asyncio.sleep(0.05)
    await asyncio.sleep(0.15)  # at least one evaluation under the leader lease
    await analytics.aclose()
    assert (await analytics.snapshot("5m")).turns == 10


async def test_the_flag_expires_and_unknown_sessions_are_refused(
    standalone_store: RedisContextStore,
) -> None:
    clock = Clock(NOW)
    analytics = Analytics(standalone_store, AnalyticsSettings(flag_ttl=3600), clock=clock)
    m = manager(standalone_store, analytics)
    session = (await m.create_session("user-expiry")).id
    for _ in range(3):
        await m.record_auth(session, False, "otp")
    assert await analytics.is_flagged(session)
    clock.t += 3601
    assert not await analytics.is_flagged(session)
    with pytest.raises(SessionNotFound):
        await m.record_auth("sess_does_not_exist_00", False, "otp")
    clock.t = NOW
    assert await analytics.is_flagged(session)
    assert await m.erase(session) > 0  # the flag is a meta field: erasure takes it along
    assert not await analytics.is_flagged(session)
