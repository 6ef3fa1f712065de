"""Isolated agent runtimes: sandboxed worker processes (or microVMs), warm pools, limits."""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from agentgpt.runtime.driver import HandlerSpec, RuntimeDriver, Worker
    from agentgpt.runtime.limits import RegionLimits, validate_region
    from agentgpt.runtime.policy import ResourcePolicy, parse_cpu, parse_memory, parse_pids
    from agentgpt.runtime.service import RUNTIMES, RuntimeService

__all__ = [
    "RUNTIMES",
    "HandlerSpec",
    "RegionLimits",
    "ResourcePolicy",
    "RuntimeDriver",
    "RuntimeService",
    "Worker",
    "parse_cpu",
    "parse_memory",
    "parse_pids",
    "validate_region",
]

#: Where each public name lives. Imported on first use, so that a sandboxed worker
#: (``agentgpt.runtime.worker`` and one agent class) loads neither the store nor the
#: NLU models nor the server: its cold start and idle memory are its agent's own.
_EXPORTS = {
    "HandlerSpec": "agentgpt.runtime.driver",
    "RuntimeDriver": "agentgpt.runtime.driver",
    "Worker": "agentgpt.runtime.driver",
    "RegionLimits": "agentgpt.runtime.limits",
    "validate_region": "agentgpt.runtime.limits",
    "ResourcePolicy": "agentgpt.runtime.policy",
    "parse_cpu": "agentgpt.runtime.policy",
    "parse_memory": "agentgpt.runtime.policy",
    "parse_pids": "agentgpt.runtime.policy",
    "RUNTIMES": "agentgpt.runtime.service",
    "RuntimeService": "agentgpt.runtime.service",
}


def __getattr__(name: str) -> Any:
    """Import a public name on first use (PEP 562)."""
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value
