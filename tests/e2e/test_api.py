"""API contract: every endpoint's success and error shapes (problem+json), in-process."""

from __future__ import annotations

import asyncio
import json
import re

import pytest
from fastapi.testclient import TestClient

from agentgpt.config.settings import StoreSettings
from agentgpt.security.tokens import SCOPES, TokenIssuer
from agentgpt.server import create_app
from agentgpt.store.context_store import RedisContextStore
from agentgpt.store.lock import DistributedLock
from tests.e2e.conftest import make_settings

PROBLEM = "application/problem+json"
CUSTOMER = ("session:create", "session:read", "session:write")


def auth(issuer: TokenIssuer, user: str = "alice", scopes: tuple[str, ...] = CUSTOMER) -> dict:
    """Headers with a bearer token for ``user``."""
    return {"Authorization": f"Bearer {issuer.issue(user, scopes, 600)}"}


def new_session(client: TestClient, issuer: TokenIssuer, user: str = "alice") -> str:
    """Create a session owned by ``user``; return its id."""
    response = client.post("/v1/sessions", headers=auth(issuer, user))
    assert response.status_code == 201, response.text
    return str(response.json()["id"])


def assert_problem(response, status: int, code: str) -> dict:  # type: ignore[no-untyped-def]
    """The response is a problem+json of ``status`` with type ``...:code``."""
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith(PROBLEM)
    body = response.json()
    assert body["status"] == status
    assert body["type"] == f"urn:agentgpt:problem:{code}"
    assert body["detail"]
    return body


def test_create_message_read_page_and_erase(client: TestClient, issuer: TokenIssuer) -> None:
    headers = auth(issuer)
    created = client.post("/v1/sessions", headers=headers)
    assert created.status_code == 201
    body = created.json()
    sid = body["id"]
    assert sid.startswith("sess_")
    assert body["owner"] == "alice"
    assert body["expires_at"] > body["created_at"]

    for seq, text in enumerate(["Hi there", "I forgot my password", "thanks, bye"], 1):
        turn = client.post(f"/v1/sessions/{sid}/messages", json={"text": text}, headers=headers)
        assert turn.status_code == 200, turn.text
        assert turn.json()["seq"] == seq
        assert turn.json()["reply"]
        assert "sensitive" not in turn.json()

    view = client.get(f"/v1/sessions/{sid}", headers=headers).json()
    assert view["turns"] == 3
    assert [x["user"] for x in view["window"]] == ["Hi there", "I forgot my password",
                                                   "thanks, bye"]  # fmt: skip

    page = client.get(f"/v1/sessions/{sid}/turns?offset=1&limit=1", headers=headers).json()
    assert page["total"] == 3
    assert [t["seq"] for t in page["turns"]] == [2]

    assert client.delete(f"/v1/sessions/{sid}", headers=headers).status_code == 204
    assert_problem(client.get(f"/v1/sessions/{sid}", headers=headers), 404, "session-not-found")


def test_missing_and_bad_tokens_are_401_without_details(client: TestClient) -> None:
    body = assert_problem(client.post("/v1/sessions"), 401, "invalid-token")
    assert "WWW-Authenticate" in client.post("/v1/sessions").headers
    forged = TokenIssuer.__new__(TokenIssuer)
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    forged._key = Ed25519PrivateKey.generate()
    bad = {"Authorization": f"Bearer {forged.issue('alice', CUSTOMER, 60)}"}
    body = assert_problem(client.post("/v1/sessions", headers=bad), 401, "invalid-token")
    assert body["detail"] == "invalid token"  # nothing about why: the caller may be an attacker
    garbage = {"Authorization": "Bearer not.a.token"}
    assert_problem(client.post("/v1/sessions", headers=garbage), 401, "invalid-token")


def test_expired_token_says_expired(client: TestClient, issuer: TokenIssuer) -> None:
    import jwt

    token = jwt.encode({"sub": "alice", "scope": "session:create", "aud": "agentgpt-sessions",
                        "iss": "agentgpt", "exp": 1}, issuer._key, algorithm="EdDSA")  # fmt: skip
    body = assert_problem(
        client.post("/v1/sessions", headers={"Authorization": f"Bearer {token}"}), 401,
        "invalid-token",
    )  # fmt: skip
    assert "expired" in body["detail"]


