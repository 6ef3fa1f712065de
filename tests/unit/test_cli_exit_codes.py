"""The one mapping of errors to exit codes (``agentgpt.cli.app.exit_for``)."""

from __future__ import annotations

import importlib

import pytest
import typer

from agentgpt import errors as E

# The module (``agentgpt.cli.app`` as an attribute is the Typer app it defines).
cli = importlib.import_module("agentgpt.cli.app")


@pytest.mark.parametrize(
    ("exc", "code"),
    [
        (E.InvalidInput("x"), 2), (E.SessionNotFound("x"), 2), (E.StoreUnavailable("x"), 69),
        (E.EmbeddedServerError("x"), 69), (E.ConfigError("x"), 78), (E.LockTimeout("x"), 75),
        (E.AccessDenied("x"), 77), (E.IntegrityError("x"), 1),
        (typer.BadParameter("x"), 2), (typer.Exit(3), 3), (typer.Abort(), 1),
        (KeyboardInterrupt(), 130), (SystemExit(4), 4), (RuntimeError("bug"), 70),
    ],
)  # fmt: skip
def test_every_error_has_its_exit_code(exc: BaseException, code: int) -> None:
    assert cli.exit_for(exc)[0] == code


def test_usage_errors_are_recognised_whichever_click_typer_uses() -> None:
    # typer >= 0.29 raises its vendored click's exceptions, older typer those of click:
    # the class is found through a public name either way.
    assert cli.USAGE_ERROR.__name__ == "ClickException"
    assert issubclass(typer.BadParameter, cli.USAGE_ERROR)


def test_an_internal_error_is_one_line_unless_debugging(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    def broken() -> None:
        raise RuntimeError("first line\nsecond line [red]not markup[/red]")

    monkeypatch.setattr(cli, "app", lambda **_: broken())
    monkeypatch.delenv("AGENTGPT_DEBUG", raising=False)
    assert cli.main(["anything"]) == 70
    err = capsys.readouterr().err
    assert err.count("\n") == 1
    assert "first line second line [red]not markup[/red]" in err
    monkeypatch.setenv("AGENTGPT_DEBUG", "1")
    with pytest.raises(RuntimeError):
        cli.main(["anything"])
