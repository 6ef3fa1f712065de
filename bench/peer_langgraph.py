"""Turns in-process: ours against LangGraph (one-node graph), same sessions and concurrency.

Three figures in one run, one after the other on the same machine:

* LangGraph with ``InMemorySaver`` and with its SQLite checkpointer (``AsyncSqliteSaver``
  on a file), a one-node graph that appends a fixed reply to the thread's messages (no
  store server, no encryption, no NLU); it runs in its own virtual environment
  (``.venv-peer/``, made by this script on first use with the pinned versions below, never
  in our lock), on uvloop as ours;
* ours: ``SessionManager.handle`` with the default agent (``NLPAgent``), encryption on,
  on the embedded Valkey.

Each: ``--sessions`` threads x ``--turns`` turns, ``--concurrency`` sessions at a time
(a session's turns in order). Figures: turns/s (wall clock) and CPU ms per turn of the
process (``time.process_time``; Valkey's own CPU is reported apart for ours). On a shared
machine the wall-clock figures move with the load; the CPU figures much less. Prints one
JSON line with the ratios.

    python bench/peer_langgraph.py --sessions 1000 --turns 3 --concurrency 100
"""

from __future__ import annotations

import sys
from pathlib import Path

# a module here could shadow a stdlib one (bench/http.py did): drop this folder from the path.
_HERE = Path(__file__).resolve().parent
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != _HERE]

import argparse
import asyncio
import json
import operator
import os
import subprocess
import tempfile
import time
from typing import Annotated, Any, TypedDict

LANGGRAPH = "langgraph==1.2.22"
SQLITE_SAVER = "langgraph-checkpoint-sqlite==3.1.2"
UVLOOP = "uvloop==0.23.0"  # the event loop ours runs on (requirements/lock.txt), for both
PEER_VENV = _HERE.parent / ".venv-peer"
LINES = ("I forgot my password", "Card blocked in foreign country", "Can I get a loan?",
         "Wire transfer to my landlord please", "thanks, bye")  # fmt: skip


class State(TypedDict):
    """The peer graph's state: the thread's messages, appended to by each turn."""

    messages: Annotated[list[str], operator.add]


async def _drive(turn: Any, sessions: list[str], turns: int, concurrency: int) -> dict[str, Any]:
    """Run every session's turns, ``concurrency`` sessions at a time; time them."""
    gate = asyncio.Semaphore(concurrency)

    async def customer(sid: str) -> None:
        async with gate:
            for t in range(turns):
                await turn(sid, LINES[t % len(LINES)])

    cpu, wall = time.process_time(), time.perf_counter()
    await asyncio.gather(*(customer(s) for s in sessions))
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    n = len(sessions) * turns
    return {
        "turns": n,
        "turns_per_s": round(n / wall, 1),
        "cpu_ms_per_turn": round(cpu / n * 1000, 3),
    }


async def _langgraph(saver_kind: str, args: argparse.Namespace) -> dict[str, Any]:
    """LangGraph's side (runs inside ``.venv-peer``)."""
    from langgraph.graph import END, START, StateGraph

    def reply(state: State) -> dict[str, list[str]]:
        return {"messages": ["Thanks, I can help with that."]}

    builder = StateGraph(State)
    builder.add_node("reply", reply)
    builder.add_edge(START, "reply")
    builder.add_edge("reply", END)

    async def run(saver: Any) -> dict[str, Any]:
        graph = builder.compile(checkpointer=saver)

        async def turn(sid: str, text: str) -> None:
            await graph.ainvoke({"messages": [text]}, {"configurable": {"thread_id": sid}})

        ids = [f"thread-{i}" for i in range(args.sessions)]
        await turn("warm-up", "hello")  # as ours: the first call's set-up off the clock
        return await _drive(turn, ids, args.turns, args.concurrency)

    if saver_kind == "memory":
        from langgraph.checkpoint.memory import InMemorySaver

        return await run(InMemorySaver())
    from langgraph.checkpoint.sqlite.aio import AsyncSqliteSaver

    path = Path(tempfile.mkdtemp(prefix="peer-lg-")) / "checkpoints.sqlite"
    async with AsyncSqliteSaver.from_conn_string(str(path)) as saver:
        return await run(saver)


