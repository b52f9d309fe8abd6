"""`interpreter doctor`: each check against the loopback fake server, a server that refuses the key, one without
tool calling, one that is down; and the report as a user sees it, piped and on a terminal."""

from __future__ import annotations

import io
import os
import socket
import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest
from fake_server import Answer, FakeServer, Fault, RateLimit, RecordedRequest, Reply, ScriptedCall, closed_port
from terminal import Terminal

from interpreter import doctor
from interpreter.doctor import probe
from interpreter.doctor.check import Status
from interpreter.doctor.machine import languages_check
from interpreter.execution.languages import LANGUAGES, Language
from interpreter.settings.config import Settings

Run = Callable[..., subprocess.CompletedProcess[str]]
CALLS_THE_TOOL = Reply(calls=(ScriptedCall("execute", '{"language": "python", "code": "print(1)"}'),))


def settings_for(server_url: str, home: Path, **changes: object) -> Settings:
    values: dict[str, object] = {"api_base": server_url, "api_key": "sk-test", **changes}
    return Settings(home=home, **values)  # type: ignore[arg-type]


def report(settings: Settings, *, read_timeout: float = probe.READ_TIMEOUT) -> tuple[int, str]:
    """Run doctor as when piped: the exit status and the text."""
    out = io.StringIO()
    status = doctor.run(settings, out=out, terminal=False, read_timeout=read_timeout)
    return status, out.getvalue()


def row(text: str, name: str) -> str:
    """The report's line for check `name`, with the fix line under it when there is one."""
    lines = text.splitlines()
    index = next(i for i, line in enumerate(lines) if line.startswith(name + "  "))
    following = lines[index + 1] if index + 1 < len(lines) else ""
    return lines[index] + ("\n" + following.strip() if following.startswith(" ") else "")


def status_of(text: str, name: str) -> str:
    return row(text, name)[len(name) :].split()[0]


def without_tools(request: RecordedRequest) -> Answer:
    """A server whose model has no tool calling: a request offering tools gets a 400, one without an answer."""
    if request.body is not None and "tools" in request.body:
        return Fault.tools_unsupported()
    return Reply.text("1")


def test_a_healthy_server_passes_every_check_with_two_requests(server: FakeServer, private_home: Path) -> None:
    server.enqueue(CALLS_THE_TOOL)

    status, text = report(settings_for(server.url, private_home))

    assert status == 0, text
    for name in (
        "endpoint",
        "server",
        "API key",
        "model",
        "tool calling",
        "context window",
        "rate limits",
        "languages",
        "python",
        "home directory",
        "instructions",
    ):
        assert status_of(text, name) == "ok", text
    assert "all 14 checks passed" in text
    assert "\x1b" not in text
    models, chat = server.requests
    assert (models.method, models.path) == ("GET", "/v1/models")
    assert chat.body is not None and [t["function"]["name"] for t in chat.body["tools"]] == ["execute"]
    assert chat.body["stream"] is True and chat.body["stream_options"] == {"include_usage": True}  # as a session asks
    assert chat.headers["authorization"] == "Bearer sk-test"


def test_the_headroom_comes_from_the_rate_limit_headers(server: FakeServer, private_home: Path) -> None:
    server.enqueue(CALLS_THE_TOOL.with_headers(RateLimit.headers(limit_tokens=10_000, remaining_tokens=2_500)))

    status, text = report(settings_for(server.url, private_home))

    assert status == 0, text
    expected = "requests: 499 of 500 left, full in 0.1s; tokens: 2500 of 10000 left, full in 45s"
    assert expected in row(text, "rate limits")


def test_no_budget_left_fails_with_the_wait(server: FakeServer, private_home: Path) -> None:
    server.enqueue(CALLS_THE_TOOL.with_headers(RateLimit.headers(limit_tokens=10_000, remaining_tokens=0)))

    status, text = report(settings_for(server.url, private_home))

    assert status == 1
    assert status_of(text, "rate limits") == "FAILED"
    assert "tokens: 0 of 10000 left, full in 1m00s" in row(text, "rate limits")
    assert "fix: wait 1m00s for the budget to refill" in row(text, "rate limits")


