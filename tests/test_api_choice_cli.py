"""Chat Completions or Responses, as a person meets it: the installed `interpreter` against the fake server
imitating OpenAI's models today (tests/openai_today.py). Counts and paths are read off the server's requests.
"""

from __future__ import annotations

import json
import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest
from fake_server import Answer, FakeServer, RateLimit, RecordedRequest, Reply, cells
from openai_today import OpenAIToday

from interpreter import Interpreter
from interpreter.errors import ConfigError
from interpreter.messages import TurnEnded

Run = Callable[..., subprocess.CompletedProcess[str]]
TASK = "run three steps"
SWITCHED = "note: gpt-5.1-codex answers only on the Responses API: using it"


def paths(server: FakeServer) -> list[str]:
    """The API each model request went to, in order: "chat" or "responses"."""
    return [request.wire for request in server.requests if request.method == "POST"]


def today(
    server: FakeServer,
    answers: Callable[[RecordedRequest], Answer] | None = None,
    *,
    azure: bool = False,
    responses_api: bool = True,
) -> OpenAIToday:
    """OpenAI's models today answer on `server`: a three-cell task, unless `answers` says otherwise."""
    responder = OpenAIToday(answers or cells(3), azure=azure, responses_api=responses_api)
    server.responder = responder
    return responder


def thinking_cells(count: int) -> Callable[[RecordedRequest], Answer]:
    """A task of `count` python cells on either API, each call made after reasoning (which must come back)."""

    def respond(request: RecordedRequest) -> Answer:
        ran = len(
            [item for item in (request.body or {}).get("input", []) if item.get("type") == "function_call_output"]
        )
        if ran < count:
            return Reply.tool_call("python", f"print({ran + 1})", reasoning=f"Step {ran + 1} next.")
        return Reply.text(f"All {count} cells ran.", reasoning="Done.")

    return respond


def test_a_responses_only_model_finishes_a_three_step_task_there_and_resume_continues_there(
    run_cli: Run, server: FakeServer
) -> None:
    today(server, thinking_cells(3))

    first = run_cli("-m", "gpt-5.1-codex", "-y", "-c", TASK)

    assert first.returncode == 0, first.stdout + first.stderr
    assert paths(server) == ["chat", "responses", "responses", "responses", "responses"]
    assert first.stdout.splitlines().count(SWITCHED) == 1
    assert "All 3 cells ran." in first.stdout

    sent = len(server.requests)
    again = run_cli("-m", "gpt-5.1-codex", "-y", "--resume", "-c", "and once more")

    assert again.returncode == 0, again.stdout + again.stderr
    assert paths(server)[sent:] == ["responses"]  # no refused request: the switch was remembered
    assert "Responses API" not in again.stdout  # nor said again
    resumed = (server.requests[-1].body or {})["input"]
    assert len([item for item in resumed if item.get("type") == "function_call_output"]) == 3
    assert len([item for item in resumed if item.get("type") == "reasoning"]) == 4  # every reply's reasoning back


def test_tools_with_reasoning_refused_on_chat_move_to_responses_carrying_the_effort(
    run_cli: Run, server: FakeServer
) -> None:
    responder = today(server)

    result = run_cli("-m", "gpt-5.4", "--reasoning-effort", "high", "-y", "-c", TASK)

    assert result.returncode == 0, result.stdout + result.stderr
    assert len(responder.refused) == 1 and responder.refused[0].wire == "chat"
    assert paths(server) == ["chat", "responses", "responses", "responses", "responses"]
    efforts = [(r.body or {})["reasoning"]["effort"] for r in server.requests if r.wire == "responses"]
    assert efforts == ["high"] * 4
    assert "note: gpt-5.4 takes tools with reasoning only on the Responses API: using it" in result.stdout


def test_azure_words_switch_too(run_cli: Run, server: FakeServer) -> None:
    today(server, azure=True)

    result = run_cli("-m", "gpt-5.1-codex-mini", "-y", "-c", TASK)

    assert result.returncode == 0, result.stdout + result.stderr
    assert paths(server)[:2] == ["chat", "responses"]
    assert "note: gpt-5.1-codex-mini answers only on the Responses API: using it" in result.stdout


