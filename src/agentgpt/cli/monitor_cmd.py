"""``agentgpt session monitor``: the operators' screen in a terminal, once or live.

Reads the store directly (not the HTTP service); ``--json`` prints the document of
``GET /v1/monitor`` (``agentgpt.analytics.snapshot_view``).
"""

from __future__ import annotations

import json
import math
import sys
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Annotated, Any

import typer

from agentgpt.cli.options import ConfigFile, Json, StoreUrl, emit, run, settings_from
from agentgpt.errors import InvalidInput

if TYPE_CHECKING:
    from agentgpt.config.settings import Settings
    from agentgpt.sessions.manager import SessionManager

View = tuple[dict[str, Any], list[str]]
_ARROWS = {
    "surge": "↑",
    "other_rising": "↑",
    "escalation_rising": "↑",
    "drop": "↓",
    "sentiment_falling": "↓",
}
#: The screen's alert sections: title, lowest and highest severity (``Severity`` names).
_SECTIONS = (
    ("CRITICAL ALERTS:", "CRITICAL", "CRITICAL"),
    ("WARNINGS:", "WARNING", "WARNING"),
    ("NOTICES:", "DEBUG", "INFO"),
)


@dataclass(frozen=True)
class Request:
    """The validated options of one monitor run."""

    window: str
    severity: str
    interval: float
    top: int
    metric: str | None


def validate(window: str, severity: str, interval: str, top: int, metric: str | None) -> Request:
    """Check the options before connecting; bad ones raise ``InvalidInput`` (exit 2)."""
    from agentgpt.analytics import WINDOWS, severity_filter
    from agentgpt.config.durations import parse_duration

    if window not in WINDOWS:
        raise InvalidInput(f"unknown --window {window!r}: use one of {', '.join(WINDOWS)}")
    severity_filter(severity)
    try:
        seconds = parse_duration(interval).total_seconds()
    except ValueError as exc:
        raise InvalidInput(f"--interval: {exc}") from None
    if not 1 <= top <= 20:
        raise InvalidInput(f"--top must be between 1 and 20, got {top}")
    if metric not in (None, "memory"):
        raise InvalidInput(f"unknown --metric {metric!r}: the only metric is memory")
    return Request(window, severity, seconds, top, metric)


def _manager(settings: Settings) -> SessionManager:
    from agentgpt.analytics import Analytics
    from agentgpt.sessions.manager import SessionManager
    from agentgpt.store.context_store import RedisContextStore

    store = RedisContextStore(settings.store)
    # The snapshot reads every severity; --severity filters afterwards, so the configured
    # analytics.severity cannot hide alerts the operator asked for.
    analytics = Analytics(
        store,
        settings.analytics.model_copy(update={"severity": "debug"}),
        idle_timeout=settings.sessions.idle_timeout.total_seconds(),
    )
    return SessionManager(store=store, settings=settings.sessions, analytics=analytics)


def finite(data: Any) -> Any:
    """``data`` with infinite or NaN floats as None (strict JSON, like the HTTP API)."""
    if isinstance(data, float):
        return data if math.isfinite(data) else None
    if isinstance(data, dict):
        return {k: finite(v) for k, v in data.items()}
    if isinstance(data, list):
        return [finite(v) for v in data]
    return data


def _ms(value: float | None) -> str:
    if value is None:
        return "-"
    # Loopback turns take well under 10 ms: whole milliseconds would all read "0ms".
    return f"{value:.1f}ms" if value < 10 else f"{value:,.0f}ms"


def _pct(value: float | None) -> str:
    return "-" if value is None else f"{100 * value:.0f}%"


def _short(alert: dict[str, Any]) -> str:
    """The alert's message with its session id cut to 9 characters, as the guide shows."""
    subject, message = alert["subject"], alert["message"]
    if subject.startswith("sess_") and len(subject) > 9:
        message = message.replace(subject, subject[:9])
    return f"- {message}{' (acknowledged)' if alert['acknowledged'] else ''}"


def _trend(trend: dict[str, Any]) -> str:
    ratio = "new" if trend["ratio"] is None else f"x{trend['ratio']:.1f}"
    arrow, kind = _ARROWS.get(trend["kind"], "•"), trend["kind"]
    # Sentiment and escalation trends have no subject: the kind says it all.
    what = f"{kind}: {trend['subject']}" if trend["subject"] else kind.replace("_", " ")
    return f"- {arrow} {what} {ratio}"


