"""Wall time of starting the CLI: ``agentgpt --help`` and friends, against ``python -c pass``.

Each case runs in a fresh interpreter (the cost a person pays per command). With
``--before REV`` the same cases also run on the ``src/`` of an older revision (extracted
with ``git archive`` and put first on ``PYTHONPATH``, same interpreter and packages), the
two interleaved run by run so that load on a shared machine hits both alike.

    .venv/bin/python bench/cli_startup.py --runs 20 --before fa213bf
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

#: The least a Typer CLI with rich help pays for ``--help``: typer and its help renderer.
_TYPER_FLOOR = """
import typer
app = typer.Typer()
@app.command()
def one(name: str = "x") -> None: ...
@app.command()
def two() -> None: ...
app(["--help"], prog_name="minimal")
"""

#: name -> interpreter arguments; "python -c pass" is the floor every case pays.
CASES = {
    "python -c pass": ["-c", "pass"],
    "minimal Typer app --help": ["-c", _TYPER_FLOOR],
    "import agentgpt.cli.app": ["-c", "import agentgpt.cli.app"],
    "agentgpt --help": ["-m", "agentgpt", "--help"],
    "agentgpt session --help": ["-m", "agentgpt", "session", "--help"],
    "agentgpt token create --help": ["-m", "agentgpt", "token", "create", "--help"],
}


def _once(args: list[str], src: Path | None) -> float:
    env = dict(os.environ)
    if src is not None:
        env["PYTHONPATH"] = str(src)  # before the editable install's path entry
    started = time.perf_counter()
    subprocess.run([sys.executable, *args], env=env, stdout=subprocess.DEVNULL, check=True)
    return time.perf_counter() - started


def _extract(rev: str, into: Path) -> Path:
    archive = subprocess.run(
        ["git", "archive", rev, "src"],
        cwd=ROOT,
        capture_output=True,
        check=True,
    ).stdout
    subprocess.run(["tar", "-x", "-C", str(into)], input=archive, check=True)
    return into / "src"


def main() -> None:
    """Run every case ``--runs`` times per variant; print one JSON line: median, fastest ms."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--before", help="git revision to compare with (its src/)")
    opts = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        variants: dict[str, Path | None] = {"this tree": None}
        if opts.before:
            variants[f"before ({opts.before})"] = _extract(opts.before, Path(tmp))
        times: dict[tuple[str, str], list[float]] = {(v, c): [] for v in variants for c in CASES}
        for _ in range(opts.runs):
            for case, args in CASES.items():
                for variant, src in variants.items():
                    times[variant, case].append(_once(args, src))
    result: dict[str, object] = {
        "runs": opts.runs,
        "load_average": round(os.getloadavg()[0], 2),
        "python": sys.version.split()[0],
    }
    for (variant, case), samples in times.items():
        result[f"{case} [{variant}]"] = {
            "median_ms": round(statistics.median(samples) * 1e3, 1),
            "fastest_ms": round(min(samples) * 1e3, 1),
        }
    print(json.dumps(result))


if __name__ == "__main__":
    main()
