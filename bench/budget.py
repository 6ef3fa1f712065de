"""The CPU of one HTTP turn, split by stage, with the bare stack's floor in the same run.

Builds the service with ``create_app()`` on a fresh data directory (embedded Valkey), runs
its lifespan and drives it in-process, sequentially, three ways per round (interleaved, so
every figure shares the machine's load of that moment):

* **staged turns**: the steps of ``POST /v1/sessions/{id}/messages`` run one by one, each
  timed with ``time.process_time`` (this process's CPU; Valkey's own CPU is not in it):
  token check, rate limit, lock + load (one round trip), decrypt + decode, NLU (the
  analyzer, inline), agent (pool checkout + reply), encode + encrypt, commit (one round
  trip), analytics event, response serialisation;
* **whole route**: the same request through the ASGI app (``post_message_ms``); what it
  costs beyond the sum of the stages is the framework (middleware, routing, parameter and
  body validation): ``http_framework`` in the table;
* **floor**: a bare ASGI callable that parses a small JSON body, runs two EVALSHA on the
  same Valkey through the same store client and answers JSON; and the same through the
  store's turn channel (``store/turn_channel.py``, what the turn's calls use).

Neither path includes the socket server (uvicorn's HTTP parsing): both are called as ASGI
applications. Prints one JSON line, then the table (``--table``) for docs/benchmarks.md.

    python bench/budget.py --turns 300 --rounds 5 --table
"""

from __future__ import annotations

import sys
from pathlib import Path

# a module here could shadow a stdlib one (bench/http.py did): drop this folder from the path.
_HERE = Path(__file__).resolve().parent
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != _HERE]

import argparse
import asyncio
import gc
import json
import os
import tempfile
import time
import timeit
from collections import defaultdict
from collections.abc import Awaitable, Callable
from typing import Any

import uvloop

LINES = ("I lost my card, please block it", "I forgot my password", "Can I get a loan?",
         "Wire transfer to my landlord please", "thanks, bye")  # fmt: skip
STAGES = ("token check", "rate limit", "lock + load", "decrypt + decode", "PII redaction", "NLU",
          "agent", "encode + encrypt", "commit", "analytics", "response")  # fmt: skip


async def call(app: Any, method: str, path: str, body: bytes = b"",
               headers: tuple[tuple[bytes, bytes], ...] = ()) -> tuple[int, bytes]:  # fmt: skip
    """One ASGI HTTP request (no sockets); returns status and body."""
    scope = {
        "type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": method,
        "scheme": "http", "path": path, "raw_path": path.encode(), "query_string": b"",
        "root_path": "", "client": ("127.0.0.1", 1), "server": ("127.0.0.1", 80),
        "headers": [(b"host", b"bench"), (b"content-length", str(len(body)).encode()),
                    (b"content-type", b"application/json"), *headers],
    }  # fmt: skip
    state = {"sent": False, "status": 0}
    chunks: list[bytes] = []

    async def receive() -> dict[str, Any]:
        if not state["sent"]:
            state["sent"] = True
            return {"type": "http.request", "body": body, "more_body": False}
        await asyncio.Event().wait()
        raise AssertionError("unreachable")

    async def send(message: dict[str, Any]) -> None:
        if message["type"] == "http.response.start":
            state["status"] = message["status"]
        else:
            chunks.append(message.get("body", b""))

    await app(scope, receive, send)
    return int(state["status"]), b"".join(chunks)


def bare_app(store: Any, lean: bool = False) -> Callable[..., Awaitable[None]]:
    """The floor: parse a small JSON body, two EVALSHA on the same Valkey, answer JSON.

    ``lean``: through the store's turn channel (as the turn's calls go) instead of
    redis-py's client.
    """
    from agentgpt.store.scripts import Scripts

    scripts = Scripts(["token_bucket", "cas_field"])

    async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
        body = (await receive())["body"]
        text = json.loads(body)["text"]
        client = await store.backend.connect()
        if lean:  # a checkout without the channel (a baseline) measures redis-py twice
            client = getattr(store.backend, "channel", None) or client
        a = await scripts.call(client, "token_bucket", ["bench:floor:rate"], [1e6, 1e6])
        b = await scripts.call(client, "cas_field", ["bench:floor:cas"], ["f", "", "v", 60_000])
        out = json.dumps({"reply": text, "a": int(a[0]), "b": str(b)}).encode()
        await send({"type": "http.response.start", "status": 200,
                    "headers": [(b"content-type", b"application/json")]})  # fmt: skip
        await send({"type": "http.response.body", "body": out})

    return app


class Clock:
    """Per-stage CPU accumulator (``process_time``)."""

    def __init__(self) -> None:
        """Start empty."""
        self.total: dict[str, float] = defaultdict(float)
        self.mark = time.process_time()

    def lap(self, stage: str) -> None:
        """Charge the CPU since the last mark to ``stage``."""
        now = time.process_time()
        self.total[stage] += now - self.mark
        self.mark = now


