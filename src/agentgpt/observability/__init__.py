"""Observability: optional OpenTelemetry tracing and the trace ids that go into logs.

This package sits in the bottom layer next to ``agentgpt.config`` (it imports only config
and errors), so that both ``agentgpt.sessions`` and ``agentgpt.server`` can open spans.
"""

from agentgpt.observability.tracing import (
    configure,
    configured,
    current_ids,
    enabled,
    install,
    server_span,
    shutdown,
    span,
    uninstall,
)

__all__ = [
    "configure",
    "configured",
    "current_ids",
    "enabled",
    "install",
    "server_span",
    "shutdown",
    "span",
    "uninstall",
]
