"""``agentgpt session monitor``: the screen, JSON, severity filter, stream and memory view.

The CLI runs its own event loop (``asyncio.run``), so these are plain sync tests and the
data is prepared with ``asyncio.run`` too.
"""

from __future__ import annotations

import asyncio
import json
import queue
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator

import pytest
import redis

from agentgpt.analytics.alerts import make_alert
from agentgpt.cli.app import main
from agentgpt.config.settings import SessionSettings
from agentgpt.sessions.manager import SessionManager
from agentgpt.store.context_store import RedisContextStore

#: message -> turns: Password & access 4/7 (57%), Fraud alerts 2/7 (29%), Loans 1/7 (14%).
TRAFFIC = {"I forgot my password": 4, "my card was stolen": 2, "I want a loan": 1}
MONITOR_FIELDS = {"window", "at", "active_sessions", "turns", "turns_per_s", "latency",
                  "topics", "sentiment_avg", "escalation_rate", "alerts", "trends",
                  "dropped_events"}  # fmt: skip


async def _prepare(url: str) -> str:
    """Three sessions with turns, 3 failed OTPs on the first, a warning and an info alert."""
    store = RedisContextStore(url)
    await (await store.backend.connect()).flushall()
    manager = SessionManager(store=store, settings=SessionSettings(agent="faq"))
    try:
        ids = []
        for i, (text, turns) in enumerate(TRAFFIC.items()):
            session = await manager.create_session(f"user-{i}")
            ids.append(session.id)
            for _ in range(turns):
                await manager.handle(session.id, text)
        await manager.analytics.flush()
        for _ in range(3):
            await manager.record_auth(ids[0], False, "otp")
        book, now = manager.analytics.book, time.time()
        for rule, subject, message in [
            ("latency_p99", "", "latency p99 over 50 ms for 3 minutes"),
            ("topic_drop", "Loan inquiries", "drop: Loan inquiries"),
        ]:
            await manager.analytics.raise_alert(make_alert(book[rule], subject, message, now))
        return ids[0]
    finally:
        await manager.aclose()
        await store.aclose()


def _flushall(url: str) -> None:
    client = redis.Redis.from_url(url)
    client.flushall()
    client.close()


@pytest.fixture
def prepared(standalone_url: str) -> Iterator[str]:
    """The standalone store with traffic and alerts; yields the flagged session's id."""
    yield asyncio.run(_prepare(standalone_url))
    # The server is shared by the whole run: leave no alerts for other modules to count.
    _flushall(standalone_url)


def _run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main(["session", "monitor", *args])
    out = capsys.readouterr()
    return code, out.out, out.err


