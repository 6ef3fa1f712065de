"""Analytics costs and detector quality. Prints one JSON line.

    python bench/analytics.py [--sessions 100000] [--days 7] [--trials 24]

* added cost per turn: CPU of recording a turn event, CPU and round trips of the flush
  amortised over the turns of one flush interval at 10 turns/s per process, and handle()
  CPU per turn with analytics on and off (an agent that only labels; embedded Valkey);
* snapshot time per window at ``--sessions`` live sessions with ``--days`` (+1) of
  buckets seeded directly into 4 shards (as 4 writer processes would leave them);
* store memory of 30 days of buckets (hours and days for 30 days, minutes for 2);
* trend detector: false alarms over simulated stationary days at 10 turns/s with daily
  seasonality, and the delay until a topic that doubles is flagged.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import tempfile
import time

from agentgpt import AgentPool, Response, SessionManager
from agentgpt.agents.context import Context
from agentgpt.analytics.aggregates import Tally
from agentgpt.analytics.events import TurnEvent
from agentgpt.analytics.snapshot import Analytics
from agentgpt.analytics.trends import TrendParams
from agentgpt.analytics.writer import AggregateWriter
from agentgpt.config.settings import AnalyticsSettings, StoreSettings
from agentgpt.demo.traffic import Surge, Traffic, TrafficModel, alerts_over, detect, simulate
from agentgpt.store import keys as K
from agentgpt.store.context_store import RedisContextStore

DAY = 1440
SHARDS_USED = 4


class LabelAgent:
    """Answers instantly with a topic, intent and sentiment (no NLP cost in the figure)."""

    def __init__(self) -> None:
        self.capabilities: frozenset[str] = frozenset()

    def configure(self, capabilities: object) -> None:
        pass

    def reset(self) -> None:
        pass

    def holds_state(self) -> bool:
        return False

    async def process(self, input: str, context: Context) -> Response:
        return Response(reply="ok", intent="card_block", topic="Card issues", confidence=0.9)


def record_cpu_us(n: int = 200_000) -> float:
    # No flush during the loop (and room for every event): this is the in-memory cost only.
    settings = AnalyticsSettings(flush_interval=3600, max_pending_events=10 * n)
    analytics = Analytics(RedisContextStore("redis://127.0.0.1:1/0"), settings)
    started = time.process_time()
    for i in range(n):
        event = TurnEvent(time=1.8e9 + i * 0.01, region="eu", topic="Card issues",
                          intent="card_block", confidence=0.9, sentiment=-0.2,
                          latency_ms=100 + i % 400, escalated=i % 25 == 0)  # fmt: skip
        analytics.record_turn(event)
    assert analytics.writer.pending == n
    return (time.process_time() - started) / n * 1e6


async def flush_cost(store: RedisContextStore, turns_per_flush: int) -> dict[str, float]:
    """CPU and wall time of one flush holding ``turns_per_flush`` varied events."""
    writer = AggregateWriter(store, AnalyticsSettings(flush_interval=3600), shard=0)
    cpu, wall = [], []
    for r in range(30):
        for i in range(turns_per_flush):
            writer.record(TurnEvent(time=1.8e9 + r * 60 + i % 60, topic=f"topic-{i % 7}",
                                    intent=f"intent-{i % 14}", latency_ms=50 + i % 600,
                                    sentiment=0.1))  # fmt: skip
        c0, w0 = time.process_time(), time.perf_counter()
        assert await writer.flush() == turns_per_flush
        cpu.append(time.process_time() - c0)
        wall.append(time.perf_counter() - w0)
    return {"cpu_us": statistics.median(cpu) * 1e6, "wall_ms": statistics.median(wall) * 1e3}


async def handle_cpu(store: RedisContextStore, enabled: bool, turns: int = 1500) -> float:
    m = SessionManager(store=store, max_concurrent_sessions=10**7,
                       analytics=Analytics(store, AnalyticsSettings(enabled=enabled)))  # fmt: skip
    m.agents = AgentPool(LabelAgent, min_ready=4, max_connections=16)  # type: ignore[attr-defined]
    ids = [(await m.create_session(f"bench-{i}")).id for i in range(50)]
    for session_id in ids:  # warm up
        await m.handle(session_id, "warm")
    started = time.process_time()
    for t in range(turns // len(ids)):
        await asyncio.gather(*(m.handle(s, f"m{t}") for s in ids))
    cpu = (time.process_time() - started) / turns * 1e6
    await m.aclose()
    return cpu


def split(tally: Tally, parts: int) -> list[Tally]:
    """Share one tally among ``parts`` writers (integer counts, remainders to the first)."""
    out: list[Tally] = [{} for _ in range(parts)]
    for field, value in tally.items():
        base, rest = divmod(value, parts)
        for i in range(parts):
            out[i][field] = base + (rest if i == 0 else 0)
    return out


async def seed_direct(store: RedisContextStore, traffic: Traffic, minute_days: int) -> None:
    """HSET minute (last ``minute_days``), hour and day buckets straight from the simulation."""
    client = await store.backend.connect()
    end = traffic.start + len(traffic.counts) - 1
    hours: dict[int, Tally] = {}
    days: dict[int, Tally] = {}
    pipe = client.pipeline(transaction=False)
    for minute in range(traffic.start, end + 1):
        tally = traffic.tally(minute)
        for agg in (hours.setdefault(minute // 60, {}), days.setdefault(minute // DAY, {})):
            for f, v in tally.items():
                agg[f] = agg.get(f, 0) + v
        if minute > end - minute_days * DAY:
            for shard, part in enumerate(split(tally, SHARDS_USED)):
                pipe.hset(K.analytics_bucket_key(shard, "m", minute), mapping=part)
        if len(pipe) > 2000:
            await pipe.execute()
            pipe = client.pipeline(transaction=False)
    for res, table in (("h", hours), ("d", days)):
        for idx, tally in table.items():
            for shard, part in enumerate(split(tally, SHARDS_USED)):
                pipe.hset(K.analytics_bucket_key(shard, res, idx), mapping=part)
    await pipe.execute()


async def seed_sessions(store: RedisContextStore, sessions: int, now_ms: int) -> None:
    client = await store.backend.connect()
    pipe = client.pipeline(transaction=False)
    for i in range(sessions):
        sid = f"sess_bench{i:010d}"
        pipe.zadd(K.active_key(K.shard_of(sid)), {sid: now_ms - (i % 600) * 1000})
        if len(pipe) >= 5000:
            await pipe.execute()
            pipe = client.pipeline(transaction=False)
    await pipe.execute()


async def bucket_memory(store: RedisContextStore, now_minute: int) -> dict[str, int]:
    """Bytes of the analytics buckets that 30 days of retention keep (MEMORY USAGE)."""
    client = await store.backend.connect()
    keys = [k async for k in client.scan_iter(match=f"{K.PREFIX}:an:{{an*", count=5000)]
    pipe = client.pipeline(transaction=False)
    for key in keys:
        pipe.memory_usage(key, samples=0)
    sizes = await pipe.execute()
    out = {"m": 0, "h": 0, "d": 0}
    for key, size in zip(keys, sizes, strict=True):
        tail = key.decode().rsplit(":", 1)[1]
        res, idx = tail[0], int(tail[1:])
        if res == "m" and idx <= now_minute - 2 * DAY:
            continue  # minute buckets live 2 days (minute_retention)
        out[res] += int(size or 0)
    return out


async def snapshot_times(analytics: Analytics, now: float, repeat: int) -> dict[str, float]:
    out = {}
    for window in ("5m", "15m", "1h", "24h", "7d"):
        times = []
        for _ in range(repeat):
            started = time.perf_counter()
            await analytics.snapshot(window, now=now)
            times.append((time.perf_counter() - started) * 1000)
        out[window] = round(statistics.median(times), 2)
    return out


def detector(days: int, trials: int, params: TrendParams) -> dict[str, object]:
    model = TrafficModel()
    start = 20_000 * DAY
    alarms = []
    for seed in range(days):
        traffic = simulate(model, start, 8 * DAY, seed=100 + seed)
        alarms.append(len(alerts_over(traffic, start + 7 * DAY, start + 8 * DAY - 1, params)))
    delays: list[int | None] = []
    for trial in range(trials):
        onset = start + 7 * DAY + (trial * 24 // trials) * 60 + 17
        topic = ("Loan inquiries", "Fraud alerts", "Transfers")[trial % 3]
        traffic = simulate(model, start, 8 * DAY, seed=500 + trial,
                           surges=[Surge(topic, onset, 2.0)])  # fmt: skip
        found = None
        for minute in range(onset, onset + 30):
            flags = detect(traffic, minute, params)
            if any(f.kind == "surge" and f.subject == topic for f in flags):
                found = minute - onset + 1  # evaluated once the minute is complete
                break
        delays.append(found)
    hit = sorted(d for d in delays if d is not None)
    return {
        "false_alarms_per_day": alarms,
        "false_alarms_total": sum(alarms),
        "doubling_delay_min_median": statistics.median(hit) if hit else None,
        "doubling_delay_min_max": max(hit) if hit else None,
        "doubling_within_10_min": f"{sum(d <= 10 for d in hit)}/{len(delays)}",
        "doubling_missed_in_30_min": len(delays) - len(hit),
    }


async def run(args: argparse.Namespace) -> dict[str, object]:
    figures: dict[str, object] = {"record_turn_cpu_us": round(record_cpu_us(), 2)}
    with tempfile.TemporaryDirectory() as tmp:
        # The embedded Valkey (unix socket, AOF everysec), as bench/turns.py uses, unless
        # --store-url names a server (which is FLUSHED: never point it at real data).
        if args.store_url:
            store = RedisContextStore(StoreSettings.from_url(args.store_url, max_connections=32))
        else:
            store = RedisContextStore(StoreSettings(max_connections=32), home=tmp)
        try:
            client = await store.backend.connect()
            await client.flushall()
            flush = await flush_cost(store, 10)
            figures["flush_per_second_at_10_turns_s"] = {k: round(v, 1) for k, v in flush.items()}
            figures["round_trips_per_turn_at_10_turns_s"] = round(1 / 10, 3)
            figures["added_cpu_us_per_turn_at_10_turns_s"] = round(
                figures["record_turn_cpu_us"] + flush["cpu_us"] / 10, 1)  # type: ignore[operator]  # fmt: skip
            on = await handle_cpu(store, True)
            off = await handle_cpu(store, False)
            figures["handle_cpu_us_per_turn"] = {"analytics_on": round(on), "off": round(off)}
            await client.flushall()

            now = float(int(time.time() // 60) * 60 + 30)
            end = int(now // 60)
            traffic = simulate(TrafficModel(), end - (args.days + 1) * DAY + 1,
                               (args.days + 1) * DAY, seed=1, latency=True)  # fmt: skip
            await seed_direct(store, traffic, minute_days=2)
            await seed_sessions(store, args.sessions, int(now * 1000))
            analytics = Analytics(store, idle_timeout=900)
            snap = await analytics.snapshot("7d", now=now)
            assert snap.active_sessions == args.sessions, snap.active_sessions
            figures["live_sessions"] = snap.active_sessions
            figures["snapshot_ms_median"] = await snapshot_times(analytics, now, args.repeat)
            await client.flushall()

            month = simulate(TrafficModel(), end - 30 * DAY + 1, 30 * DAY, seed=2, latency=True)
            await seed_direct(store, month, minute_days=2)
            mem = await bucket_memory(store, end)
            figures["bucket_memory_30d_bytes"] = {**mem, "total": sum(mem.values())}
        finally:
            await store.aclose()
    for mode in ("consistent", "point"):
        params = TrendParams(ratio_mode=mode)
        figures[f"detector_{mode}"] = detector(args.stationary_days, args.trials, params)
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--sessions", type=int, default=100_000)
    parser.add_argument("--store-url", help="a throw-away server or cluster (it is flushed)")
    parser.add_argument("--days", type=int, default=7)
    parser.add_argument("--repeat", type=int, default=15)
    parser.add_argument("--stationary-days", type=int, default=30)
    parser.add_argument("--trials", type=int, default=24)
    print(json.dumps(asyncio.run(run(parser.parse_args()))))


if __name__ == "__main__":
    main()
