"""``agentgpt session store init``: validation, checks, exit codes, nothing written on error."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import redis

from agentgpt.cli.app import main
from agentgpt.store import keys as K
from tests import servers


def _yaml(path: Path, body: str) -> Path:
    path.write_text(body)
    return path


def _schema_written(url: str) -> bool:
    client = redis.Redis.from_url(url)
    try:
        return bool(client.exists(K.SCHEMA_KEY))
    finally:
        client.close()


@pytest.fixture
def clean_url(standalone_url: str) -> str:
    """The standalone server, flushed."""
    client = redis.Redis.from_url(standalone_url)
    client.flushall()
    client.close()
    return standalone_url


def test_init_on_standalone_prints_summary_and_writes_marker(
    clean_url: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    conf = _yaml(tmp_path / "s.yaml", f"session_storage:\n  engine: redis\n  config:\n"
                 f"    url: {clean_url}\n    data_retention:\n      default: 30d\n"
                 f"      sensitive: 7d\n")  # fmt: skip
    assert main(["session", "store", "init", "-f", str(conf), "--json"]) == 0
    summary = json.loads(capsys.readouterr().out)
    assert summary["schema"] == K.SCHEMA_VERSION
    assert "valkey" in summary["nodes"][0]
    assert summary["retention"] == "default 30d, sensitive 7d"
    assert _schema_written(clean_url)


@pytest.mark.cluster
def test_init_on_cluster_checks_every_node_and_slot_coverage(
    cluster_nodes: list[str], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    nodes = "".join(f"      - {node}\n" for node in cluster_nodes)
    conf = _yaml(tmp_path / "c.yaml", "session_storage:\n  engine: redis\n  config:\n"
                 f"    cluster_mode: true\n    nodes:\n{nodes}    compression: zstd\n")  # fmt: skip
    assert main(["session", "store", "init", "-f", str(conf), "--json"]) == 0
    summary = json.loads(capsys.readouterr().out)
    assert summary["cluster"] is True
    assert len(summary["nodes"]) == len(cluster_nodes)


@pytest.mark.parametrize(
    ("body", "code", "needle"),
    [
        ("session_storage:\n  engine: redis\n  config:\n    url: {url}\n    clustre_mode: true\n",
         78, "clustre_mode"),
        ("session_storage:\n  engine: redis\n  config:\n    url: {url}\n    data_retention:\n"
         "      default: 30 parsecs\n", 78, "default"),
        ("session_storage:\n  engine: redis\n  config:\n    url: {url}\n    data_retention:\n"
         "      default: 1d\n      sensitive: 7d\n", 78, "sensitive"),
        ("session_storage:\n  engine: mongodb\n  config:\n    url: {url}\n", 78, "engine"),
        ("session_storage: [1, 2\n", 78, "YAML"),
        ("session_storage:\n  engine: redis\n  config:\n    url: redis://127.0.0.1:{dead}/0\n"
         "    connect_timeout: 0.5\n", 69, "unreachable"),
    ],
    ids=["unknown-key", "bad-duration", "sensitive-longer-than-default", "bad-engine",
         "broken-yaml", "unreachable-node"],
)  # fmt: skip
def test_bad_configuration_is_one_line_nonzero_and_writes_nothing(
    clean_url: str, tmp_path: Path, capsys: pytest.CaptureFixture[str],
    body: str, code: int, needle: str,
) -> None:  # fmt: skip
    conf = _yaml(tmp_path / "bad.yaml", body.format(url=clean_url, dead=servers.free_port()))
    assert main(["session", "store", "init", "-f", str(conf)]) == code
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1, err
    assert needle.lower() in err.lower()
    assert "Traceback" not in err
    assert not _schema_written(clean_url)


def test_environment_overrides_the_file(
    clean_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:  # fmt: skip
    dead = f"redis://127.0.0.1:{servers.free_port()}/0"
    conf = _yaml(tmp_path / "s.yaml", f"session_storage:\n  engine: redis\n  config:\n"
                 f"    url: {dead}\n    connect_timeout: 0.5\n")  # fmt: skip
    monkeypatch.setenv("AGENTGPT_SESSION_STORAGE__CONFIG__URL", clean_url)
    assert main(["session", "store", "init", "-f", str(conf), "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["schema"] == K.SCHEMA_VERSION


def test_missing_file_is_a_configuration_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["session", "store", "init", "-f", str(tmp_path / "nope.yaml")]) == 78
    assert "nope.yaml" in capsys.readouterr().err


@pytest.mark.parametrize(
    "argv",
    [["session", "list"], ["session", "verify", "--id", "sess_abcdefgh"],
     ["session", "monitor"]],
)  # fmt: skip
def test_bad_store_url_is_a_one_line_configuration_error(
    argv: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    assert main([*argv, "--url", "ftp://x"]) == 78
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1, err
    assert "--url" in err
