"""`interpreter -c TASK --json`: one JSON object per event on stdout, through the installed command against the fake
server; and the JSON-lines renderer itself."""

from __future__ import annotations

import io
import json
import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from fake_server import FakeServer, Fault, RateLimit, Reply
from fakes import FakeClock

from interpreter.cli.failures import guarded
from interpreter.errors import ConfigError
from interpreter.launch import start
from interpreter.messages import CodeCell, CodeFinished, RunResult, Runtime, Waiting
from interpreter.settings.config import Settings
from interpreter.ui import make_renderer
from interpreter.ui.jsonl import JsonLinesRenderer

Run = Callable[..., subprocess.CompletedProcess[str]]


def records(result: subprocess.CompletedProcess[str]) -> list[dict[str, Any]]:
    """Every stdout line, parsed: each must be one JSON object with a type."""
    parsed = [json.loads(line) for line in result.stdout.splitlines()]
    assert all(isinstance(record, dict) and "type" in record for record in parsed), result.stdout
    return parsed


def of_type(parsed: list[dict[str, Any]], kind: str) -> list[dict[str, Any]]:
    return [record for record in parsed if record["type"] == kind]


def test_a_task_is_one_json_object_per_event(run_cli: Run, server: FakeServer) -> None:
    server.enqueue(Reply.tool_call("python", "print(6*7)", content="Computing."), Reply.text("It is 42."))

    result = run_cli("-c", "compute 6*7", "-y", "--json")

    assert result.returncode == 0, result.stderr
    parsed = records(result)
    kinds = [record["type"] for record in parsed]
    assert kinds[0] == "request_started" and kinds[-3:] == ["turn_ended", "info", "exit"]  # info: what it cost
    assert kinds.count("usage") == 2 and kinds.index("usage") < kinds.index("code_proposed")
    assert kinds.index("code_proposed") < kinds.index("code_started") < kinds.index("output")
    assert kinds.index("output") < kinds.index("code_finished") < kinds.index("request_started", 1)
    assert "".join(r["text"] for r in of_type(parsed, "text")) == "Computing.It is 42."
    assert of_type(parsed, "code_proposed") == [
        {"type": "code_proposed", "language": "python", "code": "print(6*7)", "in_text": False}
    ]
    assert "".join(r["text"] for r in of_type(parsed, "output")) == "42\n"
    (finished,) = of_type(parsed, "code_finished")
    assert finished["exit_status"] == 0 and finished["elapsed"] > 0 and finished["cut_chars"] == 0
    assert [r["step"] for r in of_type(parsed, "request_started")] == [1, 2]
    assert parsed[-3] == {"type": "turn_ended", "reason": "done", "steps": 2}
    assert parsed[-1] == {"type": "exit", "status": 0}
    assert result.stderr == ""


def test_a_failing_cell_and_an_unknown_language(run_cli: Run, server: FakeServer) -> None:
    server.enqueue(Reply.tool_calls([("shell", "echo oops; false"), ("cobol", "DISPLAY 1")]), Reply.text("Done."))

    result = run_cli("-c", "try things", "-y", "--json")

    assert result.returncode == 0, result.stderr
    parsed = records(result)
    (finished,) = of_type(parsed, "code_finished")
    assert finished["language"] == "shell" and finished["exit_status"] == 1
    (notice,) = of_type(parsed, "notice")
    assert "unknown language 'cobol'" in notice["text"]


def test_without_auto_run_code_is_declined_and_stdout_stays_json(run_cli: Run, server: FakeServer) -> None:
    server.enqueue(Reply.tool_call("python", "print('ran')"), Reply.text("Not run, fine."))

    result = run_cli("-c", "compute", "--json", stdin="y\n")

    assert result.returncode == 0, result.stderr
    parsed = records(result)
    assert "--json without -y" in parsed[0]["text"] and parsed[0]["type"] == "info"
    assert of_type(parsed, "code_declined") == [{"type": "code_declined", "language": "python", "code": "print('ran')"}]
    assert not of_type(parsed, "code_started") and not of_type(parsed, "output")
    answer = server.requests[-1].body
    assert answer is not None and answer["messages"][-1]["content"] == "The user declined to run this code."


def test_a_task_on_stdin(run_cli: Run, server: FakeServer) -> None:
    server.enqueue(Reply.text("Hello."))

    result = run_cli("-y", "--json", stdin="say hello\n")

    assert result.returncode == 0, result.stderr
    parsed = records(result)
    assert [r["text"] for r in of_type(parsed, "text")] == ["Hello."]
    assert parsed[-1] == {"type": "exit", "status": 0}


def test_a_retry_wait_is_an_event(run_cli: Run, server: FakeServer) -> None:
    server.enqueue(RateLimit.retry_after_ms(50), Reply.text("ok"))

    result = run_cli("-c", "hi", "--json")

    assert result.returncode == 0, result.stderr
    (wait,) = of_type(records(result), "waiting")
    assert wait["reason"] == "rate limited (TPM)" and wait["attempt"] == 2 and wait["attempts"] == 6
    assert wait["seconds"] >= 0.05


