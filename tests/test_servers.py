"""The two-step task (`x = 6*7`, then `print(x)`) run by the installed command against every server flavour."""

from __future__ import annotations

import json
import subprocess
from collections.abc import Callable

import pytest
from fake_server import FakeServer, RecordedRequest
from flavours import (
    DEEPSEEK,
    DEEPSEEK_THOUGHT,
    FLAVOURS,
    GEMINI,
    GROQ,
    LMSTUDIO,
    MISTRAL,
    OLLAMA,
    OLLAMA_OLD,
    SIGNATURE,
    VLLM,
    Flavour,
    Turn,
    script,
)

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
    sent = last_request(server).body
    assert sent is not None
    assert "forty-two" not in str(sent["messages"])  # not sent back


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


TWO_STEPS = [Turn(code=("x = 6*7",)), Turn(code=("print(x)",)), Turn("x is 42.")]


def test_a_conversation_resumed_against_the_same_server_sends_back_what_it_asks_for(
    run_cli: Run, server: FakeServer
) -> None:
    server.responder = script(DEEPSEEK, [*TWO_STEPS, Turn(code=("print(2*42)",)), Turn("It is 84.")])
    assert run_cli("-c", "set x to 6*7, then print it", "-y").returncode == 0
    result = run_cli("--resume", "-c", "now print twice that", "-y")
    assert result.returncode == 0, result.stderr  # DeepSeek refuses a resumed history without its reasoning
    assert "84\n" in result.stdout


OWN = {DEEPSEEK.name: DEEPSEEK_THOUGHT, GEMINI.name: SIGNATURE}  # what each server put on its replies


def resumed_elsewhere(run_cli: Run, other: FakeServer, then: Flavour, task: str) -> subprocess.CompletedProcess[str]:
    """The conversation just saved, resumed with `task` against `other` answering as `then` (print(2*42), then 84)."""
    other.responder = script(then, [Turn(code=("print(2*42)",)), Turn("It is 84.")])
    return run_cli("--resume", "-c", task, "-y", "--api-base", other.url)


@pytest.mark.parametrize(
    ("first", "then"),
    [(DEEPSEEK, GEMINI), (DEEPSEEK, MISTRAL), (DEEPSEEK, GROQ), (GEMINI, MISTRAL), (GEMINI, GROQ)],
    ids=["deepseek-gemini", "deepseek-mistral", "deepseek-groq", "gemini-mistral", "gemini-groq"],
)
def test_a_conversation_resumed_against_another_server_sends_it_nothing_of_the_first_servers_own(
    run_cli: Run, server: FakeServer, first: Flavour, then: Flavour
) -> None:
    # Mistral and Groq refuse `reasoning_content`, Mistral ids not of 9 letters and digits (tests/flavours.py).
    server.responder = script(first, TWO_STEPS)
    assert run_cli("-c", "set x to 6*7, then print it", "-y").returncode == 0
    with FakeServer() as other:
        result = resumed_elsewhere(run_cli, other, then, "now print twice that")
        sent = json.dumps([request.body for request in other.requests])
    assert result.returncode == 0, result.stderr
    assert "84\n" in result.stdout
    assert OWN[first.name] not in sent


@pytest.mark.parametrize("ollama", [OLLAMA, OLLAMA_OLD], ids=["ollama", "ollama-0.4.6"])
def test_a_call_whose_arguments_are_no_json_object_is_sent_to_ollama_as_one(
    run_cli: Run, server: FakeServer, ollama: Flavour
) -> None:
    # A model may write arguments that are no JSON object (a bare string here, passed on by vLLM); Ollama refuses a
    # history holding such a call (400 "invalid tool call arguments", tests/flavours.py).
    server.responder = script(VLLM, [Turn(arguments=('"x = 6*7"',)), Turn(code=("x = 6*7",)), Turn("x is set.")])
    assert run_cli("-c", "set x to 6*7", "-y").returncode == 0
    with FakeServer() as other:
        result = resumed_elsewhere(run_cli, other, ollama, "now print twice 42")
        sent = other.requests[-1].body
    assert result.returncode == 0, result.stdout + result.stderr
    assert "84\n" in result.stdout
    assert sent is not None
    calls = [call for message in sent["messages"] for call in message.get("tool_calls") or ()]
    # what the model wrote is still there for it to read
    assert {"unparsed_arguments": '"x = 6*7"'} in [json.loads(call["function"]["arguments"]) for call in calls]


def test_calls_made_elsewhere_resumed_against_deepseek_thinking_end_in_one_line_saying_what_to_do(
    run_cli: Run, server: FakeServer
) -> None:
    # DeepSeek's thinking mode asks back the reasoning of every earlier tool call (tests/flavours.py); Gemini's calls
    # have none to give.
    server.responder = script(GEMINI, TWO_STEPS)
    assert run_cli("-c", "set x to 6*7, then print it", "-y").returncode == 0
    with FakeServer() as deepseek:
        result = resumed_elsewhere(run_cli, deepseek, DEEPSEEK, "now print twice that")
        asked = len(deepseek.requests)
    assert result.returncode == 1
    assert asked == 1
    (line,) = [line for line in (result.stdout + result.stderr).splitlines() if line.startswith("error:")]
    assert "start a new conversation, or --resume this one with the --api-base that ran them" in line
    assert "The `reasoning_content` in the thinking mode must be passed back to the API." in line
