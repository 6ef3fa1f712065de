"""Isolated agent runtimes: sandboxed worker processes (or microVMs), warm pools, limits."""

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
