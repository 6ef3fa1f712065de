"""Each AppContext owns its connections and key manager; the zero-argument forms share one
default runtime (docs/architecture.md, "Wiring")."""

from __future__ import annotations

from agentgpt.app_context import AppContext
from agentgpt.config.settings import SessionSettings, Settings
from agentgpt.store.context_store import BackendRegistry, RedisContextStore
from agentgpt.store.lock import DistributedLock


def _settings(url: str) -> Settings:
    return Settings(store_url=url, sessions=SessionSettings(agent="faq"))


async def test_two_contexts_share_nothing_but_the_data(
    standalone_store: RedisContextStore, standalone_url: str
) -> None:
    settings = _settings(standalone_url)  # standalone_store: the server was flushed
    first, second = AppContext.from_settings(settings), AppContext.from_settings(settings)
    assert first.store.backend is not second.store.backend
    assert first.key_manager is not second.key_manager
    session = await first.manager.create_session("user-two-contexts")
    assert (await first.manager.handle(session.id, "hello")).seq == 1
    await first.aclose()
    loaded = await second.manager.load_session(session.id)  # its own connection, same store
    assert loaded.version == 1
    await second.aclose()


async def test_the_default_runtime_shares_one_connection(standalone_url: str) -> None:
    assert RedisContextStore(standalone_url).backend is RedisContextStore(standalone_url).backend
    own = RedisContextStore(standalone_url, registry=BackendRegistry())
    assert own.backend is not RedisContextStore(standalone_url).backend
    assert own.with_retention().backend is own.backend  # retention does not change it
    async with DistributedLock(resource="ownership-gate", store=own):
        assert own.backend.lock_gates  # the lock's local FIFO gate belongs to the connection
    assert not own.backend.lock_gates
    await own.aclose()