@pytest.mark.parametrize("value", [None, "-1"])
def test_headroom_not_reported(server: FakeServer, private_home: Path, value: str | None) -> None:
    server.headers.clear()
    if value is not None:
        server.headers.update(RateLimit.unknown_headers(value))
    server.enqueue(CALLS_THE_TOOL)

    status, text = report(settings_for(server.url, private_home))

    assert status == 0, text
    assert "not reported by this server" in row(text, "rate limits")


def test_a_server_that_refuses_the_key(private_home: Path) -> None:
    with FakeServer(api_key="sk-right") as server:
        status, text = report(settings_for(server.url, private_home, api_key="sk-wrong"))

    assert status == 1
    assert status_of(text, "endpoint") == "ok"
    key = row(text, "API key")
    assert status_of(text, "API key") == "FAILED"
    assert "refused (HTTP 401): Incorrect API key provided" in key
    assert "fix: check --api-key or OPENAI_API_KEY" in key
    assert "sk-wrong" not in text
    assert status_of(text, "model") == status_of(text, "tool calling") == "skipped"
    assert "needs an accepted API key" in row(text, "model")
    assert "1 of 14 checks failed" in text


def test_a_missing_key_fails_its_check_and_the_rest_still_run(server: FakeServer, private_home: Path) -> None:
    server.enqueue(CALLS_THE_TOOL)

    status, text = report(settings_for(server.url, private_home, api_key=""))

    assert status == 1
    assert "no API key given" in row(text, "API key")
    assert "fix: pass --api-key, set OPENAI_API_KEY" in row(text, "API key")
    assert status_of(text, "tool calling") == "ok"  # this server asks for no key
    assert "authorization" not in server.requests[0].headers


def test_a_server_without_tool_calling_suggests_no_tools(server: FakeServer, private_home: Path) -> None:
    server.responder = without_tools

    status, text = report(settings_for(server.url, private_home))

    assert status == 1
    tools = row(text, "tool calling")
    assert status_of(text, "tool calling") == "FAILED"
    assert "refuses the tool (HTTP 400: registry.ollama.ai/library/gemma:2b does not support tools)" in tools
    assert "fix: use --no-tools" in tools
    assert status_of(text, "model") == "ok"
    retried = server.requests[-1].body
    assert len(server.requests) == 3 and retried is not None and "tools" not in retried


def test_a_model_that_ignores_the_tool_suggests_no_tools(server: FakeServer, private_home: Path) -> None:
    server.enqueue(Reply.text("print(1)"))

    status, text = report(settings_for(server.url, private_home))

    assert status == 1
    assert "answered in text, ignoring the offered tool" in row(text, "tool calling")
    assert "fix: use --no-tools" in row(text, "tool calling")


def test_an_unknown_model_suggests_one_the_server_lists(server: FakeServer, private_home: Path) -> None:
    server.enqueue(Fault.model_not_found("gpt-5-turbo"))

    status, text = report(settings_for(server.url, private_home, model="gpt-5-turbo"))

    assert status == 1
    model = row(text, "model")
    assert "gpt-5-turbo is not available; the server lists gpt-4o-mini, gpt-4o" in model
    assert "fix: pick a model with -m NAME (e.g. -m gpt-4o-mini)" in model
    assert status_of(text, "tool calling") == "skipped"


def test_a_server_that_is_down(private_home: Path) -> None:
    url = f"http://127.0.0.1:{closed_port()}/v1"

    status, text = report(settings_for(url, private_home))

    assert status == 1
    endpoint = row(text, "endpoint")
    assert f"{url}: cannot connect" in endpoint and "Connection refused" in endpoint
    assert "fix: check --api-base (or OPENAI_BASE_URL) and that the server is running" in endpoint
    for name in ("API key", "model", "tool calling", "rate limits"):
        assert status_of(text, name) == "skipped"
    assert status_of(text, "languages") == status_of(text, "home directory") == "ok"