def test_screen_has_the_guides_layout(
    standalone_url: str, prepared: str, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, _ = _run(capsys, "--url", standalone_url)
    assert code == 0
    lines = out.splitlines()
    assert lines[0].startswith("ACTIVE SESSIONS: 3 | AVG LATENCY: ")
    assert lines[0].endswith("ms")
    assert "P95: " in lines[1]
    assert "ESCALATIONS: 29%" in lines[1]
    topics = lines.index("TOP CONCERN TOPICS:")
    assert lines[topics + 1 : topics + 4] == [
        "1. Password & access (57%)", "2. Fraud alerts (29%)", "3. Loan inquiries (14%)",
    ]  # fmt: skip
    critical = lines.index("CRITICAL ALERTS:")
    assert lines[critical + 1] == f'- Session "{prepared[:9]}": 3 failed auth attempts'
    assert prepared not in out  # only the shortened id is shown
    assert lines[lines.index("WARNINGS:") + 1] == "- latency p99 over 50 ms for 3 minutes"
    assert "NOTICES:" not in lines  # the default filter is prod: warning and above


def test_json_has_the_http_monitor_fields(
    standalone_url: str, prepared: str, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, _ = _run(capsys, "--url", standalone_url, "--json", "--window", "1h")
    assert code == 0
    doc = json.loads(out)
    assert set(doc) == MONITOR_FIELDS
    assert (doc["window"], doc["active_sessions"], doc["turns"]) == ("1h", 3, 7)
    assert set(doc["latency"]) == {"avg_ms", "p50_ms", "p95_ms", "p99_ms"}
    assert doc["latency"]["p99_ms"] > 0
    assert [(t["topic"], round(t["share"])) for t in doc["topics"]] == [
        ("Password & access", 57), ("Fraud alerts", 29), ("Loan inquiries", 14)]  # fmt: skip
    auth = [a for a in doc["alerts"] if a["rule"] == "auth_failures"]
    assert auth[0]["subject"] == prepared  # JSON keeps the full id
    assert auth[0]["severity"] == "critical"
    assert auth[0]["acknowledged"] is False


@pytest.mark.parametrize(
    ("severity", "rules"),
    [("critical", {"auth_failures"}), ("prod", {"auth_failures", "latency_p99"}),
     ("info", {"auth_failures", "latency_p99", "topic_drop"})],
)  # fmt: skip
def test_severity_filters_alerts(
    standalone_url: str, prepared: str, severity: str, rules: set[str],
    capsys: pytest.CaptureFixture[str],
) -> None:  # fmt: skip
    code, out, _ = _run(capsys, "--url", standalone_url, "--json", "--severity", severity)
    assert code == 0
    assert {a["rule"] for a in json.loads(out)["alerts"]} == rules
    _, screen, _ = _run(capsys, "--url", standalone_url, "--severity", severity)
    assert ("WARNINGS:" in screen) == ("latency_p99" in rules)
    assert ("NOTICES:" in screen) == ("topic_drop" in rules)


def test_empty_store_shows_none(standalone_url: str, capsys: pytest.CaptureFixture[str]) -> None:
    _flushall(standalone_url)
    code, out, _ = _run(capsys, "--url", standalone_url, "--severity", "critical")
    assert code == 0
    lines = out.splitlines()
    assert lines[0] == "ACTIVE SESSIONS: 0 | AVG LATENCY: -"
    assert lines[lines.index("TOP CONCERN TOPICS:") + 1] == "none"
    assert lines[-2:] == ["CRITICAL ALERTS:", "none"]


def test_stream_json_prints_one_line_per_refresh(
    standalone_url: str, prepared: str, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, _ = _run(capsys, "--url", standalone_url, "--stream", "--json", "--count", "2",
                        "--interval", "50ms")  # fmt: skip
    assert code == 0
    docs = [json.loads(line) for line in out.splitlines()]
    assert len(docs) == 2
    assert all(d["active_sessions"] == 3 for d in docs)
    assert docs[0]["at"] <= docs[1]["at"]


def test_stream_screen_renders_until_count(
    standalone_url: str, prepared: str, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, _ = _run(capsys, "--url", standalone_url, "--stream", "--count", "1")
    assert code == 0
    assert "ACTIVE SESSIONS: 3" in out
    assert "Ctrl-C to quit" in out


def test_ctrl_c_ends_a_stream_with_exit_0(standalone_url: str, prepared: str) -> None:
    argv = [sys.executable, "-m", "agentgpt", "session", "monitor", "--url", standalone_url,
            "--stream", "--json", "--interval", "100ms"]  # fmt: skip
    with subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) as proc:
        assert proc.stdout is not None
        # The first line proves the loop is running: Ctrl-C now hits the stream, not imports.
        assert json.loads(proc.stdout.readline())["active_sessions"] == 3
        proc.send_signal(signal.SIGINT)
        _, err = proc.communicate(timeout=30)
    assert proc.returncode == 0
    assert "Traceback" not in err


def test_stream_to_a_pipe_writes_plain_lines_at_each_refresh(
    standalone_url: str, prepared: str
) -> None:
    # A live screen redraws in place and wrote nothing to a pipe until it stopped: a stream
    # without --count (the README's `--stream`) never reached `| tee` or a log file.
    argv = [sys.executable, "-m", "agentgpt", "session", "monitor", "--url", standalone_url,
            "--stream", "--interval", "100ms"]  # fmt: skip
    with subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) as proc:
        assert proc.stdout is not None
        received: queue.Queue[str] = queue.Queue()
        threading.Thread(target=lambda: [received.put(x) for x in proc.stdout], daemon=True).start()
        heads, lines = 0, []
        try:
            while heads < 2:  # two refreshes arrive while the process still runs
                line = received.get(timeout=30)
                lines.append(line.rstrip("\n"))
                heads += line.startswith("agentgpt session monitor · ")
        except queue.Empty:
            proc.kill()
            pytest.fail(f"nothing reached the pipe within 30 s (got {lines})")
        proc.send_signal(signal.SIGINT)
        _, err = proc.communicate(timeout=30)
    assert "ACTIVE SESSIONS: 3 | AVG LATENCY: " in "\n".join(lines)
    assert not any("\x1b" in line for line in lines)  # plain text: no cursor movement
    assert proc.returncode == 0
    assert "Traceback" not in err


def test_memory_metric_reports_bytes_per_session(
    standalone_url: str, prepared: str, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, _ = _run(capsys, "--url", standalone_url, "--metric", "memory", "--json")
    assert code == 0
    doc = json.loads(out)
    assert (doc["sessions"], doc["sessions_counted_by"], doc["active_sessions"]) == (3, "scan", 3)
    assert doc["store"]["used_memory"] > doc["store"]["used_memory_startup"] > 0
    assert doc["bytes_per_session"] > 0
    assert doc["process_rss_bytes"] > 1024 * 1024
    assert set(doc["pool"]) == {"live", "idle", "in_use", "max_connections"}
    _, screen, _ = _run(capsys, "--url", standalone_url, "--metric", "memory")
    assert screen.startswith("STORE MEMORY: ")
    assert "SESSIONS: 3 (SCAN of meta keys)" in screen
    assert "PER SESSION: " in screen
    assert "PROCESS RSS: " in screen


@pytest.mark.parametrize(
    ("option", "needle"),
    [(["--window", "2h"], "--window"), (["--severity", "loud"], "severity"),
     (["--interval", "soon"], "--interval"), (["--metric", "cpu"], "--metric"),
     (["--top", "0"], "--top")],
    ids=["window", "severity", "interval", "metric", "top"],
)  # fmt: skip
def test_bad_option_is_one_line_and_exit_2(
    option: list[str], needle: str, capsys: pytest.CaptureFixture[str]
) -> None:
    # No --url: validation happens before any connection (nothing embedded is started).
    code, out, err = _run(capsys, *option)
    assert code == 2
    assert out == ""
    assert len(err.strip().splitlines()) == 1
    assert needle in err


async def _fill_cluster(url: str, sessions: int) -> None:
    store = RedisContextStore(url)
    await (await store.backend.connect()).flushall()
    manager = SessionManager(store=store, settings=SessionSettings(agent="faq"))
    try:
        for i in range(sessions):
            session = await manager.create_session(f"user-{i}")
            await manager.handle(session.id, "I forgot my password")
        await manager.analytics.flush()
    finally:
        await manager.aclose()
        await store.aclose()


@pytest.mark.cluster
def test_memory_metric_sums_every_primary_of_a_cluster(
    cluster_nodes: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    url = f"redis+cluster://{','.join(cluster_nodes)}"
    # 12 random ids spread over the primaries: a SCAN of one node alone would miss some.
    asyncio.run(_fill_cluster(url, 12))
    code, out, _ = _run(capsys, "--url", url, "--metric", "memory", "--json")
    assert code == 0
    doc = json.loads(out)
    assert doc["store"]["primaries"] == len(cluster_nodes)
    assert doc["sessions"] == 12
    assert doc["bytes_per_session"] > 0
    code, out, _ = _run(capsys, "--url", url, "--json")
    assert code == 0
    assert json.loads(out)["active_sessions"] == 12
