"""``agentgpt token create``: issue a signed API token."""

from __future__ import annotations

from typing import Annotated

import typer

from agentgpt.cli.options import Json, emit
from agentgpt.errors import InvalidInput

#: ``agentgpt.security.tokens.SCOPES``, for ``--help`` without loading the token code
#: (cryptography, the configuration) when the CLI starts; a unit test keeps them equal.
SCOPES = ("session:create", "session:read", "session:write", "session:monitor", "session:admin")

token_app = typer.Typer(help="API tokens.", no_args_is_help=True)


@token_app.command("create")
def create(
    user: Annotated[str, typer.Option("--user", help="the user (session owner) the token acts as")],
    scope: Annotated[
        list[str], typer.Option("--scope", help=f"repeatable; one of {', '.join(SCOPES)}")
    ],
    ttl: Annotated[str, typer.Option("--ttl", help="lifetime, e.g. 1h, 30m, 7d")] = "1h",
    as_json: Json = False,
) -> None:
    """Issue an Ed25519-signed token (the signing key is created on first use, mode 0600).

    Example:
      agentgpt token create --user alice --scope session:create --scope session:write --ttl 1h
    """
    from agentgpt.config.durations import parse_duration
    from agentgpt.security.tokens import TokenIssuer

    try:
        seconds = parse_duration(ttl).total_seconds()
    except ValueError as exc:
        raise InvalidInput(f"--ttl: {exc}") from None
    token = TokenIssuer().issue(user, scope, seconds)
    emit(
        {"token": token, "user": user, "scopes": sorted(set(scope)), "expires_in": int(seconds)},
        as_json,
        [token],
    )