def test_an_api_failure_is_an_error_object_and_one_line_on_stderr(run_cli: Run, server: FakeServer) -> None:
    server.enqueue(Fault.invalid_api_key())

    result = run_cli("-c", "hi", "--json")

    assert result.returncode == 1
    parsed = records(result)
    (error,) = of_type(parsed, "error")
    assert "the API key was refused" in error["message"] and "details" not in error
    assert parsed[-1] == {"type": "exit", "status": 1}
    assert result.stderr.count("\n") == 1 and "the API key was refused" in result.stderr
    assert "Traceback" not in result.stderr


def test_max_steps_ends_the_turn_and_exits_3(run_cli: Run, server: FakeServer) -> None:
    server.enqueue(Reply.tool_call("python", "print(1)"))

    result = run_cli("-c", "loop", "-y", "--json", "--max-steps", "1")

    assert result.returncode == 3
    parsed = records(result)
    assert parsed[-3] == {"type": "turn_ended", "reason": "max_steps", "steps": 1}
    assert parsed[-1] == {"type": "exit", "status": 3}


def test_cut_output_reports_what_was_left_out_and_the_tail(
    run_cli: Run, server: FakeServer, private_home: Path
) -> None:
    private_home.mkdir(parents=True)
    (private_home / "config.toml").write_text("output_cap = 300\n")
    server.enqueue(Reply.tool_call("python", "print('a' * 1000); print('the end')"), Reply.text("Long."))

    result = run_cli("-c", "print a lot", "-y", "--json")

    assert result.returncode == 0, result.stderr
    parsed = records(result)
    (finished,) = of_type(parsed, "code_finished")
    assert finished["cut_chars"] > 0 and finished["tail"].endswith("the end\n")
    assert "the end" not in "".join(r["text"] for r in of_type(parsed, "output"))


def test_make_renderer_picks_json_lines_even_on_a_terminal() -> None:
    assert isinstance(make_renderer(io.StringIO(), terminal=True, json=True), JsonLinesRenderer)


def test_a_wait_says_the_seconds_left_by_the_clock() -> None:
    clock = FakeClock()
    out = io.StringIO()
    renderer = JsonLinesRenderer(out, clock=clock)

    renderer.handle(Waiting("rate limited (TPM)", clock() + 3.7, attempt=2, attempts=6))

    assert json.loads(out.getvalue()) == {
        "type": "waiting",
        "reason": "rate limited (TPM)",
        "seconds": 3.7,
        "attempt": 2,
        "attempts": 6,
    }


def test_details_of_an_error_only_when_verbose() -> None:
    out, err = io.StringIO(), io.StringIO()
    renderer = JsonLinesRenderer(out, errors=err, verbose=True)

    renderer.error("it broke", details="Traceback: the cause")

    assert json.loads(out.getvalue()) == {"type": "error", "message": "it broke", "details": "Traceback: the cause"}
    assert err.getvalue() == "interpreter: it broke\n"


def test_text_outside_ascii_stays_one_valid_line() -> None:
    out = io.StringIO()
    renderer = JsonLinesRenderer(out)

    renderer.info("naïve ✓\nsecond line")

    (line,) = out.getvalue().splitlines()
    assert line.isascii() and json.loads(line)["text"] == "naïve ✓\nsecond line"


def test_a_finished_cell_is_described_in_full() -> None:
    out = io.StringIO()
    result = RunResult(
        "out",
        None,
        cut_chars=5,
        tail="end\n",
        elapsed=1.23456,
        interrupted=True,
        sandboxed=True,
        runtime=Runtime("/v/bin/python", "3.12.1"),
    )

    JsonLinesRenderer(out).handle(CodeFinished(CodeCell("python", "x"), result))

    assert json.loads(out.getvalue()) == {
        "type": "code_finished",
        "language": "python",
        "exit_status": None,
        "elapsed": 1.235,
        "interrupted": True,
        "restarted": False,
        "sandboxed": True,
        "cut_chars": 5,
        "tail": "end\n",
        "interpreter": {"path": "/v/bin/python", "version": "3.12.1"},
    }


def test_json_without_a_task_is_a_usage_error(server: FakeServer, private_home: Path) -> None:
    settings = Settings(home=private_home, api_base=server.url, api_key="sk-test", json=True)

    with pytest.raises(ConfigError, match="--json needs a task"):
        start(settings, task=None, resume=None)

    assert not server.requests


def test_a_bug_outside_the_renderer_still_ends_with_error_and_exit_lines(capsys: pytest.CaptureFixture[str]) -> None:
    def bug() -> int:
        raise RuntimeError("boom")

    assert guarded(bug, verbose=False, json=True) == 1

    out, err = capsys.readouterr()
    line = "internal error: RuntimeError('boom') (run with --verbose for details)"
    assert [json.loads(text) for text in out.splitlines()] == [
        {"type": "error", "message": line},
        {"type": "exit", "status": 1},
    ]
    assert err == f"interpreter: {line}\n"
