"""``agentgpt.locks``: the distributed lock, under the name the guide imports."""

from agentgpt.store.lock import DistributedLock

__all__ = ["DistributedLock"]