def test_a_refused_effort_is_one_line_exit_2_and_one_request(run_cli: Run, server: FakeServer) -> None:
    today(server)

    result = run_cli("-m", "gpt-5.1", "--reasoning-effort", "minimal", "-y", "-c", TASK)

    assert result.returncode == 2
    assert result.stdout.splitlines() == [
        "error: gpt-5.1 does not take --reasoning-effort minimal; it takes none, low, medium, high"
    ]
    assert paths(server) == ["chat"]
    assert "Traceback" not in result.stderr


def test_with_json_a_refused_effort_is_an_error_event_with_the_same_words(run_cli: Run, server: FakeServer) -> None:
    today(server)

    result = run_cli("-m", "gpt-5.1", "--reasoning-effort", "minimal", "-y", "--json", "-c", TASK)

    events = [json.loads(line) for line in result.stdout.splitlines()]
    assert [event["type"] for event in events] == ["request_started", "error", "exit"]
    assert events[1]["message"] == "gpt-5.1 does not take --reasoning-effort minimal; it takes none, low, medium, high"
    assert (events[2]["status"], result.returncode) == (2, 2)


def test_with_api_chat_the_refusal_is_one_line_saying_what_to_use(
    run_cli: Run, server: FakeServer, private_home: Path
) -> None:
    today(server)

    result = run_cli("-m", "gpt-5.1-codex", "--api", "chat", "-y", "-c", TASK)

    assert result.returncode == 1
    assert result.stdout.splitlines() == [
        "error: gpt-5.1-codex answers only on the Responses API: use --api responses, or --api auto"
    ]
    assert paths(server) == ["chat"]
    assert not (private_home / "responses.json").exists()


def test_a_server_without_responses_is_one_line_and_no_loop(run_cli: Run, server: FakeServer) -> None:
    today(server, responses_api=False)

    result = run_cli("-m", "gpt-5.1-codex", "-y", "-c", TASK)

    assert result.returncode == 1
    assert result.stdout.splitlines()[-1] == (
        f"error: gpt-5.1-codex answers only on the Responses API, and {server.url} has no Responses API "
        "(HTTP 404 on /responses)"
    )
    assert paths(server) == ["chat", "responses"]


def test_api_responses_on_a_server_without_it_says_use_api_chat(run_cli: Run, server: FakeServer) -> None:
    today(server, responses_api=False)

    result = run_cli("--api", "responses", "-y", "-c", TASK)

    assert result.returncode == 1
    assert result.stdout.splitlines() == [
        f"error: {server.url} has no Responses API (HTTP 404 on /responses): use --api chat"
    ]
    assert paths(server) == ["responses"]


def test_api_responses_sends_every_request_there(run_cli: Run, server: FakeServer) -> None:
    today(server)

    result = run_cli("-m", "gpt-4o", "--api", "responses", "-y", "-c", TASK)

    assert result.returncode == 0, result.stdout + result.stderr
    assert paths(server) == ["responses"] * 4


def test_bad_values_are_one_line_exit_2_before_any_request(run_cli: Run, server: FakeServer) -> None:
    api = run_cli("--api", "completions", "-c", TASK)
    effort = run_cli("--reasoning-effort", "max", "-c", TASK)

    assert (api.returncode, effort.returncode) == (2, 2)
    assert api.stderr == "interpreter: api must be one of auto, chat, responses, not 'completions' (set by --api)\n"
    assert effort.stderr == (
        "interpreter: reasoning_effort must be one of none, minimal, low, medium, high, xhigh, not 'max' "
        "(set by --reasoning-effort)\n"
    )
    assert server.requests == []


def test_reasoning_summaries_on_responses_stream_as_reasoning_events(run_cli: Run, server: FakeServer) -> None:
    def thoughtful(request: RecordedRequest) -> Answer:
        return Reply.text("It is 42.", reasoning="Six times seven.")

    today(server, thoughtful)

    result = run_cli("-m", "gpt-5.1-codex", "-y", "--json", "-c", TASK)

    events = [json.loads(line) for line in result.stdout.splitlines()]
    thought = "".join(event["text"] for event in events if event["type"] == "reasoning")
    assert thought == "Six times seven."
    assert paths(server) == ["chat", "responses"]


