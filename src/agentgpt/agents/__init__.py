"""Agents: the protocol, the response, the pool, and the shipped agents."""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from agentgpt.agents.context import Context, Exchange
    from agentgpt.agents.nlp_agent import NLPAgent
    from agentgpt.agents.protocol import Agent
    from agentgpt.agents.response import Action, Entity, Response, Sentiment

__all__ = ["Action", "Agent", "Context", "Entity", "Exchange", "NLPAgent", "Response", "Sentiment"]

#: Where each public name lives. Imported on first use, so that a sandboxed worker
#: (``agentgpt.runtime.worker`` and one agent class) loads neither the store nor the
#: NLU models nor the server: its cold start and idle memory are its agent's own.
_EXPORTS = {
    "Context": "agentgpt.agents.context",
    "Exchange": "agentgpt.agents.context",
    "NLPAgent": "agentgpt.agents.nlp_agent",
    "Agent": "agentgpt.agents.protocol",
    "Action": "agentgpt.agents.response",
    "Entity": "agentgpt.agents.response",
    "Response": "agentgpt.agents.response",
    "Sentiment": "agentgpt.agents.response",
}


def __getattr__(name: str) -> Any:
    """Import a public name on first use (PEP 562)."""
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value
