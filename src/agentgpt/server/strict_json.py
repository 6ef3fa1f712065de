"""The one JSON encoder of every document the service sends (REST, SSE, WebSocket).

``json.dumps`` writes ``Infinity`` and ``NaN``, which no strict parser accepts (a browser's
``JSON.parse`` throws on them), and Starlette's ``JSONResponse`` raises on them instead (a
500). msgspec writes every non-finite float as ``null``: a figure that has no finite value
(a ratio against a baseline of zero) reaches the client as "no value", never as a broken
document.
"""

from __future__ import annotations

from typing import Any

import msgspec
from fastapi.responses import JSONResponse

_ENCODER = msgspec.json.Encoder()


def encode(value: Any) -> bytes:
    """``value`` (built-in types) as strict JSON bytes; non-finite floats become null."""
    return _ENCODER.encode(value)


def dumps(value: Any) -> str:
    """``value`` as a strict JSON string (for SSE data lines and WebSocket text frames)."""
    return _ENCODER.encode(value).decode()


class StrictJSONResponse(JSONResponse):
    """A ``JSONResponse`` rendered by the strict encoder (the app's default response)."""

    def render(self, content: Any) -> bytes:
        """The body: strict JSON, never ``Infinity``/``NaN``."""
        return encode(content)