def test_wrong_scope_is_403(client: TestClient, issuer: TokenIssuer) -> None:
    headers = auth(issuer, scopes=("session:read",))
    assert_problem(client.post("/v1/sessions", headers=headers), 403, "access-denied")


def test_other_users_session_looks_missing(client: TestClient, issuer: TokenIssuer) -> None:
    sid = new_session(client, issuer, "alice")
    mallory = auth(issuer, "mallory")
    missing = client.get("/v1/sessions/sess_doesnotexist0000000000000000000", headers=mallory)
    other = client.get(f"/v1/sessions/{sid}", headers=mallory)
    assert_problem(other, 404, "session-not-found")
    assert other.json()["type"] == missing.json()["type"]
    msg = client.post(f"/v1/sessions/{sid}/messages", json={"text": "hi"}, headers=mallory)
    assert_problem(msg, 404, "session-not-found")
    assert_problem(client.delete(f"/v1/sessions/{sid}", headers=mallory), 404,
                   "session-not-found")  # fmt: skip
    # The owner's session is untouched by all of that.
    assert client.get(f"/v1/sessions/{sid}", headers=auth(issuer)).json()["turns"] == 0


def test_admin_reaches_any_session(client: TestClient, issuer: TokenIssuer) -> None:
    sid = new_session(client, issuer, "alice")
    admin = auth(issuer, "ops", ("session:admin",))
    # The store keeps a keyed hash of the owner: an operator sees that, not the user id.
    assert client.get(f"/v1/sessions/{sid}", headers=admin).json()["owner"].startswith("h1:")
    assert client.delete(f"/v1/sessions/{sid}", headers=admin).status_code == 204


@pytest.mark.parametrize(
    ("body", "status", "code"),
    [
        ({"text": ""}, 422, "invalid-input"),
        ({"text": "   "}, 422, "invalid-input"),
        ({"text": "x" * 9000}, 413, "message-too-large"),
        ({"text": 42}, 422, "validation"),
        ({}, 422, "validation"),
    ],
    ids=["empty", "blank", "too-large", "not-text", "missing"],
)
def test_bad_messages(
    client: TestClient, issuer: TokenIssuer, body: dict, status: int, code: str
) -> None:
    sid = new_session(client, issuer)
    response = client.post(f"/v1/sessions/{sid}/messages", json=body, headers=auth(issuer))
    assert_problem(response, status, code)
    assert client.get(f"/v1/sessions/{sid}", headers=auth(issuer)).json()["turns"] == 0


def test_malformed_json_and_oversized_body(client: TestClient, issuer: TokenIssuer) -> None:
    sid = new_session(client, issuer)
    headers = {**auth(issuer), "content-type": "application/json"}
    url = f"/v1/sessions/{sid}/messages"
    assert_problem(client.post(url, content=b'{"text": "\xff\xfe"}', headers=headers), 400,
                   "bad-request")  # fmt: skip
    assert_problem(client.post(url, content=b"{not json", headers=headers), 400, "bad-request")
    huge = b'{"text": "' + b"a" * 70_000 + b'"}'
    assert_problem(client.post(url, content=huge, headers=headers), 413, "payload-too-large")


@pytest.mark.parametrize("session_id", ["a}b{", "*", "..%2Fx", "x" * 200])
def test_bad_session_ids(client: TestClient, issuer: TokenIssuer, session_id: str) -> None:
    response = client.post(f"/v1/sessions/{session_id}/messages", json={"text": "hi"},
                           headers=auth(issuer))  # fmt: skip
    assert response.status_code in {404, 422}
    assert response.headers["content-type"].startswith(PROBLEM)


def test_on_busy_reject_is_409_and_queue_waits(
    client: TestClient, issuer: TokenIssuer, standalone_url: str
) -> None:
    sid = new_session(client, issuer)

    async def hold() -> None:
        store = RedisContextStore(StoreSettings.from_url(standalone_url))
        async with DistributedLock(resource=f"session_{sid}", store=store, lease=5):
            response = await asyncio.to_thread(
                client.post, f"/v1/sessions/{sid}/messages?on_busy=reject",
                json={"text": "hi"}, headers=auth(issuer),
            )  # fmt: skip
            assert_problem(response, 409, "lock-timeout")
        await store.aclose()

    asyncio.run(hold())
    ok = client.post(f"/v1/sessions/{sid}/messages?on_busy=reject", json={"text": "hi"},
                     headers=auth(issuer))  # fmt: skip
    assert ok.status_code == 200


