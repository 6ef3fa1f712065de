"""The Lua scripts: one registry, loaded once per server, called by SHA (single-slot each).

This is the only code that runs a script. ``call`` and ``call_many`` retry once after
``NOSCRIPT`` (a restarted or flushed server lost its script cache): there is no other
loading path and no other retry.
"""

from __future__ import annotations

import asyncio
import hashlib
import re
from collections.abc import Sequence
from importlib import resources
from typing import Any

from redis.asyncio.cluster import RedisCluster
from redis.exceptions import NoScriptError

EncodableT = bytes | str | int | float
#: (keys, args) of one script call.
ScriptCall = tuple[Sequence[str], Sequence[Any]]


class Scripts:
    """Script bodies by name with their SHA1, as the server will know them."""

    NAMES = (
        # sessions, locks, admission, rate limits, key re-wrap, alerts housekeeping
        "acquire",
        "release",
        "extend",
        "create",
        "commit",
        "erase",
        "token_bucket",
        "cas_field",
        "admit",
        "forget_alerts",
        "set_fields",
        # analytics: aggregates, alerts, authentication failures
        "an_add",
        "an_sum",
        "an_alert",
        "an_ack",
        "an_auth",
    )

    def __init__(self, names: Sequence[str] | None = None) -> None:
        """Read the bundled ``lua/*.lua`` files (``names``: a subset, for tests)."""
        folder = resources.files("agentgpt.store") / "lua"
        self.bodies = {
            n: _expanded((folder / f"{n}.lua").read_text(encoding="utf-8"), folder)
            for n in names or self.NAMES
        }
        self.shas = {n: hashlib.sha1(b.encode()).hexdigest() for n, b in self.bodies.items()}  # noqa: S324 - the server's script id

    async def load(self, client: Any) -> None:
        """Load every script on every primary (``SCRIPT LOAD`` is broadcast on a cluster)."""
        for body in self.bodies.values():
            await client.script_load(body)

    async def call(self, client: Any, name: str, keys: Sequence[str], args: Sequence[Any]) -> Any:
        """Run script ``name``; reload the scripts once if the server lost them."""
        try:
            return await self._evalsha(client, name, keys, args)
        except NoScriptError:
            await self.load(client)
            return await self._evalsha(client, name, keys, args)

    async def call_many(self, client: Any, name: str, calls: Sequence[ScriptCall]) -> list[Any]:
        """Run ``name`` once per call in one round trip; results in order.

        Standalone: one pipeline. Cluster: redis-py refuses scripts in cluster pipelines,
        so the calls (single-slot each) run side by side.
        """
        if isinstance(client, RedisCluster):
            return list(await asyncio.gather(*(self.call(client, name, k, a) for k, a in calls)))
        try:
            return await self._pipelined(client, name, calls)
        except NoScriptError:
            await self.load(client)
            return await self._pipelined(client, name, calls)

    async def run_pipeline(
        self, client: Any, queue: Any, *, raise_on_error: bool = True
    ) -> list[Any]:
        """Execute the pipeline ``queue(pipe)`` fills (scripts and commands mixed).

        ``raise_on_error=False``: the commands' error replies come back in the results
        (a durability wait's, for one), except ``NOSCRIPT``, which reloads and retries once.
        """
        for attempt in (1, 2):
            pipe = client.pipeline(transaction=False)
            queue(pipe)
            try:
                results = list(await pipe.execute(raise_on_error=raise_on_error))
                lost = next((r for r in results if isinstance(r, NoScriptError)), None)
                if lost is not None:
                    raise lost
                return results
            except NoScriptError:
                if attempt == 2:
                    raise
                await self.load(client)
        raise AssertionError("unreachable")

    def command(self, name: str, keys: Sequence[str], args: Sequence[Any]) -> tuple[Any, ...]:
        """The ``EVALSHA`` of script ``name`` as a raw command (a turn channel pipeline).

        Its caller reloads the scripts after ``NOSCRIPT`` and runs it again, once.
        """
        return ("EVALSHA", self.shas[name], len(keys), *keys, *args)

    def queue(self, pipe: Any, name: str, keys: Sequence[str], args: Sequence[Any]) -> None:
        """Queue script ``name`` on a pipeline (``run_pipeline`` reloads if needed)."""
        pipe.evalsha(self.shas[name], len(keys), *keys, *args)

    async def _evalsha(
        self, client: Any, name: str, keys: Sequence[str], args: Sequence[Any]
    ) -> Any:
        return await client.evalsha(self.shas[name], len(keys), *keys, *args)

    async def _pipelined(self, client: Any, name: str, calls: Sequence[ScriptCall]) -> list[Any]:
        pipe = client.pipeline(transaction=False)
        for keys, args in calls:
            self.queue(pipe, name, keys, args)
        return list(await pipe.execute())


#: A line ``-- @include <name>`` is replaced by ``lua/include/<name>.lua`` when a script is
#: read (the server sees, and the SHA names, the whole text): logic two scripts share, such
#: as the rate bucket spent by token_bucket.lua and by acquire.lua, has one definition.
_INCLUDE = re.compile(r"^-- @include ([a-z_]+)$", re.MULTILINE)


def _expanded(body: str, folder: Any) -> str:
    """``body`` with its include lines replaced by the included files."""

    def include(match: re.Match[str]) -> str:
        text: str = (folder / "include" / f"{match.group(1)}.lua").read_text(encoding="utf-8")
        return text.rstrip("\n")

    return _INCLUDE.sub(include, body)


#: The process's one registry.
SCRIPTS = Scripts()
