"""Fallback models as a person meets them: the installed `interpreter` against one or two loopback fake servers.

Order and counts are read off the servers' recorded requests; the one real wait (2 s, named by a 429) is checked on
the server's arrival times, a lower bound no slowness can break.
"""

from __future__ import annotations

import json
import re
import subprocess
from collections.abc import Callable
from pathlib import Path

from fake_server import FakeServer, Fault, RateLimit, RecordedRequest
from fake_server import Reply as Scripted
from stored import conversation_files, stored_messages

Run = Callable[..., subprocess.CompletedProcess[str]]
TASK = "compute 6*7 in python"
SWITCHED = r"gpt-4 rate limited \(TPM\) for 1m0[0-6]s; using gpt-4o-mini meanwhile"  # 60 s and the jitter on it


def chat_requests(server: FakeServer) -> list[RecordedRequest]:
    return [r for r in server.requests if r.path.endswith("/chat/completions")]


def models_asked(server: FakeServer) -> list[str]:
    return [request.model for request in chat_requests(server)]


def write_settings(home: Path, text: str) -> None:
    """The settings file, private to its owner as one holding a key must be."""
    home.mkdir(parents=True, exist_ok=True)
    path = home / "config.toml"
    path.write_text(text)
    path.chmod(0o600)


def refuse_gpt_4_for_a_minute(server: FakeServer) -> None:
    """gpt-4 answers every request with a 429 naming a 60 s wait; every other model answers as scripted."""
    server.responder = lambda request: (
        RateLimit.retry_after(60) if request.model == "gpt-4" else Scripted.text("(unscripted)")
    )
    server.enqueue(Scripted.tool_call("python", "print(6*7)"), Scripted.text("The answer is 42."), model="gpt-4o-mini")


def saved_answers(home: Path) -> list[dict[str, object]]:
    (saved,) = conversation_files(home / "conversations")
    return [m for m in stored_messages(saved) if m["role"] == "assistant"]


def test_a_model_rate_limited_for_a_minute_gives_way_to_the_fallback_and_the_task_finishes(
    run_cli: Run, server: FakeServer, private_home: Path
) -> None:
    refuse_gpt_4_for_a_minute(server)

    result = run_cli("-c", TASK, "-y", "-m", "gpt-4", "--fallback-model", "gpt-4o-mini", timeout=30)

    assert result.returncode == 0, result.stdout + result.stderr
    assert models_asked(server) == ["gpt-4", "gpt-4o-mini", "gpt-4o-mini"]  # gpt-4 not asked again in its minute
    lines = result.stdout.splitlines()
    assert len([line for line in lines if re.fullmatch(SWITCHED, line)]) == 1, result.stdout
    assert "The answer is 42." in result.stdout
    assert lines[-1] == "3 requests, 1 rate limited (429), 0.0s spent waiting; by model: gpt-4 1, gpt-4o-mini 2"
    assert [answer["model"] for answer in saved_answers(private_home)] == ["gpt-4o-mini", "gpt-4o-mini"]


def test_with_json_the_switch_is_a_model_switched_event(run_cli: Run, server: FakeServer) -> None:
    refuse_gpt_4_for_a_minute(server)

    result = run_cli("-c", TASK, "-y", "--json", "-m", "gpt-4", "--fallback-model", "gpt-4o-mini", timeout=30)

    events = [json.loads(line) for line in result.stdout.splitlines()]
    [switch] = [event for event in events if event["type"] == "model_switched"]
    assert (switch["from"], switch["to"], switch["reason"], switch["back"]) == (
        "gpt-4",
        "gpt-4o-mini",
        "rate limited (TPM)",
        False,
    )
    assert 60 <= switch["seconds"] <= 66
    assert events[-1] == {"type": "exit", "status": 0}


def test_the_model_asked_for_is_asked_again_once_its_wait_has_passed(
    run_cli: Run, server: FakeServer, private_home: Path
) -> None:
    write_settings(private_home, "fallback_after = 1\n")
    server.enqueue(RateLimit.retry_after(2), Scripted.text("Back on gpt-4: 42."), model="gpt-4")
    server.enqueue(Scripted.tool_call("python", "import time; time.sleep(3); print(6*7)"), model="gpt-4o-mini")

    result = run_cli("-c", TASK, "-y", "-m", "gpt-4", "--fallback-model", "gpt-4o-mini", timeout=30)

    assert result.returncode == 0, result.stdout + result.stderr
    requests = chat_requests(server)
    assert [request.model for request in requests] == ["gpt-4", "gpt-4o-mini", "gpt-4"]
    assert requests[2].at - requests[0].at >= 2.0  # not asked again before the wait it named had passed
    assert re.search(r"^gpt-4 rate limited \(TPM\) for 2\.\ds; using gpt-4o-mini meanwhile$", result.stdout, re.M)
    assert re.search(r"^back to gpt-4: its wait has passed$", result.stdout, re.M), result.stdout
    assert [answer["model"] for answer in saved_answers(private_home)] == ["gpt-4o-mini", "gpt-4"]


def test_a_breaker_opened_by_server_errors_moves_to_a_profile_on_another_server_with_its_own_key(
    run_cli: Run, server: FakeServer, private_home: Path
) -> None:
    with FakeServer(api_key="sk-local") as local:
        write_settings(
            private_home,
            "breaker_threshold = 2\nbackoff_base = 0.01\nbackoff_cap = 0.01\n"
            f'[profiles.local]\napi_base = "{local.url}"\napi_key = "sk-local"\nmodel = "llama3"\n',
        )
        server.enqueue(Scripted.tool_call("python", "print(6*7)"))  # step 1 on gpt-4, then it goes down
        server.responder = Fault.always(Fault.server_error(503))
        local.enqueue(Scripted.text("The answer is 42."))

        result = run_cli("-c", TASK, "-y", "-m", "gpt-4", "--fallback-model", "profile:local", timeout=30)

        assert result.returncode == 0, result.stdout + result.stderr
        assert models_asked(server) == ["gpt-4"] * 3 and models_asked(local) == ["llama3"]
        assert "gpt-4 down (circuit breaker open) for 30s; using llama3 (profile local) meanwhile" in result.stdout
        assert {r.headers["authorization"] for r in local.requests} == {"Bearer sk-local"}
        assert {r.headers["authorization"] for r in server.requests} == {"Bearer sk-test"}
        sent = (local.requests[0].body or {})["messages"]
        [call] = sent[-2]["tool_calls"]  # gpt-4's call, under an id any server takes, answered under that id
        assert re.fullmatch("[A-Za-z0-9]{9}", call["id"]) and sent[-1]["tool_call_id"] == call["id"]


def test_a_refused_key_does_not_switch(run_cli: Run, server: FakeServer) -> None:
    server.responder = Fault.always(Fault.invalid_api_key())

    result = run_cli("-c", TASK, "-y", "-m", "gpt-4", "--fallback-model", "gpt-4o-mini", timeout=30)

    assert result.returncode == 1
    assert "the API key was refused" in result.stdout + result.stderr
    assert models_asked(server) == ["gpt-4"]
    assert "using gpt-4o-mini" not in result.stdout


def test_a_fallback_naming_an_unknown_profile_is_a_usage_error(run_cli: Run, server: FakeServer) -> None:
    result = run_cli("-c", TASK, "--fallback-model", "profile:nope", timeout=30)

    assert result.returncode == 2
    assert "unknown profile 'nope'" in result.stderr
    assert server.requests == []
