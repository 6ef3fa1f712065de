"""The agent side of an isolated turn: what crosses into a worker and what comes back.

A worker receives one ``TurnCall`` per turn: the customer's message, that session's
decrypted context and the session's capabilities, nothing else. It answers with the
agent's ``Response``. ``handler_for`` is the factory the worker process loads.
"""

from __future__ import annotations

import importlib
from collections.abc import Awaitable, Callable
from typing import Any

import msgspec

from agentgpt.agents.context import Context
from agentgpt.agents.response import Response

#: The worker's handler factory, as ``agentgpt.runtime.worker`` imports it.
HANDLER_FACTORY = "agentgpt.agents.isolated:handler_for"


class TurnCall(msgspec.Struct, kw_only=True, array_like=True):
    """One turn for a worker: input, the session's context, its capabilities."""

    input: str
    context: Context
    capabilities: tuple[str, ...] = ()


_call_encoder = msgspec.msgpack.Encoder()
_call_decoder = msgspec.msgpack.Decoder(TurnCall)
_response_decoder = msgspec.msgpack.Decoder(Response)


def agent_path(agent_class: type[Any]) -> str:
    """``module:QualName`` of an agent class (what the worker imports)."""
    return f"{agent_class.__module__}:{agent_class.__qualname__}"


def encode_call(text: str, context: Context, capabilities: tuple[str, ...]) -> bytes:
    """The request body of one isolated turn."""
    return _call_encoder.encode(TurnCall(input=text, context=context, capabilities=capabilities))


def decode_response(body: bytes) -> Response:
    """The worker's reply body as a ``Response``."""
    return _response_decoder.decode(body)


def handler_for(agent_spec: str) -> Callable[[bytes], Awaitable[bytes]]:
    """Load the agent class named ``module:QualName`` and return the worker's turn handler."""
    module_name, _, qualname = agent_spec.partition(":")
    target: Any = importlib.import_module(module_name)
    for part in qualname.split("."):
        target = getattr(target, part)
    agent = target()

    async def handle(body: bytes) -> bytes:
        call = _call_decoder.decode(body)
        try:
            if call.capabilities:
                agent.configure(call.capabilities)
            response = await agent.process(input=call.input, context=call.context)
        finally:
            agent.reset()
        return _call_encoder.encode(response)

    return handle