def test_rate_limit_is_429_with_retry_after(standalone_url: str, issuer: TokenIssuer) -> None:
    app = create_app(make_settings(standalone_url, rate_per_user=0.5, rate_burst=2))
    with TestClient(app) as limited:
        headers = auth(issuer, "rate-limited-user")
        codes = [limited.post("/v1/sessions", headers=headers).status_code for _ in range(3)]
        assert codes == [201, 201, 429]
        response = limited.post("/v1/sessions", headers=headers)
        assert_problem(response, 429, "rate-limited")
        assert int(response.headers["Retry-After"]) >= 1
        # Another user has a bucket of their own.
        assert limited.post("/v1/sessions", headers=auth(issuer, "bob")).status_code == 201


def test_websocket_chat_round_trip(client: TestClient, issuer: TokenIssuer) -> None:
    sid = new_session(client, issuer)
    token = issuer.issue("alice", CUSTOMER, 600)
    with client.websocket_connect(f"/v1/sessions/{sid}/ws", subprotocols=["bearer", token]) as ws:
        ws.send_text('{"text": "I forgot my password"}')
        turn = ws.receive_json()
        assert turn["type"] == "turn"
        assert turn["seq"] == 1
        assert turn["reply"]
        ws.send_text('{"text": ""}')
        assert ws.receive_json()["problem"]["status"] == 422
        ws.send_text("not json")
        assert ws.receive_json()["problem"]["status"] == 400


def test_websocket_refuses_bad_tokens(client: TestClient, issuer: TokenIssuer) -> None:
    from starlette.websockets import WebSocketDisconnect

    sid = new_session(client, issuer)
    with (
        pytest.raises(WebSocketDisconnect) as denied,
        client.websocket_connect(f"/v1/sessions/{sid}/ws?token=nope") as ws,
    ):
        ws.receive_json()
    assert denied.value.code == 4401
    reader = issuer.issue("alice", ("session:read",), 600)
    with (
        pytest.raises(WebSocketDisconnect) as forbidden,
        client.websocket_connect(f"/v1/sessions/{sid}/ws?token={reader}") as ws,
    ):
        ws.receive_json()
    assert forbidden.value.code == 4403


def test_operations_endpoints(client: TestClient, issuer: TokenIssuer) -> None:
    sid = new_session(client, issuer)
    client.post(f"/v1/sessions/{sid}/messages", json={"text": "hello"}, headers=auth(issuer))
    assert client.get("/healthz").json()["status"] == "ok"
    ready = client.get("/readyz")
    assert ready.status_code == 200
    assert ready.json()["checks"]["store"] == "ok"
    metrics = client.get("/metrics").text
    for name in ("agentgpt_turns_total", "agentgpt_turn_latency_seconds_bucket",
                 "agentgpt_pool_agents", "agentgpt_store_round_trips",
                 "agentgpt_http_requests_total", "agentgpt_lock_wait_seconds_count"):  # fmt: skip
        assert name in metrics
    assert sid not in metrics  # ids never become labels


def test_openapi_documents_every_route_and_problem(client: TestClient) -> None:
    spec = client.get("/openapi.json").json()
    paths = spec["paths"]
    for path in ("/v1/sessions", "/v1/sessions/{session_id}/messages",
                 "/v1/sessions/{session_id}", "/v1/sessions/{session_id}/turns",
                 "/v1/sessions/{session_id}/auth-events", "/healthz", "/readyz",
                 "/metrics"):  # fmt: skip
        assert path in paths
    message = paths["/v1/sessions/{session_id}/messages"]["post"]["responses"]
    for status in ("200", "401", "403", "404", "409", "413", "422", "429", "503"):
        assert status in message
    assert "Problem" in spec["components"]["schemas"]
    assert client.get("/docs").status_code == 200


def test_demo_tokens_only_in_development(standalone_url: str) -> None:
    with TestClient(create_app(make_settings(standalone_url, demo_tokens=True))) as dev:
        token = dev.post("/v1/demo/token", json={"user": "c1", "role": "customer"})
        assert token.status_code == 200
        assert "session:write" in token.json()["scopes"]
    prod = create_app(make_settings(standalone_url, environment="production"))
    with TestClient(prod) as live:
        assert_problem(live.post("/v1/demo/token", json={"user": "c1"}), 403, "access-denied")


