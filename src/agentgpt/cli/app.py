"""``agentgpt``: the root Typer app and the one mapping of errors to exit codes.

Every command ends through ``main``: an error is one line on stderr (``error: ...``, never a
traceback) and one exit code, from this table (also in the README and ``agentgpt --help``):

====  =======================================================================================
0     success
1     a failure the command reports: a corrupt session (verify), a leakage finding (scan)
2     usage: unknown command or option, missing or bad value, an unknown session
69    store unavailable: not reachable (standalone, cluster node, TLS handshake), a cluster
      not serving every slot; the message names the store, credentials masked
75    temporary: a limit or a lock wait; retry later
77    access denied
78    configuration: missing or unreadable file, broken YAML, unknown or invalid setting
70    internal error (a bug): one line too; ``AGENTGPT_DEBUG=1`` shows the traceback
130   interrupted (Ctrl-C)
====  =======================================================================================

Start-up: building this app imports only typer, the standard library and the ``cli``
modules, which import the engine (store, sessions, NLU, server, configuration) inside the
command functions: ``agentgpt --help`` does not pay for what no command has run yet.
Typer reads only the signatures, so option types stay cheap (``cli.options``);
``tests/unit/test_cli_startup.py`` fails if a heavy module comes back at import time.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Sequence

import typer

from agentgpt.cli import session_cmd
from agentgpt.cli.compact_cmd import compact
from agentgpt.cli.demo_cmd import demo
from agentgpt.cli.e2e_cmd import e2e_identity
from agentgpt.cli.keys_cmd import rotate_keys
from agentgpt.cli.limits_cmd import limits_app
from agentgpt.cli.monitor_cmd import monitor
from agentgpt.cli.nlu_cmd import nlu_app
from agentgpt.cli.scan_cmd import scan_command
from agentgpt.cli.serve_cmd import serve
from agentgpt.cli.store_cmd import store_app
from agentgpt.cli.token_cmd import token_app
from agentgpt.cli.verify_cmd import verify
from agentgpt.errors import AgentGPTError

#: The exit codes, as ``agentgpt --help`` shows them (the table of the module docstring).
EXIT_CODES = (
    "Exit codes: 0 ok; 1 failure or finding; 2 usage error, bad input or unknown session; "
    "69 store unavailable; 70 internal error; 75 temporary (limits, locks); 77 access denied; "
    "78 configuration error. Errors are one line on stderr."
)

app = typer.Typer(
    name="agentgpt",
    help="Isolated, encrypted, concurrent support-agent sessions on the Redis protocol.",
    epilog=EXIT_CODES,
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)
session_app = typer.Typer(help="Sessions and their store.", no_args_is_help=True)
session_app.add_typer(store_app, name="store")
session_app.command("show")(session_cmd.show)
session_app.command("list")(session_cmd.list_sessions)
session_app.command("erase")(session_cmd.erase)
session_app.command("verify")(verify)
session_app.command("monitor")(monitor)
session_app.add_typer(limits_app, name="limits")
app.add_typer(session_app, name="session")
app.add_typer(token_app, name="token")
security_app = typer.Typer(help="Keys, integrity and leakage checks.", no_args_is_help=True)
security_app.command("rotate-keys")(rotate_keys)
security_app.command("scan")(scan_command)
security_app.command("compact")(compact)
security_app.command("e2e-identity")(e2e_identity)
app.add_typer(security_app, name="security")
app.add_typer(nlu_app, name="nlu")
app.command()(demo)
app.command()(serve)

#: Exit code of a bug (sysexits' EX_SOFTWARE).
EXIT_INTERNAL = 70


def _usage_error_class() -> type[Exception]:
    """Click's ``ClickException``, whichever click typer uses.

    Typer >= 0.29 raises the exceptions of its own copy of click (``typer._click``), older
    releases those of ``click``: both are bases of ``typer.BadParameter``, a public name.
    """
    for cls in typer.BadParameter.__mro__:
        if cls.__name__ == "ClickException":
            return cls
    return typer.BadParameter  # pragma: no cover - every click has ClickException


USAGE_ERROR = _usage_error_class()


def exit_for(exc: BaseException) -> tuple[int, str | None]:
    """The exit code of ``exc`` and the one line to print (None: nothing to print)."""
    if isinstance(exc, AgentGPTError):
        return exc.exit_code, str(exc)
    if isinstance(exc, USAGE_ERROR):
        return int(getattr(exc, "exit_code", 2)), _usage_line(exc)
    if isinstance(exc, typer.Exit):
        return int(exc.exit_code), None
    if isinstance(exc, typer.Abort):
        return 1, "aborted"
    if isinstance(exc, SystemExit):
        code = exc.code
        return (code if isinstance(code, int) else (0 if code is None else 1)), None
    if isinstance(exc, KeyboardInterrupt):
        return 130, None
    return EXIT_INTERNAL, (
        f"internal error ({type(exc).__name__}: {exc}); AGENTGPT_DEBUG=1 shows the traceback"
    )


def _usage_line(exc: Exception) -> str:
    format_message = getattr(exc, "format_message", None)
    message = format_message() if callable(format_message) else str(exc)
    ctx = getattr(exc, "ctx", None)
    path = getattr(ctx, "command_path", None)
    if not message:  # no_args_is_help: the help is already on stdout
        message = "missing command"
    if path:
        return f"{path}: {message} (see '{path} --help')"
    return message


def _print_error(line: str) -> None:
    # One line whatever the message holds (a library's text may span lines), and never
    # read as rich markup ("[SSL: ...]" in a TLS error is text, not a style). Rich is
    # imported here: a command that ends well never loads it.
    from rich.console import Console
    from rich.text import Text

    text = Text("error: ", style="red")
    text.append(" ".join(line.split()))
    Console(stderr=True, highlight=False, soft_wrap=True).print(text)


def main(argv: Sequence[str] | None = None) -> int:
    """Run the CLI in-process; return the exit code (errors on one line, no traceback)."""
    try:
        # With standalone_mode=False click returns a command's typer.Exit code instead of
        # raising it: pass it on (verify and scan exit 1 on findings).
        code = app(
            args=list(argv) if argv is not None else None,
            standalone_mode=False,
            prog_name="agentgpt",
        )
    except BaseException as exc:  # the one place where errors end
        if isinstance(exc, GeneratorExit):
            raise
        status, line = exit_for(exc)
        if status == EXIT_INTERNAL and os.environ.get("AGENTGPT_DEBUG"):
            raise
        if line:
            _print_error(line)
        return status
    return code if isinstance(code, int) else 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
