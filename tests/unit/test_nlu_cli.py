"""``agentgpt nlu train|eval`` in-process: output, files and exit codes."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from agentgpt.cli.app import main
from agentgpt.nlu.models import starter_dataset


@pytest.fixture
def small_data(tmp_path: Path) -> Path:
    data = starter_dataset().subset(9)
    folder = tmp_path / "data"
    folder.mkdir()
    for split, rows in (("train", range(0, len(data))), ("test", range(0, len(data), 3))):
        lines = ["text,category"] + [
            f'"{data.texts[i]}",{data.labels[i]}' for i in rows if '"' not in data.texts[i]
        ]
        (folder / f"{split}.csv").write_text("\n".join(lines) + "\n")
    return folder


def test_train_then_eval_as_json(
    small_data: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "model"
    assert main(["nlu", "train", "--data", str(small_data), "--out", str(out), "--json"]) == 0
    summary = json.loads(capsys.readouterr().out)
    assert summary["model"] == str(out)
    assert summary["labels"] == 86
    assert main(["nlu", "eval", "--data", str(small_data), "--model", str(out), "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["accuracy"] > 0.9  # the test split is a subset of the training rows
    assert set(report) >= {"accuracy", "macro_f1", "topic_accuracy", "worst_confusions"}


def test_eval_text_lists_the_worst_confusions(
    small_data: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["nlu", "eval", "--data", str(small_data), "--worst", "3"]) == 0
    out = capsys.readouterr().out
    assert "topic_accuracy" in out
    assert "macro_f1" in out


@pytest.mark.parametrize(
    ("argv", "code", "message"),
    [
        (["nlu", "eval", "--data", "/no/such/place"], 2, "no such data file or folder"),
        (["nlu", "eval", "--data", "{data}", "--model", "{data}"], 2, "not a model directory"),
        (["nlu", "train", "--data", "{data}", "--backend", "huge"], 2, "unknown backend"),
    ],
)
def test_errors_are_one_line_with_exit_codes(
    small_data: Path, argv: list[str], code: int, message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main([a.format(data=small_data) for a in argv]) == code
    err = capsys.readouterr().err
    assert message in err
    assert "Traceback" not in err
