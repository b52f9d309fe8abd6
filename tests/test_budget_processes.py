"""Several real processes on one store (a SQLite file, a real redis-server): turns in arrival order, the dead let go.

The budget refills slowly (600 TPM: 10 tokens a second), so turns come seconds apart and the order of the grants
is plain. Waits here are the budget's; a deadline only stops a stalled line from hanging the suite.
"""

from __future__ import annotations

import os
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from interpreter.errors import BudgetStoreUnavailable
from interpreter.resilience.limiter import Reading
from interpreter.resilience.shared.sqlite import SqliteStore
from interpreter.resilience.shared.store import BUDGET_FILE, open_store

WORKER = str(Path(__file__).with_name("budget_worker.py"))
STALLED = 60.0  # seconds: far beyond any wait these tests set up; a line still waiting then has stalled


@pytest.fixture(params=["sqlite", "redis"])
def setting(request: pytest.FixtureRequest) -> str:
    return "sqlite" if request.param == "sqlite" else str(request.getfixturevalue("redis_url"))


@pytest.fixture
def key(setting: str, private_home: Path) -> str:
    """A budget of its own, used up: nothing left, refilling 10 tokens a second."""
    key = f"http://127.0.0.1/v1|{uuid.uuid4().hex}|gpt-4o"
    store = open_store(setting, private_home)
    assert store is not None
    store.observe(key, "seed", [Reading("tokens", 600, 0, None)])
    store.close()
    return key


class Line:
    """Worker sessions, each its own process, sharing budget `key` in one store."""

    def __init__(self, setting: str, home: Path, key: str) -> None:
        self.setting, self.home, self.key = setting, home, key
        self.workers: list[subprocess.Popen[str]] = []

    def join(self, name: str, tokens: int) -> str:
        """Start a worker session asking for `tokens`; its first line (`queued NAME`) once it holds a place."""
        process = subprocess.Popen(
            [sys.executable, WORKER, self.setting, str(self.home), self.key, name, str(tokens)],
            stdout=subprocess.PIPE,
            text=True,
            env={**os.environ, "PYTHONPATH": str(Path(__file__).parent.parent)},
        )
        self.workers.append(process)
        assert process.stdout is not None
        return process.stdout.readline().strip()

    def grants(self) -> list[str]:
        """The names, in the order their turns came (each worker stamps its grant; they come seconds apart)."""
        stamped = []
        for process in self.workers:
            out, _ = process.communicate(timeout=STALLED)
            stamped.append(out.split())
        return [name for _, name, _ in sorted(stamped, key=lambda line: float(line[2]))]

    def stop(self) -> None:
        """Kill whatever still runs."""
        for process in self.workers:
            if process.poll() is None:
                process.kill()
            process.communicate()


@pytest.fixture
def line(setting: str, key: str, private_home: Path) -> Iterator[Line]:
    started = Line(setting, private_home, key)
    yield started
    started.stop()


def test_sessions_in_separate_processes_get_their_turns_in_arrival_order(line: Line) -> None:
    names = ["first", "second", "third", "fourth"]
    for name in names:  # each holds its place before the next one starts
        assert line.join(name, 20) == f"queued {name}"
    assert line.grants() == names


def test_a_session_killed_while_first_in_line_holds_up_nobody_for_long(line: Line) -> None:
    assert line.join("greedy", 600) == "queued greedy"  # a minute of refill
    assert line.join("modest", 10) == "queued modest"
    greedy, modest = line.workers
    greedy.kill()  # SIGKILL: no chance to leave the line
    greedy.wait()
    out, _ = modest.communicate(timeout=STALLED)  # behind a live "greedy", this would take over a minute
    assert out.startswith("granted modest")


def test_a_process_killed_inside_a_transaction_leaves_the_file_usable(private_home: Path) -> None:
    path = private_home / BUDGET_FILE
    store = SqliteStore(path, lock_wait=0.1)
    assert store.reserve("k", "a", 10).granted
    hold = "import sqlite3, sys, time; c = sqlite3.connect(sys.argv[1], isolation_level=None); c.execute('BEGIN IMMEDIATE'); print('locked', flush=True); time.sleep(600)"  # noqa: E501
    with subprocess.Popen([sys.executable, "-c", hold, str(path)], stdout=subprocess.PIPE, text=True) as holder:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "locked"
        with pytest.raises(BudgetStoreUnavailable, match="database is locked"):
            store.reserve("k", "a", 10)
        holder.kill()
    assert store.reserve("k", "a", 10).granted  # SQLite let go of the dead process's lock and transaction
    store.close()