async def staged_turn(svc: Any, token: str, session_id: str, text: str, clock: Clock,
                      nlu: dict[str, float]) -> None:  # fmt: skip
    """One turn of the messages route, stage by stage (the calls of ``SessionManager.handle``)."""
    from agentgpt.agents.turn_pii import turn_values
    from agentgpt.sessions.redaction import merged

    manager = svc.manager
    clock.mark = time.process_time()
    claims = svc.verifier.verify(token)
    clock.lap("token check")
    # The bucket is spent in the lock's script: its CPU is in "lock + load".
    bucket = svc.limiter.bucket(claims.user)
    clock.lap("rate limit")
    started = time.perf_counter()
    lock = manager._turn_lock(session_id, None, bucket)
    await lock.acquire()
    clock.lap("lock + load")
    manager._check_owner(session_id, lock.meta, claims.user)
    session = await manager._materialise(session_id, lock.meta, lock.ctx)
    clock.lap("decrypt + decode")
    redaction = await manager.redactor.redact(text, session.capabilities)
    clock.lap("PII redaction")
    before = nlu["cpu"]
    with turn_values(redaction.values):
        response = await manager._process(session, redaction.text)
    merged(response, redaction)
    manager._require_verification_if_flagged(lock, response)
    clock.lap("agent")
    clock.total["agent"] -= nlu["cpu"] - before
    clock.total["NLU"] += nlu["cpu"] - before
    latency_ms = (time.perf_counter() - started) * 1000
    write, context = session.prepare_turn(
        response.redacted_input or "", response, fence=lock.fence,
        window=manager.settings.context_window, latency_ms=latency_ms, release_value=lock.value,
    )  # fmt: skip
    clock.lap("encode + encrypt")
    await manager.store.commit(write)
    session.applied(write, context)
    lock.forget()
    response.seq = session.version
    clock.lap("commit")
    manager._record_turn(response, latency_ms)
    await manager._fire_turn(session, response, latency_ms, 0.0)
    clock.lap("analytics")
    _turn_json(session_id, response.seq, response)
    clock.lap("response")


def _time_nlu() -> dict[str, float]:
    """Wrap the analyzer so its CPU is known apart from the agent's reply."""
    from agentgpt.nlu.analysis import Analyzer

    spent = {"cpu": 0.0}
    original = Analyzer.one

    def one(self: Analyzer, request: Any) -> Any:
        started = time.process_time()
        try:
            return original(self, request)
        finally:
            spent["cpu"] += time.process_time() - started

    Analyzer.one = one  # type: ignore[method-assign]
    return spent


def _turn_json(session_id: str, seq: int, response: Any) -> bytes:
    """The route's answer as the checkout under test encodes it (msgspec, or TurnOut)."""
    try:
        from agentgpt.server.message_route import turn_json
    except ImportError:  # before the lane (a baseline checkout on PYTHONPATH)
        from agentgpt.wire import TurnOut

        return TurnOut.of(session_id, seq, response).model_dump_json().encode()
    out: bytes = turn_json(session_id, seq, response)
    return out


class GcPauses:
    """Collections by generation during the measured rounds, and their total pause."""

    def __init__(self) -> None:
        """Count nothing until ``start``."""
        self.count = [0, 0, 0]
        self.ms = [0.0, 0.0, 0.0]
        self._t = 0.0
        self._on = False

    def start(self) -> None:
        """Record every collection from now on."""
        self._on = True
        gc.callbacks.append(self._callback)

    def _callback(self, phase: str, info: dict[str, int]) -> None:
        if phase == "start":
            self._t = time.perf_counter()
        elif self._on:
            generation = info["generation"]
            self.count[generation] += 1
            self.ms[generation] += (time.perf_counter() - self._t) * 1000

    def figures(self, turns: int) -> dict[str, Any]:
        """Collections per 1,000 turns and mean pause, per generation."""
        return {
            f"gen{g}": {"per_1000_turns": round(self.count[g] * 1000 / turns, 1),
                        "mean_pause_ms": round(self.ms[g] / max(1, self.count[g]), 2)}
            for g in range(3)
        }  # fmt: skip


async def cpu_per_call(fn: Callable[[int], Awaitable[Any]], calls: int) -> float:
    """CPU seconds of this process per ``fn(i)`` call."""
    started = time.process_time()
    for i in range(calls):
        await fn(i)
    return (time.process_time() - started) / calls


def _timeit_ns() -> int:
    """Nanoseconds of ``sum(range(50))``: how fast this core is right now."""
    return round(min(timeit.repeat("sum(range(50))", number=20000, repeat=5)) / 20000 * 1e9)


