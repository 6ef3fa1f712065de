"""Configuration: the guide's YAML, durations, env overrides and one-line errors."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from agentgpt.config import StoreSettings, load_settings, parse_duration
from agentgpt.config.durations import format_duration
from agentgpt.errors import ConfigError

ROOT = Path(__file__).resolve().parents[2]


def test_shipped_example_loads() -> None:
    settings = load_settings(ROOT / "conf" / "session-store.yaml")
    assert settings.store.cluster_mode
    assert settings.store.tls
    assert settings.store.data_retention.default == timedelta(days=30)
    assert settings.store.data_retention.sensitive == timedelta(days=7)


def test_environment_overrides_file(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AGENTGPT_SESSION_STORAGE__CONFIG__TLS", "false")
    assert not load_settings(ROOT / "conf" / "session-store.yaml").store.tls


@pytest.mark.parametrize(
    ("yaml_text", "message"),
    [
        ("session_storage:\n  config:\n    clustr_mode: true\n", "clustr_mode: unknown setting"),
        ("session_storage:\n  config:\n    data_retention:\n      default: 30x\n", "bad duration"),
        ("session_storage:\n  config:\n    nodes: [redis-1]\n", "must be host:port"),
        ("- a list\n", "top level must be a mapping"),
        ("session_storage: [\n", "not valid YAML"),
        (
            "session_storage:\n  config:\n    data_retention:\n      default: 1d\n"
            "      sensitive: 7d\n",
            "must not exceed",
        ),
        ("sessions:\n  lock_lease: 1ms\n", "lock_lease must be at least 0.5s"),
    ],
)
def test_bad_configuration_is_one_line(tmp_path: Path, yaml_text: str, message: str) -> None:
    path = tmp_path / "c.yaml"
    path.write_text(yaml_text)
    with pytest.raises(ConfigError, match=message) as info:
        load_settings(path)
    assert "\n" not in str(info.value)


@given(st.integers(1, 10**6), st.sampled_from(["s", "m", "h", "d", "w"]))
def test_durations(number: int, unit: str) -> None:
    factor = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}[unit]
    assert parse_duration(f"{number}{unit}") == timedelta(seconds=number * factor)


def test_store_urls() -> None:
    assert StoreSettings.from_url("rediss://u:p@h:6380/0").tls
    assert not StoreSettings.from_url("redis://h:6379/0").tls
    cluster = StoreSettings.from_url("redis+cluster://h1:7000,h2:7001")
    assert cluster.cluster_mode
    assert cluster.nodes == ["h1:7000", "h2:7001"]
    with pytest.raises(ValueError, match="unsupported store URL"):
        StoreSettings.from_url("http://h")


@given(st.integers(min_value=1, max_value=10**10))
def test_format_duration_round_trips(millis: int) -> None:
    delta = timedelta(milliseconds=millis)
    assert parse_duration(format_duration(delta)) == delta
