"""``agentgpt``: the root Typer app, error handling and exit codes.

Exit codes: 0 success; 1 integrity problem or failure; 2 bad input or unknown session;
69 store unavailable; 75 temporary (limits, locks); 77 access denied; 78 configuration.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence

import typer
from rich.console import Console

from agentgpt.cli import session_cmd
from agentgpt.cli.compact_cmd import compact
from agentgpt.cli.demo import demo
from agentgpt.cli.keys_cmd import rotate_keys
from agentgpt.cli.monitor_cmd import monitor
from agentgpt.cli.nlu_cmd import nlu_app
from agentgpt.cli.scan_cmd import scan_command
from agentgpt.cli.serve_cmd import serve
from agentgpt.cli.store_cmd import store_app
from agentgpt.cli.token_cmd import token_app
from agentgpt.cli.verify_cmd import verify
from agentgpt.errors import AgentGPTError

app = typer.Typer(
    name="agentgpt",
    help="Isolated, encrypted, concurrent support-agent sessions on the Redis protocol.",
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
app.add_typer(session_app, name="session")
app.add_typer(token_app, name="token")
security_app = typer.Typer(help="Keys, integrity and leakage checks.", no_args_is_help=True)
security_app.command("rotate-keys")(rotate_keys)
security_app.command("scan")(scan_command)
security_app.command("compact")(compact)
app.add_typer(security_app, name="security")
app.add_typer(nlu_app, name="nlu")
app.command()(demo)
app.command()(serve)

_err = Console(stderr=True)


def main(argv: Sequence[str] | None = None) -> int:
    """Run the CLI in-process; return the exit code (errors on one line, no traceback)."""
    try:
        # With standalone_mode=False click returns a command's typer.Exit code instead of
        # raising it: pass it on (verify and scan exit 1 on findings).
        code = app(args=list(argv) if argv is not None else None, standalone_mode=False)
    except AgentGPTError as exc:
        _err.print(f"[red]error:[/red] {exc}", highlight=False, soft_wrap=True)
        return exc.exit_code
    except SystemExit as exc:
        return int(exc.code or 0)
    except KeyboardInterrupt:
        return 130
    except (typer.Abort, typer.Exit) as exc:
        return int(getattr(exc, "exit_code", 1))
    except Exception as exc:
        from click import ClickException

        if isinstance(exc, ClickException):
            exc.show()
            return exc.exit_code
        raise
    return code if isinstance(code, int) else 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