async def main_async(turns: int, rounds: int) -> dict[str, Any]:
    """Start the app, open sessions, run the interleaved rounds."""
    from agentgpt.server.app import create_app

    nlu = _time_nlu()
    app = create_app()
    async with app.router.lifespan_context(app):
        svc = app.state.services
        _, body = await call(app, "POST", "/v1/demo/token", b'{"user": "bench"}')
        token = json.loads(body)["token"]
        auth = ((b"authorization", b"Bearer " + token.encode()),)
        ids = []
        for _ in range(2):
            status, body = await call(app, "POST", "/v1/sessions", headers=auth)
            assert status == 201, body
            ids.append(json.loads(body)["id"])
        bodies = [json.dumps({"text": line}).encode() for line in LINES]
        floor = bare_app(svc.manager.store)
        lean_floor = bare_app(svc.manager.store, lean=True)
        clock = Clock()

        async def staged(i: int) -> None:
            await staged_turn(svc, token, ids[0], LINES[i % len(LINES)], clock, nlu)

        async def route(i: int) -> None:
            path = f"/v1/sessions/{ids[1]}/messages"
            status, out = await call(app, "POST", path, bodies[i % len(bodies)], auth)
            assert status == 200, out

        async def bare(i: int) -> None:
            status, out = await call(floor, "POST", "/floor", bodies[i % len(bodies)])
            assert status == 200, out

        async def lean_bare(i: int) -> None:
            status, out = await call(lean_floor, "POST", "/floor", bodies[i % len(bodies)])
            assert status == 200, out

        for fn in (staged, route, bare, lean_bare):  # warm-up
            await cpu_per_call(fn, 50)
        clock.total.clear()
        pauses = GcPauses()
        pauses.start()
        whole: list[float] = []
        floors: list[float] = []
        lean_floors: list[float] = []
        for _ in range(rounds):
            await cpu_per_call(staged, turns)
            whole.append(await cpu_per_call(route, turns))
            floors.append(await cpu_per_call(bare, turns))
            lean_floors.append(await cpu_per_call(lean_bare, turns))
        n = turns * rounds
        stages = {s: clock.total[s] / n * 1000 for s in STAGES}
        post_ms = sum(whole) / rounds * 1000
        staged_sum = sum(stages.values())
        return {
            "turns_per_figure": n,
            "load_average": round(os.getloadavg()[0], 1),
            "timeit_sum_range_50_ns": _timeit_ns(),
            "stages_ms": {s: round(v, 3) for s, v in stages.items()},
            "staged_sum_ms": round(staged_sum, 3),
            "post_message_ms": round(post_ms, 3),
            "http_framework_ms": round(post_ms - staged_sum, 3),
            "floor_ms": round(sum(floors) / rounds * 1000, 3),
            "floor_turn_channel_ms": round(sum(lean_floors) / rounds * 1000, 3),
            "route_over_floor": round(post_ms / (sum(floors) / rounds * 1000), 2),
            "post_message_rounds_ms": [round(x * 1000, 3) for x in whole],
            "floor_rounds_ms": [round(x * 1000, 3) for x in floors],
            "gc_thresholds": list(gc.get_threshold()),
            "gc": pauses.figures(4 * n),
        }


def table(r: dict[str, Any]) -> str:
    """The figures as the markdown table of docs/benchmarks.md."""
    rows = ["| stage | CPU ms / turn | share of the route |", "|---|---|---|"]
    post = r["post_message_ms"]
    for stage, ms in [*r["stages_ms"].items(), ("HTTP framework (route - stages)",
                                                r["http_framework_ms"])]:  # fmt: skip
        rows.append(f"| {stage} | {ms:.3f} | {ms / post:.0%} |")
    rows.append(f"| **whole route** (`POST .../messages`, ASGI) | **{post:.3f}** | 100% |")
    rows.append(f"| floor: bare ASGI, JSON + 2 EVALSHA (redis-py), same run | "
                f"{r['floor_ms']:.3f} | {r['floor_ms'] / post:.0%} |")  # fmt: skip
    lean = r["floor_turn_channel_ms"]
    rows.append(f"| floor: the same through the turn channel, same run | {lean:.3f} | "
                f"{lean / post:.0%} |")  # fmt: skip
    return "\n".join(rows)


def main() -> None:
    """Parse arguments, run on a fresh data directory, print one JSON line (and the table)."""
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--turns", type=int, default=300, help="turns per figure per round")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--table", action="store_true", help="also print the markdown table")
    args = parser.parse_args()
    os.environ["AGENTGPT_HOME"] = tempfile.mkdtemp(prefix="agentgpt-bench-budget-")
    os.environ.setdefault("AGENTGPT_SERVER__ENVIRONMENT", "development")
    os.environ["AGENTGPT_SERVER__RATE_PER_USER"] = "1000000"
    os.environ["AGENTGPT_SERVER__RATE_BURST"] = "1000000"
    os.environ["AGENTGPT_SERVER__DEMO_TOKENS"] = "true"
    result = uvloop.run(main_async(args.turns, args.rounds))
    print(json.dumps(result))
    if args.table:
        print(table(result))


if __name__ == "__main__":
    main()
