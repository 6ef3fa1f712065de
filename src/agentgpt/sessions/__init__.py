"""Sessions: the manager, sessions, ids, hooks and the turn path."""

from agentgpt.sessions.hooks import Event, HookEvent
from agentgpt.sessions.ids import generate_session_id
from agentgpt.sessions.manager import SessionManager
from agentgpt.sessions.session import BoundAgent, Session

__all__ = ["BoundAgent", "Event", "HookEvent", "Session", "SessionManager", "generate_session_id"]
