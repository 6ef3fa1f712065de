"""The HTTP service: REST + WebSocket + SSE, scopes, /metrics and the web pages."""

from agentgpt.server.app import create_app

__all__ = ["create_app"]
