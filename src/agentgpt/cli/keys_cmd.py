"""``agentgpt security rotate-keys``: rotate the KEK now, re-wrap every session, retire old KEKs."""

from __future__ import annotations

import itertools
import json
import time
from typing import TYPE_CHECKING, Annotated, Any

import typer

from agentgpt.cli.options import ConfigFile, StoreUrl, run, settings_from
from agentgpt.errors import ConfigError, InvalidInput

if TYPE_CHECKING:
    from agentgpt.config.settings import Settings
    from agentgpt.operations.rewrap import Rewrapper
    from agentgpt.security.encryptor import SessionEncryptor

#: A KEK version is retired only once its successor has been primary this long, so that
#: every process has reread the keyset (they check at least once a second).
RETIRE_GRACE_S = 60.0


def rotate_keys(
    file: ConfigFile = None,
    url: StoreUrl = None,
    rotate: Annotated[
        bool, typer.Option("--rotate/--no-rotate", help="make a new KEK version primary first")
    ] = True,
    rate: Annotated[
        float, typer.Option("--rate", help="sessions per second (0: as fast as the store answers)")
    ] = 0.0,
    retire_before: Annotated[
        str | None,
        typer.Option(
            "--retire-before",
            help="then destroy KEK versions created more than this long ago (e.g. 35d, the "
            "backup horizon) if no session still needs them",
        ),
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="print the summary as JSON")] = False,
) -> None:
    """Rotate the key-encryption key and re-wrap every session's data keys under it.

    Example: agentgpt security rotate-keys --retire-before 35d --json

    Turns keep running meanwhile: each session's keyring is replaced by compare-and-set.
    """
    from agentgpt.config.durations import parse_duration

    if rate < 0:
        raise InvalidInput("--rate must be 0 (unbounded) or a positive number of sessions/s")
    try:
        horizon = parse_duration(retire_before).total_seconds() if retire_before else None
    except ValueError as exc:
        raise InvalidInput(f"--retire-before: {exc}") from None
    settings = settings_from(file, url)
    summary = run(
        _rotate(settings, rotate=rotate, rate=rate or None, horizon=horizon, quiet=as_json)
    )
    if as_json:
        typer.echo(json.dumps(summary))
        return
    for name, value in summary.items():
        if name != "errors":
            typer.echo(f"{name:>16}: {value}")
    for error in summary["errors"]:
        typer.echo(f"  unreadable: {error}")


async def _rotate(
    settings: Settings, *, rotate: bool, rate: float | None, horizon: float | None, quiet: bool
) -> dict[str, Any]:
    from rich.console import Console
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        TextColumn,
        TimeElapsedColumn,
    )

    from agentgpt.operations.rewrap import Rewrapper
    from agentgpt.security.encryptor import SessionEncryptor
    from agentgpt.sessions.key_managers import default_key_manager
    from agentgpt.store.context_store import RedisContextStore

    encryptor = default_key_manager(settings.sessions)
    if not isinstance(encryptor, SessionEncryptor):
        raise ConfigError("sessions.encryption is 'none': there are no keys to rotate")
    store = RedisContextStore(settings.store)
    try:
        before = (await encryptor.primary_kek()).id
        if rotate:
            await encryptor.rotate()
        rewrapper = Rewrapper(store, encryptor, rate=rate)
        total = await rewrapper.count_sessions()
        with Progress(
            TextColumn("re-wrapping"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            console=Console(stderr=True),
            disable=quiet,
            transient=True,
        ) as progress:
            task = progress.add_task("sessions", total=total or None)
            report = await rewrapper.run_once(lambda n: progress.advance(task, n))
        retired = await _retire(encryptor, rewrapper, horizon) if horizon is not None else []
    finally:
        await store.aclose()
    return {
        "provider": encryptor.provider.describe(),
        "kek_before": before,
        **report.as_dict(),
        "retired": retired,
    }


async def _retire(encryptor: SessionEncryptor, rewrapper: Rewrapper, horizon: float) -> list[int]:
    import asyncio  # loaded already: this runs under asyncio.run

    provider = encryptor.provider
    versions = await asyncio.to_thread(provider.versions)
    now = time.time()
    successor_created = {v.id: n.created for v, n in itertools.pairwise(versions)}
    candidates = [
        v.id
        for v in versions
        if not v.primary
        and v.created < now - horizon
        and successor_created.get(v.id, now) < now - RETIRE_GRACE_S
    ]
    if not candidates:
        return []
    in_use = await rewrapper.census()
    if in_use.get(-1):
        return []  # an unreadable keyring: retire nothing until it is understood
    retired = [v for v in candidates if not in_use.get(v)]
    for kek_id in retired:
        await asyncio.to_thread(provider.retire, kek_id)
    return retired
