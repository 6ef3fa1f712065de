"""``agentgpt demo``: one command starts the service and drives customers through HTTP."""

from __future__ import annotations

import re
import socket

import pytest

from agentgpt.cli.app import main


@pytest.fixture
def fresh_home(tmp_path, monkeypatch):  # type: ignore[no-untyped-def]
    """An empty data directory, as in a fresh clone (the child server inherits it)."""
    monkeypatch.setenv("AGENTGPT_HOME", str(tmp_path))
    monkeypatch.delenv("AGENTGPT_STORE_URL", raising=False)
    return tmp_path


@pytest.mark.slow
def test_demo_serves_drives_customers_and_summarises(fresh_home, capsys) -> None:  # type: ignore[no-untyped-def]
    assert main(["demo", "--customers", "6", "--duration", "6", "--seed", "3"]) == 0
    out = capsys.readouterr().out
    assert re.search(r"dashboard\s+http://127\.0\.0\.1:\d+/ops", out)
    turns = re.search(r"customers 6 \| turns (\d+) \|", out)
    assert turns
    assert int(turns.group(1)) > 0
    topics = re.search(r"top topics\s+(.+)", out)
    assert topics
    assert "%" in topics.group(1)
    assert "errors 0" in out


def test_demo_fails_in_one_line_when_the_server_cannot_start(fresh_home, capsys) -> None:  # type: ignore[no-untyped-def]
    with socket.socket() as taken:  # serve cannot bind a port that is in use: it exits
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = str(taken.getsockname()[1])
        code = main(["demo", "--customers", "1", "--duration", "1", "--port", port])
    assert code == 69
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1
    assert err[0].startswith("error: agentgpt serve")
