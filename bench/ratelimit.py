"""Rate-limit behaviour, measured in one run against the loopback fake server enforcing 10,000 tokens a minute.

    python bench/ratelimit.py [--tasks 20]

The workload is `--tasks` requests of about 1,000 tokens each, sized to need about twice the minute's budget. Reports,
for this tool's resilience layer (limiting itself alone, and over the shared SQLite budget) and for a baseline (the
plain openai SDK with its default retries): wall time against the theoretical minimum the limit allows, 429s received,
requests sent, tasks that failed.
Target for this tool: within 1.05x of the minimum with at most one 429.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))

from fake_server import COMPLETION_ESTIMATE, FakeServer, TokenLimits  # the fake lives with the tests

from interpreter.errors import ApiError
from interpreter.messages import Message
from interpreter.model.llm import OpenAIChatModel
from interpreter.resilience.limiter import Limiter, RateLimiter
from interpreter.resilience.model import ResilientModel
from interpreter.resilience.shared.budget import SharedLimiter
from interpreter.resilience.shared.sqlite import SqliteStore

TPM = 10_000
TARGET_RATIO = 1.05
TARGET_429S = 1
PROMPT_CHARS = 3_000  # ~750 prompt tokens + the server's completion estimate: ~1,000 tokens a request


@dataclass
class Outcome:
    """One client's run: how long, what the server saw, what failed."""

    seconds: float
    requests: int
    rate_limited: int
    failed: int


def task(number: int) -> list[Message]:
    """The conversation of one task: a question padded to a known size."""
    return [Message("user", f"task {number}: " + "x" * PROMPT_CHARS)]


def run_tool(url: str, tasks: int, limiter: Limiter | None = None) -> int:
    """This tool's resilience layer around the real SDK adapter; returns the number of tasks that failed."""
    adapter = OpenAIChatModel(model="gpt-4o", api_base=url, api_key="x")
    model = ResilientModel(adapter, limiter=limiter, model_name=lambda: adapter.model)
    failed = 0
    for number in range(tasks):
        try:
            for _ in model.stream(task(number), []):
                pass
        except ApiError:
            failed += 1
    model.close()
    return failed


def run_tool_shared(url: str, tasks: int) -> int:
    """The same over the shared budget in a SQLite file, as `--rate-limit-store sqlite` (the default) runs it."""
    with tempfile.TemporaryDirectory(prefix="bench-home-") as home:
        store = SqliteStore(Path(home) / "budget.sqlite3")
        return run_tool(url, tasks, SharedLimiter(store, lambda: f"{url}|gpt-4o", local=RateLimiter(), say=print))


def run_baseline(url: str, tasks: int) -> int:
    """The plain openai SDK, default retries (it honours retry-after headers only); returns failed tasks."""
    import openai  # noqa: PLC0415 - only the baseline needs the SDK directly

    client = openai.OpenAI(api_key="x", base_url=url)
    failed = 0
    for number in range(tasks):
        try:
            messages = [m.to_dict() for m in task(number)]
            for _ in client.chat.completions.create(model="gpt-4o", messages=messages, stream=True):  # type: ignore[arg-type]
                pass
        except openai.APIError:
            failed += 1
    return failed


def measure(client: str, tasks: int) -> Outcome:
    """Run one client against a fresh server with a full budget."""
    with FakeServer(limits=TokenLimits(tokens_per_minute=TPM)) as server:
        start = time.monotonic()
        failed = CLIENTS[client](server.url, tasks)
        seconds = time.monotonic() - start
        assert server.limiter is not None
        return Outcome(seconds, len(server.requests), server.limiter.rejected, failed)


CLIENTS = {"tool": run_tool, "tool-sqlite": run_tool_shared, "baseline": run_baseline}


def minimum_seconds(tasks: int) -> float:
    """The least time the limit allows: the budget starts full, then refills at TPM/60 a second."""
    tokens = sum(-(-len(m.content) // 4) + COMPLETION_ESTIMATE for n in range(tasks) for m in task(n))
    return max(0.0, (tokens - TPM) / (TPM / 60))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tasks", type=int, default=20)
    tasks = parser.parse_args().tasks
    least = minimum_seconds(tasks)
    print(f"{tasks} tasks at {TPM:,} TPM: theoretical minimum {least:.1f} s")
    for client in CLIENTS:
        outcome = measure(client, tasks)
        ratio = outcome.seconds / least if least else float("nan")
        met = client == "baseline" or (ratio <= TARGET_RATIO and outcome.rate_limited <= TARGET_429S)
        print(
            f"{client:<11} {outcome.seconds:6.1f} s  {ratio:5.2f}x minimum  {outcome.requests:3d} requests  "
            f"{outcome.rate_limited:3d} 429s  {outcome.failed:2d} tasks failed{'' if met else '  (OVER TARGET)'}",
            flush=True,
        )
    print(f"target for the tool: within {TARGET_RATIO}x of the minimum with at most {TARGET_429S} 429")


if __name__ == "__main__":
    main()