def test_plaintext_is_refused_in_production(standalone_url: str) -> None:
    from agentgpt.config.settings import Settings
    from agentgpt.errors import ConfigError

    settings = Settings(store_url=standalone_url, server={"environment": "production"},
                        sessions={"encryption": "none"})  # fmt: skip
    with pytest.raises(ConfigError), TestClient(create_app(settings)):
        pass


def test_pages_are_served_without_external_assets(client: TestClient) -> None:
    for path in ("/", "/ops"):
        page = client.get(path)
        assert page.status_code == 200
        assert "http://" not in page.text
        assert "https://" not in page.text
    assert client.get("/static/chat.js").status_code == 200
    assert SCOPES  # the scope list the pages' roles draw from exists


def test_monitor_snapshot_reflects_turns_and_auth_alerts(
    client: TestClient, issuer: TokenIssuer
) -> None:
    sid = new_session(client, issuer, "monitored")
    owner = auth(issuer, "monitored")
    for text in ("I forgot my password", "Card blocked in foreign country"):
        client.post(f"/v1/sessions/{sid}/messages", json={"text": text}, headers=owner)
    flags = [client.post(f"/v1/sessions/{sid}/auth-events", headers=owner,
                         json={"success": False, "method": "otp"}).json()["flagged"]
             for _ in range(3)]  # fmt: skip
    assert flags == [False, False, True]
    # The flagged session's next turn requires verification.
    turn = client.post(f"/v1/sessions/{sid}/messages", json={"text": "hello"}, headers=owner)
    assert "require_verification" in turn.json()["actions"]

    ops = auth(issuer, "ops", ("session:monitor",))
    assert_problem(client.get("/v1/monitor", headers=owner), 403, "access-denied")
    _flush(client)
    snap = client.get("/v1/monitor?window=5m&severity=prod", headers=ops).json()
    assert snap["turns"] >= 3
    assert snap["active_sessions"] >= 1
    assert snap["latency"]["p99_ms"] is not None
    alerts = [a for a in snap["alerts"] if a["rule"] == "auth_failures" and a["subject"] == sid]
    assert len(alerts) == 1
    assert alerts[0]["severity"] == "critical"
    assert sid not in json.dumps(snap) or alerts[0]["subject"] == sid
    ack = client.post(f"/v1/monitor/alerts/{alerts[0]['id']}/ack", headers=ops)
    assert ack.status_code == 200
    assert ack.json()["acknowledged_by"] == "ops"
    again = client.post(f"/v1/monitor/alerts/{alerts[0]['id']}/ack", headers=ops)
    assert_problem(again, 409, "conflict")
    assert_problem(client.get("/v1/monitor?window=3d", headers=ops), 422, "validation")


def _flush(client: TestClient) -> None:
    """Flush the app's pending analytics events (normally done every second)."""
    assert client.portal is not None
    client.portal.call(client.app.state.services.manager.analytics.flush)  # type: ignore[attr-defined]


def test_store_down_is_503_and_readyz_says_so(issuer: TokenIssuer) -> None:
    from tests import servers

    dead = f"redis://127.0.0.1:{servers.free_port()}/0"
    settings = make_settings(dead)
    settings.session_storage.config.connect_timeout = 0.5
    with TestClient(create_app(settings)) as down:
        assert_problem(down.post("/v1/sessions", headers=auth(issuer)), 503, "store-unavailable")
        ready = down.get("/readyz")
        assert ready.status_code == 503
        assert ready.json()["checks"]["store"] != "ok"
        assert down.get("/healthz").status_code == 200


def test_docs_page_serves_its_assets_itself(client: TestClient) -> None:
    # A bank's network (and this CI machine) has no route to a public CDN: every script,
    # stylesheet and icon of /docs must come from the app.
    html = client.get("/docs").text
    assets = re.findall(r"""(?:src|href)=["']([^"']+)["']""", html)
    assert any(a.endswith("swagger-ui-bundle.js") for a in assets)
    for asset in assets:
        assert asset.startswith("/"), f"{asset} is not served by the app"
        assert client.get(asset).status_code == 200, asset
    assert "/openapi.json" in html
    assert client.get("/redoc").status_code == 404  # FastAPI's ReDoc page loads from a CDN
