"""``agentgpt session limits set|show|unset`` and ``/v1/limits`` against a real Valkey."""

from __future__ import annotations

import json

import pytest
from fastapi.testclient import TestClient

from agentgpt.cli.app import main
from agentgpt.security.tokens import TokenIssuer
from agentgpt.server import create_app
from tests.e2e.conftest import make_settings


def test_set_show_unset(standalone_url: str, capsys: pytest.CaptureFixture[str]) -> None:
    url = ["--url", standalone_url]
    argv = ["session", "limits", "set", "--max-cpu=2", "--max-memory=512Mi", "--region=eu-central"]
    assert main([*argv, *url]) == 0
    assert main(["session", "limits", "show", "--region=eu-central", "--json", *url]) == 0
    shown = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert shown == {"eu-central": {"max_cpu": 2.0, "max_memory": "512Mi", "max_pids": None}}
    assert main(["session", "limits", "unset", "--region=eu-central", *url]) == 0
    assert capsys.readouterr().out.strip().endswith("eu-central: limits removed")
    assert main(["session", "limits", "show", "--json", *url]) == 0
    assert "eu-central" not in json.loads(capsys.readouterr().out)


@pytest.mark.parametrize(
    "bad",
    [["--max-cpu=lots"], ["--max-memory=12 parsecs"], ["--max-memory=1Mi"], ["--max-pids=3"],
     ["--max-cpu=2", "--region=not a region"], []],
)  # fmt: skip
def test_bad_values_get_one_line_and_exit_2(
    bad: list[str], standalone_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["session", "limits", "set", *bad, "--url", standalone_url]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1
    assert err.startswith("error:")


def test_http_limits_need_session_admin(standalone_url: str) -> None:
    issuer = TokenIssuer()
    admin = {"Authorization": f"Bearer {issuer.issue('ops', ['session:admin'])}"}
    user = {"Authorization": f"Bearer {issuer.issue('bob', ['session:create', 'session:read'])}"}
    with TestClient(create_app(make_settings(standalone_url))) as http:
        assert http.put("/v1/limits/eu", json={"max_cpu": 1}, headers=user).status_code == 403
        put = http.put("/v1/limits/eu", json={"max_memory": "256Mi", "max_pids": 64}, headers=admin)
        assert put.status_code == 200
        assert put.json() == {
            "region": "eu",
            "max_cpu": None,
            "max_memory": "256Mi",
            "max_pids": 64,
        }
        assert http.get("/v1/limits/eu", headers=admin).json()["max_memory"] == "256Mi"
        bad = http.put("/v1/limits/eu", json={"max_memory": "tiny"}, headers=admin)
        assert bad.status_code == 422
        assert bad.headers["content-type"].startswith("application/problem+json")
        assert http.delete("/v1/limits/eu", headers=admin).status_code == 204
        assert http.get("/v1/limits/eu", headers=admin).status_code == 404
        created = http.post("/v1/sessions", json={"region": "no such/region"}, headers=user)
        assert created.status_code == 422
        assert http.post("/v1/sessions", headers=user).json()["region"] == "default"
