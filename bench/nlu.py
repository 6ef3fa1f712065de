"""NLU benchmark: accuracy and speed of both backends on BANKING77, and process() cost.

Usage: python bench/nlu.py [--data ../shared/data/banking77] [--backends fast,accurate]
Trains on train.csv only and reports on test.csv. Each backend runs in its own process so
that its load time and memory are its own. Prints one JSON line.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_DATA = os.environ.get("AGENTGPT_BANKING77", str(ROOT.parent / "shared/data/banking77"))
#: Texts per predict call when measuring batched throughput (the agent's batcher default
#: is 64; the accurate backend is also measured at 256, where the encoder pads less).
BATCHES = {"fast": (64,), "accurate": (64, 256)}


def rss_mib() -> float:
    """Resident memory of this process now (MiB)."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return round(int(line.split()[1]) / 1024, 1)
    return float("nan")


def percentile(values: list[float], q: float) -> float:
    """The q-th percentile (0-100) of ``values``."""
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q / 100 * len(ordered)))]


def train_backend(data: str, backend: str) -> dict[str, Any]:
    """Train one backend on train.csv and save it (runs in a child process)."""
    from agentgpt.nlu import classifier, dataset

    train = dataset.load(data, "train")
    started = time.perf_counter()
    trained = classifier.train(train, backend)  # type: ignore[arg-type]
    train_s = time.perf_counter() - started
    folder = Path(tempfile.mkdtemp()) / backend
    trained.save(folder)
    return {"train_s": round(train_s, 1), "model_dir": str(folder)}


def measure_backend(data: str, folder: str, backend: str, singles: int) -> dict[str, Any]:
    """Load a saved model in a fresh process and measure it on test.csv."""
    from agentgpt.nlu import classifier, dataset
    from agentgpt.nlu.evaluate import evaluate

    test = dataset.load(data, "test")
    rss_before = rss_mib()
    started = time.perf_counter()
    model = classifier.load(folder)
    model.predict(["warm up the model"])  # the accurate backend loads MiniLM on first use
    load_s = time.perf_counter() - started
    report = evaluate(model, test)
    texts = test.texts
    batched = {}
    for size in BATCHES[backend]:
        started = time.perf_counter()
        for i in range(0, len(texts), size):
            model.predict(texts[i : i + size])
        batched[f"batch_{size}"] = round(len(texts) / (time.perf_counter() - started))
    latencies = []
    for text in texts[:singles]:
        t0 = time.perf_counter()
        model.predict([text])
        latencies.append((time.perf_counter() - t0) * 1000)
    return {
        "accuracy": report.accuracy,
        "macro_f1": report.macro_f1,
        "topic_accuracy": report.topic_accuracy,
        "batched_per_s": batched,
        "single_p50_ms": round(percentile(latencies, 50), 3),
        "single_p99_ms": round(percentile(latencies, 99), 3),
        "load_s": round(load_s, 2),
        "rss_mib": rss_mib(),
        "rss_model_mib": round(rss_mib() - rss_before, 1),
    }


def measure_starter(data: str) -> dict[str, Any]:
    """Accuracy of the shipped starter model on test.csv (how far in-house data goes)."""
    from agentgpt.nlu import dataset
    from agentgpt.nlu.evaluate import evaluate
    from agentgpt.nlu.models import shared_classifier

    report = evaluate(shared_classifier(), dataset.load(data, "test"))
    return {
        "accuracy": report.accuracy,
        "macro_f1": report.macro_f1,
        "topic_accuracy": report.topic_accuracy,
    }


async def measure_process(model_dir: str | None, turns: int) -> dict[str, Any]:
    """Per-call cost of NLPAgent.process (PII, sentiment, intent, reply), one at a time."""
    from agentgpt.agents.context import Context, Exchange
    from agentgpt.agents.nlp_agent import NLPAgent
    from agentgpt.config.settings import NLUSettings

    settings = NLUSettings(model_path=Path(model_dir) if model_dir else None)
    agent = NLPAgent(settings)
    messages = [
        "I forgot my password",
        "Wire transfer to IBAN DE89 3704 0044 0532 0130 00",
        "Card blocked in foreign country",
        "My card payment was declined at the supermarket, call me on +44 20 7946 0958",
        "How long does a transfer to Germany take?",
    ]
    context = Context()
    for i in range(8):  # a full window, as in a long session
        context = context.appended(Exchange(seq=i, ts=0, user="hello", reply=f"r{i}"))
    await agent.process("warm up", context)
    latencies = []
    for i in range(turns):
        t0 = time.perf_counter()
        await agent.process(messages[i % len(messages)], context)
        latencies.append((time.perf_counter() - t0) * 1000)
    started = time.perf_counter()
    await asyncio.gather(*(agent.process(messages[i % 5], context) for i in range(2000)))
    concurrent = 2000 / (time.perf_counter() - started)
    return {
        "p50_ms": round(statistics.median(latencies), 3),
        "p99_ms": round(percentile(latencies, 99), 3),
        "concurrent_per_s": round(concurrent),
        "model": "banking77 fast" if model_dir else "starter (default)",
    }


def child(args: argparse.Namespace) -> None:
    """Run one measurement and print its JSON (``--child``)."""
    if args.child == "starter":
        out = measure_starter(args.data)
    elif args.child == "process":
        out = asyncio.run(measure_process(args.model_dir, args.turns))
    elif args.child.startswith("train-"):
        out = train_backend(args.data, args.child.removeprefix("train-"))
    else:
        out = measure_backend(args.data, args.model_dir, args.child, args.singles)
    print(json.dumps(out))


def run_child(args: argparse.Namespace, name: str, *extra: str) -> dict[str, Any]:
    """Run ``name`` in a fresh interpreter and parse its JSON line."""
    env = {**os.environ, "PYTHONPATH": str(ROOT / "src"), "HF_HUB_OFFLINE": "1"}
    command = [sys.executable, __file__, "--child", name, "--data", args.data, *extra]
    done = subprocess.run(command, env=env, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        return {"error": done.stderr.strip().splitlines()[-1] if done.stderr else "failed"}
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def main() -> None:
    """Parse arguments and run every measurement."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--data", default=DEFAULT_DATA)
    parser.add_argument("--backends", default="fast,accurate")
    parser.add_argument("--singles", type=int, default=1000)
    parser.add_argument("--turns", type=int, default=2000)
    parser.add_argument("--child")
    parser.add_argument("--model-dir")
    args = parser.parse_args()
    if args.child:
        child(args)
        return
    from agentgpt.nlu import embedding_backend

    results: dict[str, Any] = {"data": args.data, "cpus": os.cpu_count()}
    for backend in args.backends.split(","):
        if backend == "accurate" and not embedding_backend.available():
            results[backend] = {"skipped": "pip install 'agentgpt-sessions[embeddings]'"}
            continue
        trained = run_child(args, f"train-{backend}")
        if "error" in trained:
            results[backend] = trained
            continue
        measured = run_child(
            args, backend, "--singles", str(args.singles), "--model-dir", trained["model_dir"]
        )
        results[backend] = {**measured, **trained}
    results["starter"] = run_child(args, "starter")
    fast_dir = results.get("fast", {}).get("model_dir")
    results["process_starter"] = run_child(args, "process", "--turns", str(args.turns))
    if fast_dir:
        results["process_fast"] = run_child(
            args, "process", "--turns", str(args.turns), "--model-dir", fast_dir
        )
    print(json.dumps(results))


if __name__ == "__main__":
    main()
