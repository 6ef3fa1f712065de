"""``agentgpt nlu train|eval``: train an intent model on labelled data and measure it."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Annotated, Literal

import typer

from agentgpt.errors import InvalidInput

nlu_app = typer.Typer(help="Intent models: train and evaluate.", no_args_is_help=True)

DataOption = Annotated[
    Path, typer.Option("--data", help="CSV with text,category, or a folder with train/test.csv")
]
JsonOption = Annotated[bool, typer.Option("--json", help="print one JSON object")]


@nlu_app.command("train")
def train(
    data: DataOption,
    backend: Annotated[
        str, typer.Option("--backend", help="fast (TF-IDF + linear) or accurate (+ MiniLM)")
    ] = "fast",
    out: Annotated[Path | None, typer.Option("--out", help="model directory to write")] = None,
    as_json: JsonOption = False,
) -> None:
    """Train an intent model on DATA (its train.csv if DATA is a folder) and save it.

    Example: agentgpt nlu train --data ../shared/data/banking77 --out models/b77
    """
    from rich.console import Console

    from agentgpt.config.paths import data_home
    from agentgpt.nlu import classifier, dataset

    training = dataset.load(data, "train")
    chosen = _backend(backend)
    started = time.perf_counter()
    with Console(stderr=True).status(f"training the {chosen} model on {len(training)} examples"):
        model = classifier.train(training, chosen)
    seconds = time.perf_counter() - started
    target = out or data_home() / "models" / f"{chosen}-{training.fingerprint[:16]}"
    model.save(target)
    summary = {
        "model": str(target),
        "backend": chosen,
        "examples": len(training),
        "labels": len(model.labels),
        "fingerprint": training.fingerprint,
        "seconds": round(seconds, 1),
    }
    _print(summary, as_json)
    if not as_json:
        typer.echo(f"use it with: AGENTGPT_NLU__MODEL_PATH={target}")


@nlu_app.command("eval")
def eval_(
    data: DataOption,
    model: Annotated[
        Path | None, typer.Option("--model", help="model directory (default: configured)")
    ] = None,
    worst: Annotated[int, typer.Option("--worst", min=0, help="confused pairs to list")] = 10,
    split: Annotated[
        str, typer.Option("--split", help="file of a DATA folder: test, val")
    ] = "test",
    as_json: JsonOption = False,
) -> None:
    """Evaluate a model on DATA (its test.csv if DATA is a folder).

    Prints accuracy, macro-F1, concern-topic accuracy, the share declined as out of scope
    (and, on CLINC150, in-scope accuracy and out-of-scope recall) and the most confused pairs.
    Example: agentgpt nlu eval --data ../shared/data/clinc150
    """
    import msgspec

    from agentgpt.config.loader import load_settings
    from agentgpt.nlu import classifier, corpus, dataset
    from agentgpt.nlu.evaluate import evaluate
    from agentgpt.nlu.models import shared_classifier

    # CLINC150 speaks its own intent names: map them onto the project's taxonomy first.
    test = corpus.clinc(data, split) if corpus.is_clinc(data) else dataset.load(data, split)
    chosen = classifier.load(model) if model else shared_classifier(load_settings().nlu)
    report = evaluate(chosen, test, worst=worst)
    if as_json:
        typer.echo(json.dumps(msgspec.to_builtins(report)))
        return
    summary = {k: v for k, v in msgspec.to_builtins(report).items() if k != "worst_confusions"}
    _print(summary, False)
    if report.worst_confusions:
        typer.echo("worst confusions (truth -> predicted: count):")
    for c in report.worst_confusions:
        typer.echo(f"  {c.truth} -> {c.predicted}: {c.count}")


def _backend(name: str) -> Literal["fast", "accurate"]:
    if name == "fast":
        return "fast"
    if name == "accurate":
        return "accurate"
    raise InvalidInput(f"unknown backend {name!r}; use --backend fast or --backend accurate")


def _print(summary: dict[str, object], as_json: bool) -> None:
    if as_json:
        typer.echo(json.dumps(summary))
        return
    for name, value in summary.items():
        typer.echo(f"{name:>16}: {value}")
