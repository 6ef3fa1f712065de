"""agentgpt sessions: isolated, encrypted, concurrent support-agent sessions."""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from agentgpt.agents import Action, Agent, Context, NLPAgent, Response, Sentiment
    from agentgpt.agents.faq_agent import FAQAgent
    from agentgpt.agents.pool import AgentPool
    from agentgpt.agents.support_agent import SupportAgent
    from agentgpt.sessions import Event, HookEvent, Session, SessionManager, generate_session_id
    from agentgpt.store import DistributedLock, RedisContextStore

__all__ = [
    "Action",
    "Agent",
    "AgentPool",
    "Context",
    "DistributedLock",
    "Event",
    "FAQAgent",
    "HookEvent",
    "NLPAgent",
    "RedisContextStore",
    "Response",
    "Sentiment",
    "Session",
    "SessionManager",
    "SupportAgent",
    "generate_session_id",
]

#: Where each public name lives. Imported on first use, so that a sandboxed worker
#: (``agentgpt.runtime.worker`` and one agent class) loads neither the store nor the
#: NLU models nor the server: its cold start and idle memory are its agent's own.
_EXPORTS = {
    "Action": "agentgpt.agents",
    "Agent": "agentgpt.agents",
    "Context": "agentgpt.agents",
    "NLPAgent": "agentgpt.agents",
    "Response": "agentgpt.agents",
    "Sentiment": "agentgpt.agents",
    "FAQAgent": "agentgpt.agents.faq_agent",
    "AgentPool": "agentgpt.agents.pool",
    "SupportAgent": "agentgpt.agents.support_agent",
    "Event": "agentgpt.sessions",
    "HookEvent": "agentgpt.sessions",
    "Session": "agentgpt.sessions",
    "SessionManager": "agentgpt.sessions",
    "generate_session_id": "agentgpt.sessions",
    "DistributedLock": "agentgpt.store",
    "RedisContextStore": "agentgpt.store",
}


def __getattr__(name: str) -> Any:
    """Import a public name on first use (PEP 562)."""
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value
