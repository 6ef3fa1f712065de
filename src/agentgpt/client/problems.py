"""problem+json error responses raised as the matching ``agentgpt.errors`` class."""

from __future__ import annotations

import httpx
from pydantic import ValidationError

from agentgpt import errors
from agentgpt.wire import PROBLEM_TYPE_PREFIX, Problem

# Codes the server uses for errors raised by the framework rather than by us (unknown
# route, schema validation ...): the class of the same HTTP status stands in for them.
_BY_STATUS: dict[int, type[errors.AgentGPTError]] = {
    400: errors.UserError,
    401: errors.InvalidToken,
    403: errors.AccessDenied,
    404: errors.SessionNotFound,
    409: errors.AlreadyDone,
    413: errors.MessageTooLarge,
    422: errors.InvalidInput,
    429: errors.LimitExceeded,
    503: errors.StoreError,
}


def _by_code() -> dict[str, type[errors.AgentGPTError]]:
    found: dict[str, type[errors.AgentGPTError]] = {}
    pending: list[type[errors.AgentGPTError]] = [errors.AgentGPTError]
    while pending:
        cls = pending.pop()
        found.setdefault(cls.code, cls)
        pending.extend(cls.__subclasses__())
    return found


_BY_CODE = _by_code()


def error_class(code: str, status: int) -> type[errors.AgentGPTError]:
    """The error class of a problem ``type`` suffix, else the one of its HTTP status."""
    return _BY_CODE.get(code) or _BY_STATUS.get(status) or errors.AgentGPTError


def raise_for_problem(response: httpx.Response) -> None:
    """Raise the response's error as an ``AgentGPTError`` subclass; do nothing on 2xx."""
    if response.is_success:
        return
    try:
        problem = Problem.model_validate_json(response.content)
        code, detail = problem.type.removeprefix(PROBLEM_TYPE_PREFIX), problem.detail
    except ValidationError:
        # Not ours (a proxy's page, a crash before the app): keep the status and some text.
        code, detail = "", response.text[:200]
    detail = detail or f"HTTP {response.status_code}"
    cls = error_class(code, response.status_code)
    if issubclass(cls, errors.RateLimited):
        raise cls(detail, retry_after=retry_after(response) or 1.0)
    raise cls(detail)


def retry_after(response: httpx.Response) -> float | None:
    """The ``Retry-After`` delay in seconds, if the response carries one in that form."""
    value = response.headers.get("Retry-After")
    try:
        return float(value) if value is not None else None
    except ValueError:
        return None  # an HTTP date: our server never sends one
