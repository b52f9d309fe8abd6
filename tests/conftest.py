"""Shared fixtures: a private home for every test, no real API settings, a loopback fake API server."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))

from fake_server import FakeServer
from fakes import FakeClock

_STRIPPED = ("NO_COLOR", "FORCE_COLOR", "TERM", "COLUMNS", "LINES", "VISUAL", "EDITOR")


@pytest.fixture(autouse=True)
def private_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Point INTERPRETER_HOME at a temp dir and strip OPENAI_* and colour settings, for every test."""
    for name in list(os.environ):
        if name.startswith("OPENAI_") or name in _STRIPPED:
            monkeypatch.delenv(name, raising=False)
    home = tmp_path / "home"
    monkeypatch.setenv("INTERPRETER_HOME", str(home))
    return home


@pytest.fixture
def server() -> Iterator[FakeServer]:
    """A fake OpenAI-compatible API on 127.0.0.1, stopped after the test."""
    with FakeServer() as fake:
        yield fake


@pytest.fixture
def clock() -> FakeClock:
    """A clock tests move by hand (a test module may give its own, starting elsewhere)."""
    return FakeClock()


@pytest.fixture
def api(clock: FakeClock) -> Iterator[FakeServer]:
    """The fake API recording arrival times on `clock`, the clock the model under test waits on."""
    with FakeServer(clock=clock) as server:
        yield server


@pytest.fixture(scope="session")
def interpreter_command() -> list[str]:
    """The installed `interpreter` console script, as a user would run it."""
    found = shutil.which("interpreter")
    if found is None:
        pytest.fail("the `interpreter` command is not installed: run README's install command first")
    return [found]


@pytest.fixture
def run_cli(
    interpreter_command: list[str], server: FakeServer, tmp_path: Path
) -> Callable[..., subprocess.CompletedProcess[str]]:
    """Run the installed CLI against the fake server, without a terminal; returns the finished process."""

    def run(
        *args: str, stdin: str | None = None, env: dict[str, str] | None = None, timeout: float = 60
    ) -> subprocess.CompletedProcess[str]:
        full_env = {**os.environ, **(env or {})}
        command = [*interpreter_command, "--api-base", server.url, "--api-key", "sk-test", *args]
        return subprocess.run(
            command,
            input=stdin,
            capture_output=True,
            text=True,
            env=full_env,
            timeout=timeout,
            cwd=tmp_path,
            check=False,
        )

    return run


@pytest.fixture(scope="session")
def redis_url() -> Iterator[str]:
    """A real redis-server on a free loopback port for the whole test run; the test is skipped without one."""
    from redis_server import REDIS_SERVER, RedisServer  # noqa: PLC0415 - only the Redis tests need it

    if REDIS_SERVER is None:
        pytest.skip("redis-server is not installed (apt-get install -y redis-server; .ci/run installs it)")
    with RedisServer() as server:
        yield server.url
