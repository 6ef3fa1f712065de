"""The client's mapping of problem+json responses to our errors, and its percentiles."""

from __future__ import annotations

import httpx
import pytest

from agentgpt import errors as E
from agentgpt.client.problems import raise_for_problem
from agentgpt.demo.stats import percentiles


def problem(status: int, code: str, detail: str = "why", **headers: str) -> httpx.Response:
    """A problem+json response as the server writes it."""
    body = {"type": f"urn:agentgpt:problem:{code}", "title": "t", "status": status,
            "detail": detail}  # fmt: skip
    return httpx.Response(status, json=body, headers=headers)


@pytest.mark.parametrize(
    ("status", "code", "expected"),
    [
        (404, "session-not-found", E.SessionNotFound),
        (409, "lock-timeout", E.LockTimeout),
        (429, "session-limit", E.SessionLimitExceeded),
        (503, "store-unavailable", E.StoreUnavailable),
        (422, "validation", E.InvalidInput),  # framework codes fall back on the status
        (413, "payload-too-large", E.MessageTooLarge),
        (404, "not-found", E.SessionNotFound),
        (500, "internal", E.AgentGPTError),
    ],
)
def test_each_type_raises_its_class_with_the_detail(status, code, expected) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(expected, match=r"^why$") as raised:
        raise_for_problem(problem(status, code))
    assert type(raised.value) is expected


def test_rate_limited_keeps_retry_after() -> None:
    with pytest.raises(E.RateLimited) as raised:
        raise_for_problem(problem(429, "rate-limited", **{"Retry-After": "3"}))
    assert raised.value.retry_after == 3.0


def test_a_body_that_is_not_a_problem_keeps_its_status() -> None:
    with pytest.raises(E.StoreError, match="Bad gateway page"):
        raise_for_problem(httpx.Response(503, text="Bad gateway page"))


def test_success_raises_nothing() -> None:
    raise_for_problem(httpx.Response(204))


def test_percentiles() -> None:
    figures = percentiles([float(x) for x in range(1, 101)])
    assert figures["p50_ms"] == 50.5
    assert figures["p99_ms"] == pytest.approx(99.01)
    assert figures["max_ms"] == 100.0
    assert percentiles([])["p99_ms"] == 0.0