def snapshot_lines(view: dict[str, Any], severity: str) -> list[str]:
    """The monitor document as the guide's screen, alerts grouped by severity."""
    from agentgpt.analytics import Severity, severity_filter

    lat = view["latency"]
    lines = [
        f"ACTIVE SESSIONS: {view['active_sessions']:,} | AVG LATENCY: {_ms(lat['avg_ms'])}",
        f"P95: {_ms(lat['p95_ms'])} | P99: {_ms(lat['p99_ms'])} | TURNS/S: "
        f"{view['turns_per_s']:,.2f} | ESCALATIONS: {_pct(view['escalation_rate'])} | "
        f"WINDOW: {view['window']}",
        "TOP CONCERN TOPICS:",
    ]
    lines += [f"{i}. {t['topic']} ({t['share']:.0f}%)" for i, t in enumerate(view["topics"], 1)]
    lines += [] if view["topics"] else ["none"]
    lines += ["TRENDS:", *map(_trend, view["trends"])] if view["trends"] else ["TRENDS: none"]
    floor = severity_filter(severity)
    for title, low_name, high_name in _SECTIONS:
        low, high = Severity[low_name], Severity[high_name]
        if high < floor:
            continue
        shown = [
            _short(a) for a in view["alerts"] if low <= Severity[a["severity"].upper()] <= high
        ]
        lines += ["", title, *(shown or ["none"])]
    return lines


async def _snapshot(manager: SessionManager, req: Request) -> View:
    from agentgpt.analytics import snapshot_view

    snap = await manager.analytics.snapshot(req.window, top=req.top)
    view = finite(snapshot_view(snap, req.severity))
    return view, snapshot_lines(view, req.severity)


async def _memory(manager: SessionManager, req: Request) -> View:
    from agentgpt.operations.memory import memory_lines, memory_view

    view = await memory_view(manager)
    return view, memory_lines(view)


async def _refreshes(
    collect: Callable[[], Awaitable[View]], interval: float, count: int | None
) -> AsyncIterator[View]:
    import asyncio  # loaded already: this runs under asyncio.run

    shown = 0
    while True:
        yield await collect()
        shown += 1
        if count is not None and shown >= count:
            return
        await asyncio.sleep(interval)


def _head(clock: str) -> str:
    return f"agentgpt session monitor · {time.strftime(clock)} · Ctrl-C to quit"


async def _run(
    settings: Settings, req: Request, stream: bool, count: int | None, as_json: bool
) -> None:
    from rich.console import Console
    from rich.live import Live
    from rich.text import Text

    manager = _manager(settings)
    step = _memory if req.metric == "memory" else _snapshot

    async def collect() -> View:
        return await step(manager, req)

    try:
        if not stream:
            view, lines = await collect()
            emit(view, as_json, lines)
            return
        if as_json:
            async for view, _ in _refreshes(collect, req.interval, count):
                typer.echo(json.dumps(view))
                sys.stdout.flush()
            return
        if not sys.stdout.isatty():
            # A pipe or a file gets each refresh as plain lines, flushed at once (a live
            # screen redraws in place and writes nothing there until it stops).
            async for _, lines in _refreshes(collect, req.interval, count):
                typer.echo("\n".join([_head("%Y-%m-%d %H:%M:%S"), "", *lines, ""]))
                sys.stdout.flush()
            return
        with Live(Text("connecting..."), console=Console(), auto_refresh=False) as live:
            async for _, lines in _refreshes(collect, req.interval, count):
                live.update(Text("\n".join([_head("%H:%M:%S"), "", *lines])), refresh=True)
    finally:
        await manager.aclose()
        await manager.store.aclose()


def monitor(
    window: Annotated[str, typer.Option("--window", help="5m, 15m, 1h, 24h or 7d")] = "15m",
    severity: Annotated[
        str,
        typer.Option(
            "--severity",
            help="lowest alert severity shown: debug, info, warning, critical, "
            "prod (= warning and above)",
        ),
    ] = "prod",
    stream: Annotated[bool, typer.Option("--stream", help="refresh live until Ctrl-C")] = False,
    interval: Annotated[
        str, typer.Option("--interval", help="refresh period, e.g. 1s, 500ms")
    ] = "1s",
    count: Annotated[
        int | None, typer.Option("--count", min=1, help="with --stream: stop after N refreshes")
    ] = None,
    top: Annotated[int, typer.Option("--top", help="how many topics (1-20)")] = 5,
    metric: Annotated[
        str | None,
        typer.Option("--metric", help="memory: store memory per session, process RSS, pool sizes"),
    ] = None,
    config: ConfigFile = None,
    url: StoreUrl = None,
    as_json: Json = False,
) -> None:
    """Show the monitor screen: sessions, latency, concern topics, trends and alerts.

    Examples:
      agentgpt session monitor --severity prod --stream
      agentgpt session monitor --window 1h --json
      agentgpt session monitor --stream --json --count 10 --interval 5s
      agentgpt session monitor --metric memory

    Exit codes: 0 ok (also on Ctrl-C), 2 bad option, 69 store unavailable, 78 bad config.
    """
    req = validate(window, severity, interval, top, metric)
    settings = settings_from(config, url)
    try:
        run(_run(settings, req, stream, count, as_json))
    except KeyboardInterrupt:
        return  # Ctrl-C is how a live screen ends: not an error
