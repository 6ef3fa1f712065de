"""Issue 12, finding 1: the store password never leaves the process.

A Valkey with ``requirepass`` serves, then is stopped. What the service answers (``/readyz``,
503 problems on every kind of route, ``/metrics``), what it logs (in-process log records, and
a real ``agentgpt serve``'s output) and what the CLI prints must not hold the password, in
plain or URL-quoted form.
"""

from __future__ import annotations

import logging
import subprocess
import sys
from urllib.parse import quote

import httpx
import pytest
from fastapi.testclient import TestClient

from agentgpt.cli.app import main
from agentgpt.security.tokens import TokenIssuer
from agentgpt.server import create_app
from tests import servers
from tests.e2e.conftest import make_settings, server_stderr, start_server

PASSWORD = "Vault/Key+7f2c-never-shown"  # '/' and '+' are quoted in a URL: both forms checked
FORMS = (PASSWORD, quote(PASSWORD, safe=""))
CUSTOMER = ("session:create", "session:read", "session:write")
OPERATOR = ("session:monitor", "session:admin")


def _url(url: str) -> str:
    # servers.standalone_server writes the password as given; a URL needs it quoted.
    return url.replace(f"default:{PASSWORD}@", f"default:{quote(PASSWORD, safe='')}@")


def _assert_hidden(text: str, where: str) -> None:
    for form in FORMS:
        assert form not in text, f"the store password is in {where}: {text[:300]}"


def _everything(response: httpx.Response) -> str:
    return response.text + "".join(f"{k}: {v}\n" for k, v in response.headers.items())


def test_service_and_logs_never_show_the_password(
    issuer: TokenIssuer, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    customer = {"Authorization": f"Bearer {issuer.issue('alice', CUSTOMER, 600)}"}
    operator = {"Authorization": f"Bearer {issuer.issue('ops', OPERATOR, 600)}"}
    with servers.standalone_server(PASSWORD) as (raw_url, valkey):
        url = _url(raw_url)
        settings = make_settings(url)
        settings.session_storage.config.connect_timeout = 0.5
        with TestClient(create_app(settings)) as client:
            sid = client.post("/v1/sessions", headers=customer).json()["id"]
            assert client.get("/readyz").status_code == 200
            valkey.terminate()
            valkey.wait(10)
            answers = {
                "readyz": client.get("/readyz"),
                "create": client.post("/v1/sessions", headers=customer),
                "turn": client.post(
                    f"/v1/sessions/{sid}/messages", json={"text": "hello"}, headers=customer
                ),
                "read": client.get(f"/v1/sessions/{sid}", headers=customer),
                "turns": client.get(f"/v1/sessions/{sid}/turns", headers=customer),
                "erase": client.delete(f"/v1/sessions/{sid}", headers=operator),
                "monitor": client.get("/v1/monitor", headers=operator),
                "metrics": client.get("/metrics"),
            }
    assert answers["readyz"].status_code == 503
    assert answers["readyz"].json()["checks"]["store"] == "unavailable"
    for name in ("create", "turn", "read", "turns", "erase"):
        assert answers[name].status_code == 503, (name, answers[name].text)
        assert answers[name].headers["content-type"].startswith("application/problem+json")
    for name, response in answers.items():
        _assert_hidden(_everything(response), f"the answer of {name}")
    formatter = logging.Formatter("%(name)s %(message)s")
    logged = [formatter.format(record) for record in caplog.records]
    assert any("default:***@127.0.0.1" in line for line in logged), logged[-5:]
    for line in logged:
        _assert_hidden(line, "a log record")


def test_a_real_service_never_prints_the_password(issuer: TokenIssuer) -> None:
    customer = {"Authorization": f"Bearer {issuer.issue('alice', CUSTOMER, 600)}"}
    with servers.standalone_server(PASSWORD) as (raw_url, valkey):
        base, proc = start_server(_url(raw_url), subprocess.PIPE, url_in_env=True)
        try:
            sid = httpx.post(f"{base}/v1/sessions", headers=customer).json()["id"]
            valkey.terminate()
            valkey.wait(10)
            ready = httpx.get(f"{base}/readyz", timeout=30)
            turn = httpx.post(f"{base}/v1/sessions/{sid}/messages", json={"text": "hi"},
                              headers=customer, timeout=30)  # fmt: skip
        finally:
            proc.terminate()
            out, _ = proc.communicate(timeout=30)
            err = server_stderr(proc)
    assert (ready.status_code, turn.status_code) == (503, 503)
    for response in (ready, turn):
        _assert_hidden(_everything(response), "an HTTP answer")
    logs = (out + err).decode(errors="replace")
    assert "default:***@127.0.0.1" in logs
    _assert_hidden(logs, "the output of agentgpt serve")


def test_the_cli_never_prints_the_password(capsys: pytest.CaptureFixture[str]) -> None:
    with servers.standalone_server(PASSWORD) as (raw_url, _):
        url = _url(raw_url)
    # The store is down now; every command that reaches it says so, masked.
    for argv in (["session", "list"], ["session", "store", "init"],
                 ["session", "show", "--id", "sess_abcdefgh"], ["security", "scan", "--all"],
                 ["session", "monitor", "--json"]):  # fmt: skip
        assert main([*argv, "--url", url]) == 69
        out, err = capsys.readouterr()
        assert "default:***@127.0.0.1" in err
        _assert_hidden(out + err, f"the output of {' '.join(argv)}")
    done = subprocess.run([sys.executable, "-m", "agentgpt", "session", "verify", "--id",
                           "sess_abcdefgh", "--url", url], capture_output=True, text=True,
                          timeout=120)  # fmt: skip
    assert done.returncode == 69
    _assert_hidden(done.stdout + done.stderr, "the output of a real agentgpt process")


def test_the_cli_never_prints_a_wrong_password(capsys: pytest.CaptureFixture[str]) -> None:
    with servers.standalone_server(PASSWORD) as (raw_url, _):
        wrong = _url(raw_url).replace("default:", "default:x", 1)
        assert main(["session", "list", "--url", wrong]) == 69
        out, err = capsys.readouterr()
    assert "invalid username-password pair" in err or "WRONGPASS" in err, err
    _assert_hidden(out + err, "the output of a refused login")
