"""One rate-limit budget shared by many `interpreter -c` processes, measured in one run as ratios.

    python bench/shared_budget.py [--only sqlite-6] [--tpm 6000]

Each process does a three-cell task (three python cells, then an answer: four requests) against one loopback fake
server enforcing one tokens-per-minute budget with OpenAI's headers and 429s. Scenarios: six processes sharing one
home (the SQLite store); six split across two homes sharing one Redis; twenty on one home; six with the store `off`
(each process limits itself alone, as before the shared store). Reports tasks done, 429s, requests, and the wall
time against the least the budget allows (the bucket starts full). Targets: every task done, at most one 429 in
all, within 1.2x of the minimum. First, what the limiter costs one lone session per request, per store.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))

from fake_server import FakeServer, TokenLimits, cells  # the fakes live with the tests
from measure import median_seconds
from redis_server import REDIS_SERVER, RedisServer

from interpreter.resilience.limiter import Limiter, RateLimiter
from interpreter.resilience.shared.budget import SharedLimiter
from interpreter.resilience.shared.store import open_store

CELLS = 3
TARGET_RATIO = 1.2
TARGET_429S = 1


@dataclass(frozen=True)
class Scenario:
    """How many processes, over how many homes, with which store ("sqlite", "redis" or "off")."""

    name: str
    processes: int
    homes: int
    store: str


SCENARIOS = (
    Scenario("sqlite-6", 6, 1, "sqlite"),
    Scenario("redis-6", 6, 2, "redis"),
    Scenario("sqlite-20", 20, 1, "sqlite"),
    Scenario("off-6", 6, 1, "off"),
)


@contextmanager
def store_url(scenario: Scenario) -> Iterator[str]:
    """The store setting for `scenario`; a real redis-server for the duration when it asks for Redis."""
    if scenario.store != "redis":
        yield scenario.store
        return
    with RedisServer() as redis:
        yield redis.url


def run(scenario: Scenario, tpm: int, interpreter: str) -> None:
    """Run `scenario` against a fresh server with a full budget, and print its line."""
    with ExitStack() as stack:
        server = stack.enter_context(FakeServer(limits=TokenLimits(tokens_per_minute=tpm), responder=cells(CELLS)))
        store = stack.enter_context(store_url(scenario))
        homes = [stack.enter_context(tempfile.TemporaryDirectory(prefix="bench-home-")) for _ in range(scenario.homes)]
        start = time.monotonic()
        processes = [
            subprocess.Popen(
                [interpreter, "-c", f"task {n}: run three cells", "-y", "--api-base", server.url, "--api-key", "sk-b"],
                stdout=subprocess.DEVNULL,
                stderr=subprocess.PIPE,
                stdin=subprocess.DEVNULL,
                env={**os.environ, "INTERPRETER_HOME": homes[n % len(homes)], "INTERPRETER_RATE_LIMIT_STORE": store},
            )
            for n in range(scenario.processes)
        ]
        failures = [error for process in processes if (error := _failure(process))]
        seconds = time.monotonic() - start
        assert server.limiter is not None
        least = max(0.0, (server.limiter.tokens_charged - tpm) / (tpm / 60))
        _report(scenario, (seconds, least), len(server.requests), server.limiter.rejected, failures)


def _failure(process: subprocess.Popen[bytes]) -> str:
    """The last line a process wrote on stderr if it failed; "" if it did its task."""
    _, stderr = process.communicate(timeout=900)
    lines = stderr.decode(errors="replace").strip().splitlines()
    return (lines[-1] if lines else f"exit {process.returncode}") if process.returncode else ""


def _report(scenario: Scenario, times: tuple[float, float], requests: int, refused: int, failures: list[str]) -> None:
    """One line of figures (`times`: measured and least seconds) and a verdict; each failure's last line below it."""
    seconds, least = times
    ratio = seconds / least if least else float("nan")
    done = scenario.processes - len(failures)
    met = not failures and refused <= TARGET_429S and ratio <= TARGET_RATIO
    figures = f"{done}/{scenario.processes} tasks done  {refused:3d} 429s of {requests:3d} requests"
    timing = f"{seconds:6.1f} s  min {least:6.1f} s  {ratio:5.2f}x"
    print(f"{scenario.name:<10} {figures}  {timing}  ({'ok' if met else 'OVER TARGET'})", flush=True)
    for failure in failures:
        print(f"    lost: {failure}")


def per_request(store: str, requests: int = 500) -> float:
    """Seconds the limiter adds to one request of one lone session: a reservation, then the headers learned."""
    headers = {"x-ratelimit-limit-tokens": "30000000", "x-ratelimit-remaining-tokens": "29000000"}
    with tempfile.TemporaryDirectory(prefix="bench-home-") as home:
        opened = open_store(store, Path(home))
        limiter: Limiter = (
            RateLimiter() if opened is None else SharedLimiter(opened, lambda: "k", local=RateLimiter(), say=print)
        )

        def in_a_row() -> None:
            for _ in range(requests):
                limiter.reserve(1000)
                limiter.observe(headers)

        seconds = median_seconds(in_a_row, 5) / requests
        limiter.close()
        return seconds


def fast_path(redis_url: str | None) -> None:
    """One line: what the limiter costs a lone session per request, per store."""
    stores = ["off", "sqlite", *([redis_url] if redis_url else [])]
    costs = {("redis" if store.startswith("redis") else store): per_request(store) for store in stores}
    shown = ", ".join(f"{name} {cost * 1e6:,.0f} µs" for name, cost in costs.items())
    print(f"limiter cost per request, one session: {shown}", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", action="append", choices=[s.name for s in SCENARIOS], help="run just these")
    parser.add_argument("--tpm", type=int, default=6_000, help="the server's tokens-per-minute budget")
    args = parser.parse_args()
    interpreter = shutil.which("interpreter")
    if interpreter is None:
        sys.exit("bench: the `interpreter` command is not installed (see README)")
    with ExitStack() as stack:
        redis_url = stack.enter_context(RedisServer()).url if REDIS_SERVER else None
        fast_path(redis_url)
    print(f"three-cell tasks at {args.tpm:,} TPM; targets: all done, <= {TARGET_429S} 429, <= {TARGET_RATIO}x minimum")
    for scenario in SCENARIOS:
        if args.only and scenario.name not in args.only:
            continue
        if scenario.store == "redis" and REDIS_SERVER is None:
            print(f"{scenario.name:<10} skipped: redis-server is not installed")
            continue
        run(scenario, args.tpm, interpreter)


if __name__ == "__main__":
    main()
