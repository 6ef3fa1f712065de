"""The Lua scripts, loaded once per server and called by SHA (single-slot each)."""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from importlib import resources
from typing import Any

from redis.exceptions import NoScriptError

EncodableT = bytes | str | int | float


class Scripts:
    """Script bodies by name with their SHA1, as the server will know them."""

    NAMES = ("acquire", "release", "extend", "create", "commit", "erase", "token_bucket",
             "cas_field", "admit", "forget_alerts", "set_fields")  # fmt: skip

    def __init__(self, names: Sequence[str] | None = None) -> None:
        """Read the bundled ``lua/*.lua`` files (``names``: another set, e.g. analytics)."""
        folder = resources.files("agentgpt.store") / "lua"
        self.bodies = {
            n: (folder / f"{n}.lua").read_text(encoding="utf-8") for n in names or self.NAMES
        }
        self.shas = {n: hashlib.sha1(b.encode()).hexdigest() for n, b in self.bodies.items()}  # noqa: S324 - the server's script id

    async def load(self, client: Any) -> None:
        """Load every script on every primary (``SCRIPT LOAD`` is broadcast on a cluster)."""
        for body in self.bodies.values():
            # On a cluster, redis-py sends SCRIPT LOAD to every primary.
            await client.script_load(body)

    async def call(
        self, client: Any, name: str, keys: Sequence[str], args: Sequence[EncodableT]
    ) -> Any:
        """Run script ``name``; reload the scripts once if the server lost them."""
        try:
            return await client.evalsha(self.shas[name], len(keys), *keys, *args)
        except NoScriptError:
            await self.load(client)
            return await client.evalsha(self.shas[name], len(keys), *keys, *args)

    def queue(self, pipe: Any, name: str, keys: Sequence[str], args: Sequence[EncodableT]) -> None:
        """Queue script ``name`` on a pipeline (scripts must be loaded already)."""
        pipe.evalsha(self.shas[name], len(keys), *keys, *args)