def test_percent_model_shows_the_api_and_the_effort(run_cli: Run, server: FakeServer) -> None:
    today(server)
    run_cli("-m", "gpt-5.1-codex", "-y", "-c", TASK)  # learns the switch

    result = run_cli("-m", "gpt-5.1-codex", "--reasoning-effort", "low", "-c", "%model")
    plain = run_cli("-m", "gpt-4o", "-c", "%model")

    assert result.returncode == 0, result.stdout + result.stderr
    assert (
        "API: Responses API (remembered: Chat Completions refused it), reasoning effort low"
        in result.stdout.splitlines()
    )
    assert "API: Chat Completions (auto), reasoning effort as the model decides" in plain.stdout.splitlines()


def test_doctor_names_the_api_and_checks_tool_calling_on_it(run_cli: Run, server: FakeServer) -> None:
    today(server, lambda request: Reply.tool_call("python", "print(1)"))

    result = run_cli("-m", "gpt-5.1-codex", "doctor")

    assert result.returncode == 0, result.stdout + result.stderr
    rows = [" ".join(line.split()) for line in result.stdout.splitlines()]
    assert "API ok Responses API (auto: Chat Completions refuses this model)" in rows
    assert "tool calling ok the model called the test tool" in rows
    assert paths(server) == ["chat", "responses"]


def test_doctor_with_api_responses_on_a_server_without_it_fails_the_api_row_with_the_fix(
    run_cli: Run, server: FakeServer
) -> None:
    today(server, responses_api=False)

    result = run_cli("--api", "responses", "doctor")

    assert result.returncode == 1
    rows = [" ".join(line.split()) for line in result.stdout.splitlines()]
    assert "API FAILED Responses API (api = responses), but the server has no /responses (HTTP 404)" in rows
    assert 'fix: use --api chat (or api = "chat" in the settings file)' in rows
    assert "tool calling skipped needs a server with the Responses API" in rows
    assert paths(server) == ["responses"]


def test_a_fallback_model_on_the_other_api_switches_on_its_own(run_cli: Run, server: FakeServer) -> None:
    one_cell = cells(1)
    today(server, lambda request: RateLimit.retry_after(60) if request.model == "gpt-4" else one_cell(request))

    result = run_cli("-m", "gpt-4", "--fallback-model", "gpt-5.1-codex", "-y", "-c", TASK)

    assert result.returncode == 0, result.stdout + result.stderr
    asked = [(request.model, request.wire) for request in server.requests if request.method == "POST"]
    assert asked == [
        ("gpt-4", "chat"),
        ("gpt-5.1-codex", "chat"),
        ("gpt-5.1-codex", "responses"),
        ("gpt-5.1-codex", "responses"),
    ]
    assert result.stdout.splitlines().count(SWITCHED) == 1


def test_the_python_api_takes_the_api_and_the_effort(server: FakeServer) -> None:
    today(server, lambda request: Reply.text("42"))

    with Interpreter(api_base=server.url, api_key="sk-test", api="responses", reasoning_effort="low") as session:
        events = list(session.chat("6*7?"))

    assert any(isinstance(event, TurnEnded) for event in events)
    [request] = server.requests
    assert (request.wire, (request.body or {})["reasoning"]["effort"]) == ("responses", "low")
    with pytest.raises(ConfigError, match="api must be one of auto, chat, responses, not 'soap'"):
        Interpreter(api_base=server.url, api_key="sk-test", api="soap")


def test_with_json_the_switch_is_one_notice_event(run_cli: Run, server: FakeServer) -> None:
    today(server, lambda request: Reply.text("42"))

    result = run_cli("-m", "gpt-5.1-codex", "--json", "-c", TASK)

    events = [json.loads(line) for line in result.stdout.splitlines()]
    assert [event["text"] for event in events if event["type"] == "notice"] == [
        "gpt-5.1-codex answers only on the Responses API: using it"
    ]
    assert events[-1] == {"type": "exit", "status": 0}


def test_doctor_after_a_session_switched_goes_straight_to_responses(run_cli: Run, server: FakeServer) -> None:
    today(server, lambda request: Reply.tool_call("python", "print(1)"))
    run_cli("-m", "gpt-5.1-codex", "-c", TASK)  # learns the switch (the cell is declined: no -y, no terminal)
    sent = len(server.requests)

    result = run_cli("-m", "gpt-5.1-codex", "doctor")

    rows = [" ".join(line.split()) for line in result.stdout.splitlines()]
    assert "API ok Responses API (remembered: Chat Completions refused it)" in rows
    assert [request.wire for request in server.requests[sent:] if request.method == "POST"] == ["responses"]
