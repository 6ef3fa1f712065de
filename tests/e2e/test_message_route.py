"""The messages route's direct path answers as FastAPI's own handler does (issue 16)."""

from __future__ import annotations

import gc

import pytest
from fastapi.testclient import TestClient
from hypothesis import given, settings
from hypothesis import strategies as st

from agentgpt.agents.response import Action, Entity, Response, Sentiment
from agentgpt.security.tokens import TokenIssuer
from agentgpt.server import create_app
from agentgpt.server.app import YOUNG_GC_THRESHOLD
from agentgpt.server.message_route import turn_json
from agentgpt.server.views import turn_out
from tests.e2e.conftest import make_settings
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
        (b'{"text": "hi", "e2e": "AAAA"}', "application/json", "", 422, "validation"),
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


def test_messages_spend_the_rate_bucket_in_the_lock_round_trip(
    standalone_url: str, issuer: TokenIssuer
) -> None:
    app = create_app(make_settings(standalone_url, rate_per_user=0.01, rate_burst=3))
    with TestClient(app) as limited:
        headers = auth(issuer, "rate-limited-messages")
        sid = new_session(limited, issuer, "rate-limited-messages")  # one token
        store = app.state.services.manager.store
        before = store.round_trips
        url = f"/v1/sessions/{sid}/messages"
        codes = [limited.post(url, json={"text": "hi"}, headers=headers).status_code
                 for _ in range(2)]  # fmt: skip
        assert codes == [200, 200]
        assert store.round_trips - before == 4  # lock + bucket + load, commit: twice
        response = limited.post(url, json={"text": "hi"}, headers=headers)
        assert_problem(response, 429, "rate-limited")
        assert int(response.headers["Retry-After"]) >= 1
        # A malformed body is refused by the bucket first, as before (429 before 422).
        refused = limited.post(url, json={"text": 42}, headers=headers)
        assert_problem(refused, 429, "rate-limited")


def test_service_collects_young_objects_in_batches(client: TestClient) -> None:
    assert client.get("/healthz").status_code == 200
    assert gc.get_threshold()[0] == YOUNG_GC_THRESHOLD
    assert gc.get_freeze_count() > 0  # what startup built is out of the collector's way


_TEXT = st.text(max_size=40)
# Scores and confidences live in [-1, 1]; past 1e16 the two encoders differ only in the
# exponent's form (pydantic "1e+16", msgspec "1e16": the same JSON number).
_FLOAT = (
    st.floats(min_value=-1e15, max_value=1e15)
    | st.sampled_from([float("nan"), float("inf"), -0.0])
    | st.integers(-5, 5)
)


@settings(max_examples=200, deadline=None)
@given(
    reply=_TEXT,
    intent=st.none() | _TEXT,
    confidence=_FLOAT,
    topic=st.none() | _TEXT,
    label=_TEXT,
    score=_FLOAT,
    entities=st.lists(st.tuples(_TEXT, _TEXT), max_size=3),
    actions=st.lists(st.sampled_from(list(Action)), max_size=3),
    redacted=st.none() | _TEXT,
    seq=st.integers(0, 2**40),
)
def test_the_lane_answers_the_same_json_as_turn_out(
    reply: str, intent: str | None, confidence: float, topic: str | None, label: str,
    score: float, entities: list[tuple[str, str]], actions: list[Action],
    redacted: str | None, seq: int,
) -> None:  # fmt: skip
    response = Response(
        reply=reply, intent=intent, confidence=confidence, topic=topic,
        sentiment=Sentiment(label=label, score=score),
        entities=[Entity(kind=k, placeholder=p) for k, p in entities], actions=actions,
        redacted_input=redacted, sensitive={"<IBAN_1>": "GB82WEST12345698765432"},
    )  # fmt: skip
    expected = turn_out("sess_x", seq, response).model_dump_json().encode()
    assert turn_json("sess_x", seq, response) == expected


def test_the_lane_keeps_the_route_label_the_request_id_and_the_body_limit(
    standalone_url: str, issuer: TokenIssuer
) -> None:
    with TestClient(create_app(make_settings(standalone_url, max_body_bytes=1024))) as small:
        sid = new_session(small, issuer)
        url = f"/v1/sessions/{sid}/messages"
        turn = small.post(url, json={"text": "hi"}, headers={**auth(issuer), "X-Request-ID": "r1"})
        assert turn.status_code == 200, turn.text
        assert turn.headers["x-request-id"] == "r1"
        assert turn.headers["content-type"] == "application/json"
        metrics = small.get("/metrics").text
        assert 'route="/v1/sessions/{session_id}/messages",status="200"' in metrics
        big = small.post(url, json={"text": "x" * 2000}, headers=auth(issuer))
        assert_problem(big, 413, "payload-too-large")
        # Chunked (no length): the limit is enforced while the lane reads the body.
        chunks = iter([b'{"text": "', b"y" * 2000, b'"}'])
        streamed = small.post(url, content=chunks, headers={**auth(issuer),
                              "Content-Type": "application/json"})  # fmt: skip
        assert_problem(streamed, 413, "payload-too-large")
