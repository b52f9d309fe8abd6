"""The two-step task (`x = 6*7`, then `print(x)`) run by the installed command against every server flavour."""

from __future__ import annotations

import subprocess
from collections.abc import Callable

import pytest
from fake_server import FakeServer, RecordedRequest
from flavours import FLAVOURS, Flavour, Turn, script

Run = Callable[..., subprocess.CompletedProcess[str]]
PARALLEL = [flavour for flavour in FLAVOURS if flavour.parallel]


def last_request(server: FakeServer) -> RecordedRequest:
    """The last chat request the server got."""
    return [request for request in server.requests if request.path.endswith("/chat/completions")][-1]


def outputs(request: RecordedRequest) -> list[object]:
    """What the tool messages of a request's last exchange said."""
    messages = (request.body or {}).get("messages") or []
    return [message.get("content") for message in messages if message.get("role") == "tool"]


@pytest.mark.parametrize("flavour", FLAVOURS, ids=[flavour.name for flavour in FLAVOURS])
def test_the_two_step_task_prints_42_against_every_server(run_cli: Run, server: FakeServer, flavour: Flavour) -> None:
    steps = [Turn(code=("x = 6*7",)), Turn(code=("print(x)",)), Turn("x is 42.")]
    server.responder = script(flavour, steps)
    result = run_cli("-c", "set x to 6*7, then print it", "-y")
    assert result.returncode == 0, result.stderr
    assert "Traceback" not in result.stderr
    assert "42\n" in result.stdout and "x is 42." in result.stdout
    assert outputs(last_request(server))[-1] == "42\n"


@pytest.mark.parametrize("flavour", PARALLEL, ids=[flavour.name for flavour in PARALLEL])
def test_two_calls_in_one_reply_both_run_in_order(run_cli: Run, server: FakeServer, flavour: Flavour) -> None:
    server.responder = script(flavour, [Turn(code=("x = 6*7", "print(x)")), Turn("x is 42.")])
    result = run_cli("-c", "set x to 6*7 and print it", "-y")
    assert result.returncode == 0, result.stderr
    assert "x is 42." in result.stdout
    assert outputs(last_request(server)) == ["(no output)", "42\n"]
