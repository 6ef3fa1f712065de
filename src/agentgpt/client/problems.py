"""problem+json error responses raised as the matching ``agentgpt.errors`` class."""

from __future__ import annotations

import httpx
import msgspec

from agentgpt import errors as E

TYPE_PREFIX = "urn:agentgpt:problem:"

# Codes the server uses for errors raised by the framework rather than by us (unknown
# route, schema validation ...): the class of the same HTTP status stands in for them.
_BY_STATUS: dict[int, type[E.AgentGPTError]] = {
    400: E.UserError,
    401: E.InvalidToken,
    403: E.AccessDenied,
    404: E.SessionNotFound,
    409: E.AlreadyDone,
    413: E.MessageTooLarge,
    422: E.InvalidInput,
    429: E.LimitExceeded,
    503: E.StoreError,
}


class Problem(msgspec.Struct, frozen=True):
    """The body of an error response (RFC 9457)."""

    type: str = ""
    title: str = ""
    status: int = 0
    detail: str = ""


def _by_code() -> dict[str, type[E.AgentGPTError]]:
    found: dict[str, type[E.AgentGPTError]] = {}
    pending: list[type[E.AgentGPTError]] = [E.AgentGPTError]
    while pending:
        cls = pending.pop()
        found.setdefault(cls.code, cls)
        pending.extend(cls.__subclasses__())
    return found


_BY_CODE = _by_code()


def error_class(code: str, status: int) -> type[E.AgentGPTError]:
    """The error class of a problem ``type`` suffix, else the one of its HTTP status."""
    return _BY_CODE.get(code) or _BY_STATUS.get(status) or E.AgentGPTError


def raise_for_problem(response: httpx.Response) -> None:
    """Raise the response's error as an ``AgentGPTError`` subclass; do nothing on 2xx."""
    if response.is_success:
        return
    try:
        problem = msgspec.json.decode(response.content, type=Problem)
    except (msgspec.DecodeError, msgspec.ValidationError):
        # Not ours (a proxy's page, a crash before the app): keep the status and some text.
        problem = Problem(status=response.status_code, detail=response.text[:200])
    code = problem.type.removeprefix(TYPE_PREFIX)
    detail = problem.detail or f"HTTP {response.status_code}"
    cls = error_class(code, response.status_code)
    if issubclass(cls, E.RateLimited):
        raise cls(detail, retry_after=retry_after(response) or 1.0)
    raise cls(detail)


def retry_after(response: httpx.Response) -> float | None:
    """The ``Retry-After`` delay in seconds, if the response carries one in that form."""
    value = response.headers.get("Retry-After")
    try:
        return float(value) if value is not None else None
    except ValueError:
        return None  # an HTTP date: our server never sends one
