"""The monitor screen's rendering of trends, acknowledged alerts and missing figures."""

from __future__ import annotations

from typing import Any

from agentgpt.cli.monitor_cmd import finite, snapshot_lines


def _view(**changes: Any) -> dict[str, Any]:
    view: dict[str, Any] = {
        "window": "15m", "at": 0.0, "active_sessions": 9432, "turns": 0, "turns_per_s": 0.0,
        "latency": {"avg_ms": 142.4, "p50_ms": None, "p95_ms": 310.0, "p99_ms": None},
        "topics": [], "sentiment_avg": None, "escalation_rate": None, "alerts": [],
        "trends": [], "dropped_events": 0,
    }  # fmt: skip
    return {**view, **changes}


def test_header_matches_the_guide() -> None:
    lines = snapshot_lines(_view(), "critical")
    assert lines[0] == "ACTIVE SESSIONS: 9,432 | AVG LATENCY: 142ms"
    assert lines[1].startswith("P95: 310ms | P99: - | TURNS/S: 0.00 | ESCALATIONS: -")


def test_trend_flags_have_arrows_and_ratios() -> None:
    trends = [
        {"kind": "surge", "subject": "Fraud alerts", "ratio": 2.4, "p_value": 0.001},
        {"kind": "sentiment_falling", "subject": "", "ratio": 0.5, "p_value": 0.01},
        {"kind": "surge", "subject": "Card issues", "ratio": float("inf"), "p_value": 0.0},
    ]
    lines = snapshot_lines(finite(_view(trends=trends)), "critical")
    start = lines.index("TRENDS:")
    assert lines[start + 1 : start + 4] == [
        "- ↑ surge: Fraud alerts x2.4",
        "- ↓ sentiment falling x0.5",
        "- ↑ surge: Card issues new",
    ]


def test_acknowledged_alert_is_marked_and_id_shortened() -> None:
    sid = "sess_9a3cQ2xv0e1k7Lw8"
    alert = {"id": "1-0", "rule": "auth_failures", "severity": "critical", "subject": sid,
             "message": f'Session "{sid}": 3 failed auth attempts', "at": 0.0,
             "acknowledged": True}  # fmt: skip
    lines = snapshot_lines(_view(alerts=[alert]), "prod")
    assert lines[lines.index("CRITICAL ALERTS:") + 1] == (
        '- Session "sess_9a3c": 3 failed auth attempts (acknowledged)'
    )
    assert lines[-2:] == ["WARNINGS:", "none"]


def test_finite_turns_infinity_into_null() -> None:
    assert finite({"a": [float("inf"), 1.5], "b": float("nan")}) == {"a": [None, 1.5], "b": None}
