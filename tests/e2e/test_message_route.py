"""The messages route's direct path answers as FastAPI's own handler does (issue 16)."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from agentgpt.security.tokens import TokenIssuer
from tests.e2e.test_api import assert_problem, auth, new_session


def test_direct_path_answers_a_well_formed_message(client: TestClient, issuer: TokenIssuer) -> None:
    sid = new_session(client, issuer)
    headers = {**auth(issuer), "Content-Type": "application/json; charset=utf-8"}
    turn = client.post(f"/v1/sessions/{sid}/messages", content=b'{"text": "hi", "x": 1}',
                       headers=headers)  # fmt: skip
    assert turn.status_code == 200, turn.text
    assert turn.json()["seq"] == 1
    assert turn.json()["session_id"] == sid


@pytest.mark.parametrize(
    ("content", "content_type", "query", "status", "code"),
    [
        (b'{"text": 42}', "application/json", "", 422, "validation"),
        (b"{}", "application/json", "", 422, "validation"),
        (b"not json", "application/json", "", 400, "bad-request"),
        (b'{"text": "hi"}', "application/json", "?on_busy=never", 422, "validation"),
        (b'{"text": ""}', "application/json", "", 422, "invalid-input"),
    ],
)
def test_malformed_requests_get_fastapi_answers(
    client: TestClient, issuer: TokenIssuer, content: bytes, content_type: str, query: str,
    status: int, code: str,
) -> None:  # fmt: skip
    sid = new_session(client, issuer)
    headers = {**auth(issuer), "Content-Type": content_type}
    url = f"/v1/sessions/{sid}/messages{query}"
    assert_problem(client.post(url, content=content, headers=headers), status, code)


def test_token_and_scope_are_checked_before_the_turn(
    client: TestClient, issuer: TokenIssuer
) -> None:
    sid = new_session(client, issuer)
    url = f"/v1/sessions/{sid}/messages"
    assert_problem(client.post(url, json={"text": "hi"}), 401, "invalid-token")
    basic = {"Authorization": "Basic abc"}
    assert_problem(client.post(url, json={"text": "hi"}, headers=basic), 401, "invalid-token")
    read_only = auth(issuer, scopes=("session:read",))
    assert_problem(client.post(url, json={"text": "hi"}, headers=read_only), 403, "access-denied")
    other = auth(issuer, "mallory")
    assert_problem(client.post(url, json={"text": "hi"}, headers=other), 404, "session-not-found")
