"""The two-step task (`x = 6*7`, then `print(x)`) run by the installed command against every server flavour."""

from __future__ import annotations

import json
import subprocess
from collections.abc import Callable

import pytest
from fake_server import FakeServer, RecordedRequest
from flavours import DEEPSEEK, FLAVOURS, LMSTUDIO, MISTRAL, Flavour, Turn, script

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


THOUGHT = "The user wants x. Six times seven is forty-two."


@pytest.mark.parametrize("flavour", [LMSTUDIO, DEEPSEEK], ids=["think-tags", "reasoning_content"])
def test_reasoning_leaves_one_line_and_verbose_keeps_its_text(
    run_cli: Run, server: FakeServer, flavour: Flavour
) -> None:
    server.responder = script(flavour, [Turn("It is 42.", thought=THOUGHT), Turn("It is 42.", thought=THOUGHT)])
    quiet, verbose = run_cli("-c", "what is 6*7?"), run_cli("-c", "what is 6*7?", "--verbose")
    assert quiet.returncode == verbose.returncode == 0, quiet.stderr + verbose.stderr
    assert "(thought for " in quiet.stdout and "forty-two" not in quiet.stdout and "It is 42." in quiet.stdout
    assert "forty-two" in verbose.stdout
    assert "think>" not in quiet.stdout + verbose.stdout
    assert last_request(server).body is not None
    assert "forty-two" not in str(last_request(server).body["messages"])  # not sent back


def test_json_gets_reasoning_events_and_never_text_for_them(run_cli: Run, server: FakeServer) -> None:
    server.responder = script(LMSTUDIO, [Turn("It is 42.", thought=THOUGHT)])
    result = run_cli("-c", "what is 6*7?", "--json")
    assert result.returncode == 0, result.stderr
    events = [json.loads(line) for line in result.stdout.splitlines()]
    assert "".join(e["text"] for e in events if e["type"] == "reasoning") == THOUGHT
    assert "".join(e["text"] for e in events if e["type"] == "text") == "It is 42."


def test_the_stream_options_adaptation_is_visible_with_verbose(run_cli: Run, server: FakeServer) -> None:
    server.responder = script(MISTRAL, [Turn(code=("print(6*7)",)), Turn("It is 42.")])
    result = run_cli("-c", "what is 6*7?", "-y", "--verbose")
    assert result.returncode == 0, result.stderr
    assert result.stderr.count("refused stream_options") == 1  # once: the second request goes without it
    assert ["stream_options" in (request.body or {}) for request in server.requests] == [True, False, False]
