"""``agentgpt session show|list|erase``: look at and erase sessions."""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Annotated, Any

import typer

from agentgpt.cli.options import ConfigFile, Json, StoreUrl, emit, run, settings_from
from agentgpt.errors import InvalidInput

if TYPE_CHECKING:
    from agentgpt.config.settings import Settings
    from agentgpt.sessions.manager import SessionManager

SessionIdArg = Annotated[str, typer.Option("--id", help="the session id (sess_...)")]


def _manager(settings: Settings) -> SessionManager:
    from agentgpt.sessions.manager import SessionManager
    from agentgpt.store.context_store import RedisContextStore

    return SessionManager(
        store=RedisContextStore(settings.store),
        settings=settings.sessions,
        analytics_settings=settings.analytics,
    )


async def _with_manager(settings: Settings, work: Any) -> Any:
    manager = _manager(settings)
    try:
        return await work(manager)
    finally:
        await manager.aclose()
        await manager.store.aclose()


def show(
    session_id: SessionIdArg, config: ConfigFile = None, url: StoreUrl = None, as_json: Json = False
) -> None:
    """Show a session's metadata and redacted context window.

    Example: agentgpt session show --id sess_Xy... --json
    """

    async def work(manager: SessionManager) -> dict[str, Any]:
        session = await manager.load_session(session_id)
        return {
            "id": session.id,
            "owner": session.owner or session.owner_hash,
            "created_at": session.created,
            "turns": session.version,
            "closed": session.closed,
            "window": [
                {
                    "seq": x.seq,
                    "user": x.user,
                    "reply": x.reply,
                    "intent": x.intent,
                    "topic": x.topic,
                }
                for x in session.context.window
            ],
        }

    data = run(_with_manager(settings_from(config, url), work))
    lines = [
        f"session {data['id']}  owner {data['owner']}  turns {data['turns']}"
        f"{'  (closed)' if data['closed'] else ''}",
        f"created {time.strftime('%Y-%m-%d %H:%M:%S', time.localtime(data['created_at']))}",
    ]
    for x in data["window"]:
        lines += [
            f"  #{x['seq']} [{x['topic'] or '-'} / {x['intent'] or '-'}]",
            f"     customer: {x['user']}",
            f"     agent:    {x['reply']}",
        ]
    emit(data, as_json, lines)


def list_sessions(
    user: Annotated[str | None, typer.Option("--user", help="only this user's sessions")] = None,
    config: ConfigFile = None,
    url: StoreUrl = None,
    as_json: Json = False,
) -> None:
    """List a user's sessions, or count the active ones.

    Examples:
      agentgpt session list --user alice
      agentgpt session list --json
    """

    async def work(manager: SessionManager) -> dict[str, Any]:
        data: dict[str, Any] = {"active_sessions": await manager.count_active()}
        if user is not None:
            data["user"] = user
            data["sessions"] = await manager.user_sessions(user)
        return data

    data = run(_with_manager(settings_from(config, url), work))
    lines = [f"active sessions: {data['active_sessions']}"]
    lines += [f"  {sid}" for sid in data.get("sessions", [])]
    emit(data, as_json, lines)


def erase(
    session_id: Annotated[str | None, typer.Option("--id", help="erase this session")] = None,
    user: Annotated[str | None, typer.Option("--user", help="erase all of a user")] = None,
    yes: Annotated[bool, typer.Option("--yes", help="do not ask for confirmation")] = False,
    config: ConfigFile = None,
    url: StoreUrl = None,
    as_json: Json = False,
) -> None:
    """Erase a session (or all of a user's) now: data key first, then every key.

    Examples:
      agentgpt session erase --id sess_Xy... --yes
      agentgpt session erase --user alice --yes
    """
    if (session_id is None) == (user is None):
        raise InvalidInput("give exactly one of --id or --user")
    target = session_id or f"every session of {user}"
    if not yes and not typer.confirm(f"Erase {target}? This cannot be undone"):
        raise typer.Exit(1)

    async def work(manager: SessionManager) -> list[str]:
        if session_id is not None:
            await manager.erase(session_id)
            return [session_id]
        assert user is not None
        return await manager.erase_user(user)

    erased = run(_with_manager(settings_from(config, url), work))
    emit({"erased": erased}, as_json, [f"erased {len(erased)} session(s)", *erased])
