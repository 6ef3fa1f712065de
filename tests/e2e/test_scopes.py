"""The scope matrix: every endpoint x every scope x owner / not the owner."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from agentgpt.security.tokens import SCOPES, TokenIssuer

OWNER = "matrix-owner"

# (name, method, path, json body, scopes that grant it, whether ownership matters)
ENDPOINTS = [
    ("create", "POST", "/v1/sessions", None, {"session:create"}, False, 201),
    ("message", "POST", "/v1/sessions/{sid}/messages", {"text": "hi"}, {"session:write"}, True,
     200),
    ("read", "GET", "/v1/sessions/{sid}", None, {"session:read", "session:admin"}, True, 200),
    ("turns", "GET", "/v1/sessions/{sid}/turns", None, {"session:read", "session:admin"}, True,
     200),
    ("auth-event", "POST", "/v1/sessions/{sid}/auth-events", {"success": True},
     {"session:write", "session:admin"}, True, 202),
    ("erase", "DELETE", "/v1/sessions/{sid}", None, {"session:write", "session:admin"}, True,
     204),
    ("monitor", "GET", "/v1/monitor", None, {"session:monitor"}, False, 200),
]  # fmt: skip


def _expected(granted: set[str], scope: str, owned: bool, per_owner: bool, ok: int) -> int:
    if scope not in granted:
        return 403
    if per_owner and not owned and scope != "session:admin":
        return 404  # someone else's session looks exactly like a missing one
    return ok


@pytest.mark.parametrize("owned", [True, False], ids=["owner", "other-user"])
@pytest.mark.parametrize("scope", SCOPES)
@pytest.mark.parametrize("endpoint", ENDPOINTS, ids=[e[0] for e in ENDPOINTS])
def test_scope_matrix(
    client: TestClient, issuer: TokenIssuer, endpoint: tuple, scope: str, owned: bool
) -> None:
    name, method, path, body, granted, per_owner, ok = endpoint
    maker = {"Authorization": f"Bearer {issuer.issue(OWNER, ['session:create'], 60)}"}
    sid = client.post("/v1/sessions", headers=maker).json()["id"]
    caller = OWNER if owned else "someone-else"
    headers = {"Authorization": f"Bearer {issuer.issue(caller, [scope], 60)}"}
    response = client.request(method, path.format(sid=sid), json=body, headers=headers)
    assert response.status_code == _expected(granted, scope, owned, per_owner, ok), (
        name, scope, owned, response.text,
    )  # fmt: skip
    if response.status_code >= 400:
        assert response.headers["content-type"].startswith("application/problem+json")
