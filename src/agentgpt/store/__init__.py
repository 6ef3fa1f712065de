"""The session store: Redis protocol, key schema, Lua scripts, codec, embedded server, locks."""

from agentgpt.store.codec import RecordCodec
from agentgpt.store.context_store import RedisContextStore, TurnWrite
from agentgpt.store.embedded import EmbeddedServer
from agentgpt.store.lock import DistributedLock

__all__ = ["DistributedLock", "EmbeddedServer", "RecordCodec", "RedisContextStore", "TurnWrite"]