def test_a_base_url_without_the_api_says_so(server: FakeServer, private_home: Path) -> None:
    status, text = report(settings_for(server.url.removesuffix("/v1"), private_home))

    assert status == 1
    assert "has no /chat/completions (HTTP 404)" in row(text, "endpoint")
    assert "fix: check --api-base: it usually ends in /v1" in row(text, "endpoint")


def test_a_rate_limited_test_request_fails_the_tool_check(server: FakeServer, private_home: Path) -> None:
    server.enqueue(RateLimit.tokens())

    status, text = report(settings_for(server.url, private_home))

    assert status == 1
    assert "rate limited now: Rate limit reached" in row(text, "tool calling")
    assert "tokens: 3647 of 10000 left" in row(text, "rate limits")


def test_a_connection_broken_by_the_server(server: FakeServer, private_home: Path) -> None:
    server.enqueue(Fault.reset())

    status, text = report(settings_for(server.url, private_home))

    assert status == 1
    assert "the test request failed: no usable answer" in row(text, "tool calling")
    assert "fix: try again; if it keeps failing" in row(text, "tool calling")


def test_a_server_that_takes_the_test_request_but_never_answers_is_a_slow_endpoint(
    server: FakeServer, private_home: Path
) -> None:
    server.enqueue(Fault.delay(3600, CALLS_THE_TOOL))  # no answer before the server stops, whatever the timeout

    status, text = report(settings_for(server.url, private_home, model="llama3.1"), read_timeout=0.2)

    assert status == 1
    endpoint = row(text, "endpoint")
    assert "answered GET /models (HTTP 200), but the test request got no answer within 0.2s (timed out)" in endpoint
    assert "fix: the server is up but slow or stuck" in endpoint
    for name in ("model", "tool calling"):  # the model is not blamed: it was never heard from
        assert status_of(text, name) == "skipped", text
        assert "the endpoint did not answer the test request in time" in row(text, name)
    assert "1 of 14 checks failed" in text


def test_a_server_that_accepts_connections_but_never_answers_is_a_slow_endpoint(private_home: Path) -> None:
    with socket.create_server(("127.0.0.1", 0)) as silent:  # the kernel completes the handshake; nobody reads
        url = f"http://127.0.0.1:{silent.getsockname()[1]}/v1"
        status, text = report(settings_for(url, private_home), read_timeout=0.2)

    assert status == 1
    endpoint = row(text, "endpoint")
    assert f"{url} took the request but sent no answer within 0.2s (timed out)" in endpoint
    assert "fix: the server is up but slow or stuck" in endpoint
    for name in ("API key", "model", "tool calling", "rate limits"):
        assert status_of(text, name) == "skipped"


def test_the_environments_key_sent_elsewhere_is_a_warning_above_the_report(
    server: FakeServer, private_home: Path
) -> None:
    server.enqueue(CALLS_THE_TOOL)
    warning = "the API key from OPENAI_API_KEY (sk-…3f9a) is sent to http://x/v1, set by --api-base; ..."

    status, text = report(settings_for(server.url, private_home, key_warning=warning))

    assert status == 0, text
    assert text.startswith(f"warning: {warning}\n")
    assert "all 14 checks passed" in text


def test_no_credit_fails_the_key_check(server: FakeServer, private_home: Path) -> None:
    server.enqueue(RateLimit.insufficient_quota())

    status, text = report(settings_for(server.url, private_home))

    assert status == 1
    assert "no credit (insufficient_quota)" in row(text, "API key")
    assert "needs an account with credit" in row(text, "tool calling")


def test_languages_name_what_is_missing() -> None:
    missing = Language("cobol", (), "no-such-cobol-compiler", ())

    found = languages_check([*LANGUAGES[:1], missing])
    nothing = languages_check([missing])

    assert found.status is Status.OK
    assert found.detail == "python; not installed: cobol (no-such-cobol-compiler)"
    assert nothing.status is Status.FAILED and nothing.fix


