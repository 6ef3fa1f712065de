"""What tracing costs a turn: switched off (the default) and on with the OpenTelemetry SDK.

Prints one JSON line:

- ``off_ns_per_turn``: the turn path's four ``tracing.span`` blocks (turn, lock_load, process,
  commit) while tracing is off, best of 5 timeit repeats; ``off_ns_per_span`` the same per
  span;
- ``on_us_per_turn``: the same four spans, plus the seq attribute, with an SDK
  ``TracerProvider`` and a ``BatchSpanProcessor`` whose exporter discards (the cost on the
  turn's own thread; exporting runs on the processor's thread);
- ``sampled_out_us_per_turn``: the same with ``sample_ratio: 0`` (spans made, not recorded);
- ``turn_p50_ms_off`` / ``turn_p50_ms_on`` / ``added_p50_us``: sequential turns (FAQ agent)
  on the embedded server, tracing switched off and on turn by turn so drift hits both alike.

    PYTHONPATH=src python bench/tracing.py --sessions 50 --turns 20
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import tempfile
import time
import timeit
from collections.abc import Sequence

from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor, SpanExporter, SpanExportResult
from opentelemetry.sdk.trace.sampling import ParentBasedTraceIdRatio

from agentgpt import SessionManager
from agentgpt.config.settings import SessionSettings, StoreSettings
from agentgpt.observability import tracing
from agentgpt.store.context_store import RedisContextStore

LINES = ("I forgot my password", "Card blocked in foreign country", "Can I get a loan?",
         "Wire transfer to my landlord please", "thanks, bye")  # fmt: skip


class Discard(SpanExporter):
    """Exports nowhere: the figures measure making spans, not shipping them."""

    def export(self, spans: Sequence[ReadableSpan]) -> SpanExportResult:
        """Drop ``spans``."""
        return SpanExportResult.SUCCESS


def four_spans() -> None:
    """The span shape of one turn in SessionManager.handle."""
    with tracing.span("agentgpt.turn", {"session.id": "sess_0123456789abcdef"}) as span:
        with tracing.span("agentgpt.turn.lock_load"):
            pass
        with tracing.span("agentgpt.turn.process"):
            pass
        with tracing.span("agentgpt.turn.commit"):
            pass
        if span is not None:
            span.set_attribute("agentgpt.turn.seq", 1)


def per_call(n: int) -> float:
    """Best-of-5 seconds per ``four_spans()`` call."""
    return min(timeit.repeat(four_spans, number=n, repeat=5)) / n


async def turn_latencies(provider: TracerProvider, sessions: int, turns: int) -> dict[str, float]:
    """Median sequential turn latency, tracing off and on, interleaved."""
    home = tempfile.mkdtemp(prefix="agentgpt-bench-tracing-")
    store = RedisContextStore(StoreSettings(max_connections=8), home=home)
    manager = SessionManager(store=store, settings=SessionSettings(agent="faq"),
                             max_concurrent_sessions=10**7)  # fmt: skip
    ids = [(await manager.create_session(f"bench-{i}")).id for i in range(sessions)]
    latencies: dict[bool, list[float]] = {False: [], True: []}
    for t in range(turns):
        for i, sid in enumerate(ids):
            for on in (True, False) if (t + i) % 2 else (False, True):
                if on:
                    tracing.install(provider)
                started = time.perf_counter()
                await manager.handle(sid, LINES[t % len(LINES)])
                latencies[on].append(time.perf_counter() - started)
                tracing.uninstall()
    await manager.aclose()
    await store.aclose()
    off, on = (statistics.median(latencies[flag]) for flag in (False, True))
    return {
        "turns_per_mode": len(latencies[False]),
        "turn_p50_ms_off": round(off * 1e3, 3),
        "turn_p50_ms_on": round(on * 1e3, 3),
        "added_p50_us": round((on - off) * 1e6, 1),
    }


def main() -> None:
    """Parse arguments, measure, print one JSON line."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--sessions", type=int, default=50)
    parser.add_argument("--turns", type=int, default=20, help="turns per session and mode")
    args = parser.parse_args()
    figures: dict[str, object] = {"cpus": os.cpu_count()}
    tracing.uninstall()
    off = per_call(200_000)
    figures["off_ns_per_turn"] = round(off * 1e9)
    figures["off_ns_per_span"] = round(off * 1e9 / 4)
    provider = TracerProvider()
    provider.add_span_processor(BatchSpanProcessor(Discard(), max_queue_size=2**20))
    tracing.install(provider)
    figures["on_us_per_turn"] = round(per_call(20_000) * 1e6, 2)
    tracing.install(TracerProvider(sampler=ParentBasedTraceIdRatio(0.0)))
    figures["sampled_out_us_per_turn"] = round(per_call(20_000) * 1e6, 2)
    tracing.uninstall()
    figures.update(asyncio.run(turn_latencies(provider, args.sessions, args.turns)))
    provider.shutdown()
    print(json.dumps(figures))


if __name__ == "__main__":
    main()
