"""A long session against a short one: the client's own time per step at step 400 against step 20, the total, the
conversation file, and `--resume` of the long one, as ratios measured in one run.

    python bench/long_session.py [--short N] [--long N] [--runs N]

One `interpreter -c ... -y` task of N python cells (each printing ~300 characters) then an answer, against the
loopback fake server, for N = 20 and 400. A step's gap is the client's own time between the end of one answer and the
arrival of the next request (running the cell included; the server's work on a request is not: the gap runs from
when it finished answering to when the next request began to arrive); the median of the first 20 steps and of the
last 20 are set side by side, and so is the CPU time the program used a step over those steps (from /proc, in clock
ticks: a loaded machine does not stretch it as it stretches a gap of a few milliseconds; the cells' own run in the
worker, not counted). Then `--resume` of the long conversation and a new session, each with a one-line task: the
time from the command's start to its first request, median of `--runs` runs, taking turns.
Targets: step 400 within 1.5x of step 20; the long task within 1.5x of 20 short ones; `--resume` within 1.3x.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))

import fake_responses  # the fake lives with the tests
from fake_server import Answer, Exchange, FakeServer, RecordedRequest, Reply
from measure import report

STEPS = 20  # steps at each end of a task whose gaps are compared
LINE = "lorem ipsum " * 25  # a cell prints its number and this: ~300 characters
# Rate limits no request comes near: the fake server's default (30,000 TPM) would make the limiter wait, and that
# wait is not the client's work.
GENEROUS = {"x-ratelimit-limit-tokens": "100000000", "x-ratelimit-remaining-tokens": "99000000"}


def cpu_seconds(pid: int) -> float:
    """CPU seconds (user and system) the process `pid` has used so far (Linux: /proc/PID/stat)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


@dataclass(frozen=True)
class _Timed:
    """An answer that notes when it was sent whole."""

    inner: Answer
    finished: list[float]

    def answer(self, exchange: Exchange) -> None:
        self.inner.answer(exchange)
        self.finished.append(time.monotonic())


def printing_cells(
    count: int, finished: list[float], on_request: Callable[[], object] = lambda: None
) -> Callable[[RecordedRequest], Answer]:
    """A responder for a task of `count` cells, each printing ~300 characters, then an answer; each answer timed,
    `on_request()` called as each request comes."""

    def respond(request: RecordedRequest) -> Answer:
        on_request()
        body = request.body or {}
        messages = body.get("messages") or []
        ran = sum(1 for message in messages if isinstance(message, dict) and message.get("role") == "tool")
        ran += fake_responses.outputs_sent(body)
        if ran < count:
            return _Timed(Reply.tool_call("python", f"print({ran + 1}, {LINE!r})"), finished)
        return _Timed(Reply.text(f"All {count} cells ran."), finished)

    return respond


@dataclass(frozen=True)
class Task:
    """What one long task measured: its total time, the median gaps at its start and end, the CPU time a step there,
    its file's size."""

    total: float
    first: float
    last: float
    first_cpu: float
    last_cpu: float
    size: int
    conversation: str


def run_task(interpreter: str, server: FakeServer, count: int, home: Path) -> Task:
    """Run `count` cells as one task; what it measured."""
    finished: list[float] = []
    used: list[float] = []  # the program's CPU seconds as each request came
    client: list[int] = []  # its pid
    server.responder = printing_cells(count, finished, lambda: used.append(cpu_seconds(client[0])))
    before = len(server.requests)
    start = time.monotonic()
    command = [interpreter, "-c", "run the cells", "-y", "--api-base", server.url, "--api-key", "x"]
    command += ["--max-steps", str(count + 1)]
    with subprocess.Popen(command, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL) as process:
        client.append(process.pid)
        if process.wait():
            sys.exit(f"bench: the task failed (exit {process.returncode})")
    total = time.monotonic() - start
    arrived = [request.at for request in server.requests[before:]]
    gaps = [arrived[index + 1] - finished[index] for index in range(len(arrived) - 1)]
    path = newest_conversation(home)
    first, last = statistics.median(gaps[:STEPS]), statistics.median(gaps[-STEPS:])
    first_cpu, last_cpu = (used[STEPS] - used[0]) / STEPS, (used[-1] - used[-1 - STEPS]) / STEPS
    return Task(total, first, last, first_cpu, last_cpu, path.stat().st_size, path.name.split(".", 1)[0])


def newest_conversation(home: Path) -> Path:
    """The conversation file written last (whatever its format's suffix)."""
    files = [path for path in (home / "conversations").iterdir() if not path.name.startswith(".")]
    return max(files, key=lambda path: path.stat().st_mtime)


def first_request(interpreter: str, server: FakeServer, *flags: str) -> float:
    """Seconds from starting `interpreter -c` (with `flags`) to its first request."""
    server.responder = lambda request: Reply.text("Done.")
    before = len(server.requests)
    start = time.monotonic()
    command = [interpreter, "-c", "one more thing", "-y", "--api-base", server.url, "--api-key", "x", *flags]
    subprocess.run(command, check=True, capture_output=True, stdin=subprocess.DEVNULL)
    return server.requests[before].at - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--short", type=int, default=20)
    parser.add_argument("--long", type=int, default=400)
    parser.add_argument("--runs", type=int, default=5)
    options = parser.parse_args()
    interpreter = shutil.which("interpreter")
    if interpreter is None:
        sys.exit("bench: the `interpreter` command is not installed (see README)")
    home = Path(tempfile.mkdtemp(prefix="bench-home-"))
    os.environ["INTERPRETER_HOME"] = str(home)
    with FakeServer() as server:
        server.headers.update(GENEROUS)
        short = run_task(interpreter, server, options.short, home)
        long = run_task(interpreter, server, options.long, home)
        resumed, new = [], []
        for _ in range(options.runs):
            resumed.append(first_request(interpreter, server, "--resume", long.conversation))
            new.append(first_request(interpreter, server))
    for count, task in ((options.short, short), (options.long, long)):
        print(
            f"{count:>4} cells: {task.total:6.2f} s in all, step gap {task.first * 1000:6.1f} ms (first {STEPS})"
            f" {task.last * 1000:6.1f} ms (last {STEPS}), conversation file {task.size / 1024:,.0f} KiB"
        )
    report(f"step gap, last {STEPS} of {options.long}", long.last, f"first {STEPS}", long.first, 1.5, ms=True)
    label = f"step CPU, last {STEPS} of {options.long}"
    report(label, long.last_cpu, f"first {STEPS}", long.first_cpu, 1.5, ms=True)
    scale = options.long / options.short
    report(f"{options.long} cells in all", long.total, f"{scale:g} x {options.short} cells", short.total * scale, 1.5)
    label = f"--resume ({options.long} cells)"
    report(label, statistics.median(resumed), "a new session", statistics.median(new), 1.3, ms=True)


if __name__ == "__main__":
    main()