async def _ours(args: argparse.Namespace) -> dict[str, Any]:
    """Our side: SessionManager.handle, NLPAgent, encrypted, embedded Valkey."""
    from agentgpt import SessionManager
    from agentgpt.config.settings import SessionSettings, StoreSettings
    from agentgpt.store.context_store import RedisContextStore

    home = tempfile.mkdtemp(prefix="peer-ours-")
    store = RedisContextStore(StoreSettings(max_connections=32), home=home)
    manager = SessionManager(store=store, max_concurrent_sessions=10**7,
                             settings=SessionSettings(agent="nlp"))  # fmt: skip
    ids = [(await manager.create_session(f"peer-{i}")).id for i in range(args.sessions)]
    await manager.handle(ids[0], "hello")  # loads the model before the clock starts
    client = await store.backend.connect()
    before = await client.info("cpu")
    result = await _drive(manager.handle, ids[1:] + ids[:1], args.turns, args.concurrency)
    after = await client.info("cpu")
    valkey = sum(after[k] - before[k] for k in ("used_cpu_sys", "used_cpu_user"))
    result["valkey_cpu_ms_per_turn"] = round(valkey / result["turns"] * 1000, 3)
    await manager.aclose()
    await store.aclose()
    return result


def _peer_python() -> Path:
    """The peer environment's interpreter, made with the pinned versions on first use."""
    python = PEER_VENV / "bin" / "python"
    if not python.exists():
        subprocess.run([sys.executable, "-m", "venv", str(PEER_VENV)], check=True)
    check = subprocess.run(
        [str(python), "-m", "pip", "show", "langgraph", "langgraph-checkpoint-sqlite", "uvloop"],
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    if f"Version: {LANGGRAPH.split('==')[1]}" not in check.stdout or check.returncode:
        subprocess.run([str(python), "-m", "pip", "install", "-q", LANGGRAPH, SQLITE_SAVER,
                        UVLOOP], check=True)  # fmt: skip
    return python


def _peer(kind: str, args: argparse.Namespace) -> dict[str, Any]:
    python = _peer_python()
    command = [str(python), __file__, "--peer", kind, "--sessions", str(args.sessions),
               "--turns", str(args.turns), "--concurrency", str(args.concurrency)]  # fmt: skip
    out = subprocess.run(command, capture_output=True, text=True, check=True).stdout
    result: dict[str, Any] = json.loads(out.strip().splitlines()[-1])
    return result


def main() -> None:
    """Run the three sides, print one JSON line with the ratios."""
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--sessions", type=int, default=1000)
    parser.add_argument("--turns", type=int, default=3)
    parser.add_argument("--concurrency", type=int, default=100)
    parser.add_argument("--peer", choices=["memory", "sqlite"], help=argparse.SUPPRESS)
    args = parser.parse_args()
    import uvloop

    if args.peer:  # the child, inside .venv-peer
        print(json.dumps(uvloop.run(_langgraph(args.peer, args))))
        return

    memory = _peer("memory", args)
    sqlite = _peer("sqlite", args)
    ours = uvloop.run(_ours(args))

    def ratio(peer: dict[str, Any], key: str, invert: bool = False) -> float:
        a, b = ours[key], peer[key]
        return round(b / a if invert else a / b, 2)

    print(json.dumps({
        "langgraph": LANGGRAPH.split("==")[1], "load_average": round(os.getloadavg()[0], 1),
        "sessions": args.sessions, "turns": args.turns, "concurrency": args.concurrency,
        "langgraph_memory": memory, "langgraph_sqlite": sqlite, "ours": ours,
        "ratio_turns_per_s_vs_memory": ratio(memory, "turns_per_s"),
        "ratio_turns_per_s_vs_sqlite": ratio(sqlite, "turns_per_s"),
        "ratio_cpu_vs_memory": ratio(memory, "cpu_ms_per_turn", invert=True),
        "ratio_cpu_vs_sqlite": ratio(sqlite, "cpu_ms_per_turn", invert=True),
    }))  # fmt: skip


if __name__ == "__main__":
    main()
