"""agentgpt sessions: isolated, encrypted, concurrent support-agent sessions."""

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