def test_a_home_that_cannot_be_written(server: FakeServer, tmp_path: Path) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("not a directory")
    server.enqueue(CALLS_THE_TOOL)

    status, text = report(settings_for(server.url, blocker / "home"))

    assert status == 1
    home = row(text, "home directory")
    assert "cannot create the home directory" in home
    assert "fix: fix its permissions, or set INTERPRETER_HOME to a writable directory" in home


def test_on_a_terminal_the_report_is_a_table(server: FakeServer, private_home: Path) -> None:
    server.enqueue(Reply.text("no tools here"))
    out = io.StringIO()

    status = doctor.run(settings_for(server.url, private_home), out=out, terminal=True)

    text = out.getvalue()
    assert status == 1
    assert "\x1b[" in text and "✓ ok" in text and "✗ failed" in text
    assert "fix: use --no-tools" in text
    assert "1 of 14 checks failed" in text


# ---- the installed command ----------------------------------------------------------------------------


def test_the_command_passes_against_a_healthy_server(run_cli: Run, server: FakeServer) -> None:
    server.enqueue(CALLS_THE_TOOL)

    result = run_cli("doctor")

    assert result.returncode == 0, result.stdout + result.stderr
    assert "all 14 checks passed" in result.stdout
    assert "\x1b" not in result.stdout and result.stderr == ""


def test_the_command_reports_a_refused_key(run_cli: Run, server: FakeServer) -> None:
    server.api_key = "sk-another"

    result = run_cli("doctor")

    assert result.returncode == 1
    assert "fix: check --api-key or OPENAI_API_KEY" in row(result.stdout, "API key")
    assert "Traceback" not in result.stdout + result.stderr


def test_the_command_reports_a_server_that_is_down(interpreter_command: list[str]) -> None:
    url = f"http://127.0.0.1:{closed_port()}/v1"
    command = [*interpreter_command, "doctor", "--api-base", url, "--api-key", "sk-test"]

    result = subprocess.run(command, capture_output=True, text=True, check=False, timeout=60)

    assert result.returncode == 1
    assert "Connection refused" in row(result.stdout, "endpoint")
    assert "Traceback" not in result.stdout + result.stderr


def test_the_command_runs_without_a_key(interpreter_command: list[str], server: FakeServer) -> None:
    server.enqueue(CALLS_THE_TOOL)
    command = [*interpreter_command, "doctor", "--api-base", server.url]

    result = subprocess.run(command, capture_output=True, text=True, check=False, timeout=60)

    assert result.returncode == 1, result.stderr
    assert "no API key given" in row(result.stdout, "API key")
    assert status_of(result.stdout, "tool calling") == "ok"


def test_the_command_draws_a_table_on_a_terminal(interpreter_command: list[str], server: FakeServer) -> None:
    server.enqueue(CALLS_THE_TOOL)
    terminal = Terminal(interpreter_command[0], ["doctor", "--api-base", server.url, "--api-key", "sk-test"], env={})
    try:
        terminal.wait_for("all 14 checks passed")
        assert terminal.exit_status() == 0
    finally:
        terminal.close()

    assert b"\x1b[" in terminal.written
    assert "✓ ok" in terminal.text()
    assert "fix:" not in terminal.text()


def test_the_command_warns_when_the_environments_key_goes_to_another_endpoint(
    interpreter_command: list[str], server: FakeServer
) -> None:
    server.enqueue(CALLS_THE_TOOL)
    command = [*interpreter_command, "doctor", "--api-base", server.url]
    env = {**os.environ, "OPENAI_API_KEY": "sk-env-0123456789abcdef3f9a"}

    result = subprocess.run(command, capture_output=True, text=True, check=False, timeout=60, env=env)

    assert result.returncode == 0, result.stdout + result.stderr
    first = result.stdout.splitlines()[0]
    assert first.startswith(f"warning: the API key from OPENAI_API_KEY (sk-…3f9a) is sent to {server.url}, set by")
    assert "0123456789" not in result.stdout
    assert server.requests[0].headers["authorization"] == "Bearer sk-env-0123456789abcdef3f9a"
