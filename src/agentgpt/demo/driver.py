"""``agentgpt demo``: start the service and drive simulated customers through HTTP."""

from __future__ import annotations

import asyncio
import collections
import time
from typing import Annotated

import httpx
import typer
from rich.console import Console
from rich.progress import BarColumn, Progress, TextColumn, TimeRemainingColumn

from agentgpt.client import AsyncClient, Snapshot, Turn
from agentgpt.demo.customers import Outcome, Workload, run_customers
from agentgpt.demo.launch import LocalServer
from agentgpt.demo.stats import percentiles
from agentgpt.errors import ServiceUnavailable

# No markup: alert texts and error details come from the service and may hold brackets.
_out = Console(highlight=False, soft_wrap=True, markup=False)


def demo(
    customers: Annotated[int, typer.Option(help="simulated customers", min=1, max=10_000)] = 20,
    duration: Annotated[float, typer.Option(help="seconds of load", min=1, max=3600)] = 20,
    port: Annotated[int, typer.Option(help="port to serve on (0: a free one)", min=0)] = 0,
    server: Annotated[
        str | None, typer.Option(help="drive a running service at this URL instead")
    ] = None,
    url: Annotated[
        str | None, typer.Option(help="store URL for the service (default: embedded)")
    ] = None,
    seed: Annotated[int, typer.Option(help="random seed for the workload")] = 7,
    keep_serving: Annotated[
        bool, typer.Option(help="keep the service up after the load, until Ctrl-C")
    ] = False,
) -> None:
    """Start the store and the service, run simulated customers over HTTP, print a summary.

    Examples:
      agentgpt demo                                    # 20 customers for 20 s, then stop
      agentgpt demo --customers 200 --duration 60 --keep-serving
      agentgpt demo --server http://127.0.0.1:8080     # against a running agentgpt serve
    """
    work = Workload(customers=customers, duration_s=duration, seed=seed)
    try:
        asyncio.run(_demo(work, port, server, url, keep_serving))
    except KeyboardInterrupt:
        if not keep_serving:
            raise
        _out.print("stopped")  # Ctrl-C is how --keep-serving is meant to end: exit 0
    except httpx.TransportError as exc:  # exit 69, one line (the client raises httpx's)
        where = server or "the service it started"
        raise ServiceUnavailable(f"cannot reach {where}: {exc or type(exc).__name__}") from None


async def _demo(
    work: Workload, port: int, server: str | None, url: str | None, keep_serving: bool
) -> None:
    launched = None
    if server is None:
        env = {"AGENTGPT_STORE_URL": url} if url else {}
        launched = LocalServer(port=port or None, env=env)
        _out.print("starting the store and agentgpt serve ...")
        await launched.start()
    base = server or (launched.base_url if launched else "")
    try:
        _where(base.rstrip("/"))
        async with AsyncClient(base) as client:
            outcomes, elapsed = await _drive(client, work)
            operator = client.with_token(
                (await client.demo_token("demo-operator", "operator")).token
            )
            _summary(outcomes, elapsed, await operator.monitor("15m"))
        if launched is not None and keep_serving:
            _out.print(f"serving on {base} until Ctrl-C")
            await asyncio.Event().wait()
    finally:
        if launched is not None:
            launched.stop()  # synchronous: it must also run when Ctrl-C cancels us


def _where(base: str) -> None:
    _out.print(f"customer chat   {base}/")
    _out.print(f"dashboard       {base}/ops")
    _out.print(f"API docs        {base}/docs")
    _out.print("monitor         agentgpt session monitor --stream")


async def _drive(client: AsyncClient, work: Workload) -> tuple[list[Outcome], float]:
    turn_count = TextColumn("{task.fields[turns]} turns")
    columns = (TextColumn("{task.description}"), BarColumn(), turn_count, TimeRemainingColumn())
    with Progress(*columns, console=_out, transient=False) as progress:
        task = progress.add_task(f"{work.customers} customers", total=work.duration_s, turns=0)
        turns = 0

        def on_turn(turn: Turn, latency_ms: float) -> None:
            nonlocal turns
            turns += 1
            progress.update(task, turns=turns)

        started = time.monotonic()
        run = asyncio.create_task(run_customers(client, work, on_turn=on_turn))
        while not run.done():
            progress.update(task, completed=min(work.duration_s, time.monotonic() - started))
            await asyncio.wait({run}, timeout=0.2)
        progress.update(task, completed=work.duration_s)
        return run.result(), time.monotonic() - started


def _summary(outcomes: list[Outcome], elapsed: float, snap: Snapshot) -> None:
    latencies = [x for o in outcomes for x in o.latencies_ms]
    figures = percentiles(latencies)
    errors = [e for o in outcomes for e in o.errors]
    _out.print(
        f"\ncustomers {len(outcomes)} | turns {len(latencies)} | "
        f"{len(latencies) / elapsed:.1f} turns/s | latency p50 {figures['p50_ms']:.1f} ms, "
        f"p95 {figures['p95_ms']:.1f} ms, p99 {figures['p99_ms']:.1f} ms"
    )
    kinds = collections.Counter(o.persona for o in outcomes)
    _out.print("conversations   " + ", ".join(f"{k} {n}" for k, n in kinds.most_common()))
    _out.print(
        f"escalated {sum(o.escalated for o in outcomes)} | flagged after 3 failed OTPs "
        f"{sum(o.flagged for o in outcomes)} | errors {len(errors)}"
    )
    if errors:
        _out.print(f"first error     {errors[0]}")
    topics = ", ".join(f"{t.topic} {t.share:.0f}%" for t in snap.topics) or "none yet"
    _out.print(f"top topics      {topics}")
    _out.print(f"active sessions {snap.active_sessions}")
    alerts = [a for a in snap.alerts if not a.acknowledged]
    _out.print(f"alerts          {len(alerts)} open")
    for alert in alerts[:8]:
        _out.print(f"  [{alert.severity}] {alert.rule}: {alert.message}")
