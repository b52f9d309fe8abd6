"""The installed `interpreter` command, run as a user would (no terminal), against the loopback fake server."""

from __future__ import annotations

import os
import re
import signal
import stat
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import cast

import psutil
import pytest
from fake_server import FakeServer, Fault, RecordedRequest, Reply
from stored import conversation_files, stored_messages

Run = Callable[..., subprocess.CompletedProcess[str]]


def chat_requests(server: FakeServer) -> list[RecordedRequest]:
    return [r for r in server.requests if r.path.endswith("/chat/completions")]


def last_message(request: RecordedRequest) -> dict[str, object]:
    assert request.body is not None
    return cast("dict[str, object]", request.body["messages"][-1])


def assert_one_clear_line(result: subprocess.CompletedProcess[str], expected: str) -> None:
    assert "Traceback" not in result.stderr + result.stdout
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, result.stderr
    assert expected in lines[0]


def test_a_python_task_runs_end_to_end(run_cli: Run, server: FakeServer) -> None:
    call = Reply.tool_call("python", "print(6*7)")
    server.enqueue(call, Reply.text("The answer is **42**."))

    result = run_cli("-c", "compute 6*7 in python", "-y")

    assert result.returncode == 0, result.stderr
    assert "print(6*7)" in result.stdout
    assert "42\n" in result.stdout
    assert "The answer is" in result.stdout and "42" in result.stdout.split("The answer is")[1]
    assert "\x1b" not in result.stdout  # piped: plain text
    first, second = chat_requests(server)
    assert first.streaming and [t["function"]["name"] for t in first.body["tools"]] == ["execute"]  # type: ignore[index]
    assert first.body["messages"][0]["role"] == "system"  # type: ignore[index]
    assert len(first.body["messages"][0]["content"]) < 2000  # type: ignore[index]  # well under 500 tokens
    assert last_message(second) == {"role": "tool", "content": "42\n", "tool_call_id": call.calls[0].id}


def test_no_tools_runs_fenced_code_and_answers_as_the_user(run_cli: Run, server: FakeServer) -> None:
    server.enqueue(Reply.text("Computing:\n\n```python\nprint(6*7)\n```\n"), Reply.text("It is 42."))

    result = run_cli("-c", "compute 6*7 in python", "-y", "--no-tools")

    assert result.returncode == 0, result.stderr
    first, second = chat_requests(server)
    assert "tools" not in first.body  # type: ignore[operator]
    feedback = last_message(second)
    assert feedback["role"] == "user" and "42" in str(feedback["content"])
    assert "It is 42." in result.stdout


def test_a_shell_task(run_cli: Run, server: FakeServer) -> None:
    server.enqueue(Reply.tool_call("shell", "cd / && echo hello-$((6*7)) && pwd"), Reply.text("Done."))
    result = run_cli("-c", "say hello", "-y")
    assert result.returncode == 0, result.stderr
    assert last_message(chat_requests(server)[1])["content"] == "hello-42\n/\n"


def test_the_second_cell_uses_a_variable_from_the_first(run_cli: Run, server: FakeServer) -> None:
    server.enqueue(
        Reply.tool_call("python", "x = 6*7"),
        Reply.tool_call("python", "print(x)"),
        Reply.text("x is 42."),
    )
    result = run_cli("-c", "two steps", "-y")
    assert result.returncode == 0, result.stderr
    requests = chat_requests(server)
    assert len(requests) == 3
    assert last_message(requests[2])["content"] == "42\n"


def test_without_auto_run_and_no_input_the_code_is_declined(run_cli: Run, server: FakeServer, tmp_path: Path) -> None:
    server.enqueue(Reply.tool_call("shell", "touch should-not-exist"), Reply.text("Okay, I did not run it."))
    result = run_cli("-c", "make a file", stdin="")
    assert result.returncode == 0, result.stderr
    assert "Run this code? [y/N/e]" in result.stdout
    assert "declined" in str(last_message(chat_requests(server)[1])["content"])
    assert not (tmp_path / "should-not-exist").exists()


def test_answering_y_on_stdin_runs_the_code(run_cli: Run, server: FakeServer) -> None:
    server.enqueue(Reply.tool_call("python", "print('ran')"), Reply.text("ok"))
    result = run_cli("-c", "run it", stdin="y\n")
    assert result.returncode == 0, result.stderr
    assert last_message(chat_requests(server)[1])["content"] == "ran\n"


def test_max_steps_reached_exits_3(run_cli: Run, server: FakeServer) -> None:
    server.enqueue(*[Reply.tool_call("python", f"print({i})") for i in range(2)])
    result = run_cli("-c", "loop", "-y", "--max-steps", "2")
    assert result.returncode == 3
    assert len(chat_requests(server)) == 2
    assert "--max-steps" in result.stdout


def test_code_reading_stdin_gets_end_of_input_at_once(run_cli: Run, server: FakeServer) -> None:
    server.enqueue(Reply.tool_call("python", "input('name? ')"), Reply.text("It could not read input."))
    result = run_cli("-c", "ask me", "-y", timeout=30)
    assert result.returncode == 0
    assert "EOFError" in str(last_message(chat_requests(server)[1])["content"])


def test_fifty_megabytes_of_output_is_capped(run_cli: Run, server: FakeServer) -> None:
    code = "import sys\nfor i in range(50_000):\n    sys.stdout.write(f'{i:08d}' + 'x' * 992 + '\\n')"
    server.enqueue(Reply.tool_call("python", code), Reply.text("That was a lot."))
    result = run_cli("-c", "print a lot", "-y", timeout=90)
    assert result.returncode == 0, result.stderr
    assert len(result.stdout) < 100_000
    sent = str(last_message(chat_requests(server)[1])["content"])
    assert len(sent) < 20_000
    assert sent.startswith("00000000x") and "00049999x" in sent and "cut" in sent


def test_a_language_that_is_not_installed_is_told_to_the_model(
    run_cli: Run, server: FakeServer, tmp_path: Path
) -> None:
    server.enqueue(Reply.tool_call("javascript", "console.log(42)"), Reply.text("No node here."))
    empty = tmp_path / "empty-bin"
    empty.mkdir()
    result = run_cli("-c", "use js", "-y", env={"PATH": str(empty)})
    assert result.returncode == 0, result.stderr
    assert "node" in result.stdout
    assert "not available" in str(last_message(chat_requests(server)[1])["content"])


def test_the_conversation_is_saved_privately_without_the_key(
    run_cli: Run, server: FakeServer, private_home: Path
) -> None:
    server.enqueue(Reply.tool_call("python", "print(1)"), Reply.text("one"))
    assert run_cli("-c", "count", "-y").returncode == 0
    (saved,) = conversation_files(private_home / "conversations")
    assert stat.S_IMODE(saved.stat().st_mode) == 0o600
    assert "sk-test" not in saved.read_text()
    assert [m["role"] for m in stored_messages(saved)] == ["user", "assistant", "tool", "assistant"]


def test_resume_continues_the_latest_conversation(run_cli: Run, server: FakeServer) -> None:
    server.enqueue(Reply.text("Noted: the number is 7."))
    assert run_cli("-c", "remember the number 7").returncode == 0
    server.enqueue(Reply.text("It was 7."))
    result = run_cli("--resume", "-c", "what was the number?")
    assert result.returncode == 0, result.stderr
    contents = [m["content"] for m in chat_requests(server)[1].body["messages"]]  # type: ignore[index]
    assert contents[1:] == ["remember the number 7", "Noted: the number is 7.", "what was the number?"]
    assert "remember the number 7" in result.stdout  # the earlier turn is shown


def test_resume_with_an_unknown_id_is_a_usage_error(run_cli: Run) -> None:
    result = run_cli("--resume", "nope", "-c", "x")
    assert result.returncode == 2
    assert_one_clear_line(result, "no conversation 'nope'")


def test_copy_without_resume_is_a_usage_error(run_cli: Run) -> None:
    result = run_cli("--copy", "-c", "x")
    assert result.returncode == 2
    assert_one_clear_line(result, "--copy goes with --resume: interpreter --resume ID --copy")


def test_no_api_key_is_one_line_and_exit_2(interpreter_command: list[str]) -> None:
    result = subprocess.run([*interpreter_command, "-c", "hi"], capture_output=True, text=True, check=False, timeout=30)
    assert result.returncode == 2
    assert_one_clear_line(result, "no API key")


def test_an_unreachable_server_is_one_line_and_exit_1(interpreter_command: list[str]) -> None:
    command = [
        *interpreter_command,
        "-c",
        "hi",
        "--api-base",
        "http://127.0.0.1:9/v1",
        "--api-key",
        "x",
        "--max-retries",
        "0",
    ]
    result = subprocess.run(command, capture_output=True, text=True, check=False, timeout=60)
    assert result.returncode == 1
    assert "cannot reach the API at http://127.0.0.1:9/v1" in result.stdout + result.stderr
    assert "Traceback" not in result.stdout + result.stderr


def test_an_unknown_flag_is_one_line_and_exit_2(interpreter_command: list[str]) -> None:
    result = subprocess.run([*interpreter_command, "--bogus"], capture_output=True, text=True, check=False, timeout=30)
    assert result.returncode == 2
    assert_one_clear_line(result, "--bogus")


def test_a_refused_key_says_so(run_cli: Run, server: FakeServer) -> None:
    server.enqueue(Fault.status(401, {"error": {"message": "Incorrect API key", "code": "invalid_api_key"}}))
    result = run_cli("-c", "hi")
    assert result.returncode == 1
    assert "API key was refused" in result.stdout + result.stderr
    assert "Traceback" not in result.stdout + result.stderr


@pytest.mark.parametrize("launcher", [[], [sys.executable, "-m", "interpreter"]])
def test_version(interpreter_command: list[str], launcher: list[str]) -> None:
    result = subprocess.run(
        [*(launcher or interpreter_command), "--version"], capture_output=True, text=True, check=False
    )
    assert result.returncode == 0
    assert result.stdout.startswith("steady-interpreter ")


def test_help_names_the_options(interpreter_command: list[str]) -> None:
    result = subprocess.run(
        [*interpreter_command, "--help"], capture_output=True, text=True, check=False, env=os.environ
    )
    assert result.returncode == 0
    for option in (
        "--command",
        "--model",
        "--api-base",
        "--api-key",
        "--auto-run",
        "--max-steps",
        "--no-tools",
        "--resume",
        "--verbose",
        "--version",
    ):
        assert option in result.stdout


def test_verbose_shows_the_cause_behind_the_line(interpreter_command: list[str]) -> None:
    command = [*interpreter_command, "-c", "hi", "--api-base", "http://127.0.0.1:9/v1", "--api-key", "x", "--verbose"]
    command += ["--max-retries", "0"]
    result = subprocess.run(command, capture_output=True, text=True, timeout=60, check=False)
    assert result.returncode == 1
    assert "cannot reach the API" in result.stdout
    assert "ConnectError" in result.stdout  # the cause, from the HTTP layer


def test_ctrl_c_in_one_task_mode_exits_130_and_leaves_nothing_running(
    interpreter_command: list[str], server: FakeServer, tmp_path: Path
) -> None:
    marker = tmp_path / "started"
    server.enqueue(
        Reply.tool_call("python", f"import time, pathlib\npathlib.Path({str(marker)!r}).touch()\ntime.sleep(60)")
    )
    command = [*interpreter_command, "-c", "wait", "-y", "--api-base", server.url, "--api-key", "x"]
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 30
        while not marker.exists() and time.monotonic() < deadline:
            time.sleep(0.05)
        assert marker.exists(), "the cell never started"
        children = psutil.Process(process.pid).children(recursive=True)
        assert children, "the python worker should be running"
        process.send_signal(signal.SIGINT)
        stdout, _ = process.communicate(timeout=30)
    finally:
        process.kill()
    assert process.returncode == 130
    assert "cancelled" in stdout
    _, alive = psutil.wait_procs(children, timeout=5)
    assert alive == []


def test_a_bad_settings_file_is_one_line_and_exit_2(run_cli: Run, private_home: Path) -> None:
    private_home.mkdir(parents=True, exist_ok=True)
    (private_home / "config.toml").write_text("max_retires = 3\n")
    result = run_cli("-c", "hi")
    assert result.returncode == 2
    assert_one_clear_line(result, "unknown setting 'max_retires'")


def test_the_diagnostics_log_records_retries_and_never_the_key(
    run_cli: Run, server: FakeServer, private_home: Path
) -> None:
    server.enqueue(Fault.status(503, {"error": {"message": "overloaded"}}), Reply.text("Fine now."))
    result = run_cli("-c", "hi", "--verbose")
    assert result.returncode == 0, result.stderr
    log = (private_home / "logs" / "interpreter.log").read_text()
    assert "attempt 1 failed: server error 503" in log
    assert "x-ratelimit-remaining-tokens" in log
    assert "sk-test" not in log
    assert "attempt 1 failed" in result.stderr  # --verbose shows the log as it happens
    assert "1 rate limited" not in result.stdout and "2 requests" in result.stdout  # the traffic summary


def test_timeout_stops_a_cell_that_runs_too_long(run_cli: Run, server: FakeServer) -> None:
    server.enqueue(Reply.tool_call("python", "import time\nwhile True: time.sleep(0.1)"), Reply.text("It timed out."))
    result = run_cli("-c", "loop", "-y", "--timeout", "1")
    assert result.returncode == 0, result.stderr
    assert "timed out after 1 s" in str(last_message(chat_requests(server)[1])["content"])


def test_a_timeout_of_zero_is_a_usage_error(run_cli: Run) -> None:
    result = run_cli("-c", "x", "--timeout", "0")
    assert result.returncode == 2
    assert_one_clear_line(result, "timeout must be more than 0 seconds")


def write_settings(home: Path, text: str) -> None:
    home.mkdir(parents=True, exist_ok=True)
    (home / "config.toml").write_text(text)


def run_plain(command: list[str], *args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    """The installed command with no connection flags added, stdin closed."""
    return subprocess.run(
        [*command, *args],
        capture_output=True,
        text=True,
        stdin=subprocess.DEVNULL,
        env={**os.environ, **(env or {})},
        timeout=30,
        check=False,
    )


def test_a_task_can_come_on_stdin(run_cli: Run, server: FakeServer) -> None:
    server.enqueue(Reply.tool_call("python", "print(6*7)"), Reply.text("It is 42."))
    result = run_cli("-y", stdin="compute 6*7 in python\n")
    assert result.returncode == 0, result.stderr
    first, second = chat_requests(server)
    assert last_message(first) == {"role": "user", "content": "compute 6*7 in python"}
    assert last_message(second)["content"] == "42\n"
    assert "It is 42." in result.stdout


def test_empty_stdin_is_one_line_and_exit_2(run_cli: Run, server: FakeServer) -> None:
    result = run_cli("-y", stdin=" \n")
    assert result.returncode == 2
    assert_one_clear_line(result, "stdin is not a terminal and holds no task")
    assert chat_requests(server) == []


def test_no_arguments_and_no_key_is_one_line(interpreter_command: list[str]) -> None:
    result = run_plain(interpreter_command)
    assert result.returncode == 2
    assert_one_clear_line(result, "no API key")


def test_a_profile_gives_its_settings_to_the_session(run_cli: Run, server: FakeServer, private_home: Path) -> None:
    write_settings(private_home, 'model = "from-file"\n[profiles.small]\nmodel = "gpt-4o-mini"\n')
    server.enqueue(Reply.text("ok"), Reply.text("ok"))
    assert run_cli("-c", "hi", "--profile", "small").returncode == 0
    assert run_cli("-c", "hi").returncode == 0
    assert [request.model for request in chat_requests(server)] == ["gpt-4o-mini", "from-file"]


def test_an_unknown_profile_lists_the_known_ones(run_cli: Run, private_home: Path) -> None:
    write_settings(private_home, "[profiles.local]\n[profiles.work]\n")
    result = run_cli("-c", "hi", "--profile", "home")
    assert result.returncode == 2
    assert_one_clear_line(result, "unknown profile 'home' (profiles in ")
    assert result.stderr.rstrip().endswith("config.toml: local, work)")


def test_output_cap_from_the_settings_file_limits_what_the_model_gets(
    run_cli: Run, server: FakeServer, private_home: Path
) -> None:
    write_settings(private_home, "output_cap = 1000\n")
    server.enqueue(Reply.tool_call("python", "print('y' * 5000)"), Reply.text("long."))
    assert run_cli("-c", "print a lot", "-y").returncode == 0
    sent = str(last_message(chat_requests(server)[1])["content"])
    assert len(sent) < 1200 and "cut" in sent


def test_a_context_window_of_zero_is_a_usage_error(run_cli: Run) -> None:
    result = run_cli("-c", "hi", "--context-window", "0")
    assert result.returncode == 2
    assert_one_clear_line(result, "--context-window")


def test_config_shows_each_setting_its_source_and_the_file_without_a_key(
    interpreter_command: list[str], private_home: Path
) -> None:
    write_settings(private_home, 'max_retries = 2\n[profiles.local]\napi_base = "http://localhost:11434/v1"\n')
    result = run_plain(interpreter_command, "config", "--profile", "local", "-m", "llama3.1")
    assert result.returncode == 0, result.stderr
    rows = {line.split()[0]: line.split()[1:] for line in result.stdout.splitlines() if line.strip()}
    assert rows["settings"] == ["file", str(private_home / "config.toml")]
    assert rows["profile"] == ["local", "flag"]
    assert rows["model"] == ["llama3.1", "flag"]
    assert rows["api_base"] == ["http://localhost:11434/v1", "profile", "local"]
    assert rows["max_retries"] == ["2", "file"]
    assert rows["api_key"] == ["(missing)", "default"]
    assert rows["max_steps"] == ["20", "default"]


def test_config_masks_the_key_wherever_it_comes_from(interpreter_command: list[str]) -> None:
    key = "sk-proj-0123456789abcdef3f9a"
    from_env = run_plain(interpreter_command, "config", env={"OPENAI_API_KEY": key})
    assert re.search(r"^api_key +sk-…3f9a +env OPENAI_API_KEY$", from_env.stdout, re.MULTILINE)
    from_flag = run_plain(interpreter_command, "--api-key", key, "config")  # a connection flag may come first
    assert "sk-…3f9a" in from_flag.stdout
    assert key[3:-4] not in from_env.stdout + from_env.stderr + from_flag.stdout + from_flag.stderr


@pytest.mark.parametrize("subcommand", ["config", "doctor"])
def test_a_bad_settings_file_stops_the_subcommands_too(
    interpreter_command: list[str], private_home: Path, subcommand: str
) -> None:
    write_settings(private_home, "[profiles.local]\ncolour = 1\n")
    result = run_plain(interpreter_command, subcommand)
    assert result.returncode == 2
    assert_one_clear_line(result, "unknown setting 'colour' in profile 'local' of")


def test_session_options_before_a_subcommand_are_a_usage_error(interpreter_command: list[str]) -> None:
    result = run_plain(interpreter_command, "-c", "hi", "config")
    assert result.returncode == 2
    assert_one_clear_line(result, "only --model, --api-base, --api-key, --api and --profile go before `config`")


def test_doctor_uses_the_connection_flags_and_profile(run_cli: Run, server: FakeServer) -> None:
    result = run_cli("doctor", "-m", "gpt-4o-mini")
    assert result.returncode in (0, 1)
    assert "Traceback" not in result.stdout + result.stderr
    assert server.requests and {request.model for request in chat_requests(server)} == {"gpt-4o-mini"}
    unknown = run_cli("doctor", "--profile", "nope")
    assert unknown.returncode == 2
    assert_one_clear_line(unknown, "unknown profile 'nope'")


def test_help_names_the_subcommands_and_new_options(interpreter_command: list[str]) -> None:
    result = run_plain(interpreter_command, "--help")
    assert result.returncode == 0
    for name in (
        "--profile",
        "--context-window",
        "--json",
        "--install-completion",
        "config",
        "doctor",
        "conversations",
    ):
        assert name in result.stdout


def test_completion_scripts_and_completions(interpreter_command: list[str]) -> None:
    script = subprocess.run(
        ["bash", "-c", f"{interpreter_command[0]} --show-completion | cat"],  # a pipe: bash stays its parent
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    assert script.returncode == 0
    assert "_INTERPRETER_COMPLETE=complete_bash" in script.stdout
    words = {"_INTERPRETER_COMPLETE": "complete_bash", "COMP_WORDS": "interpreter --pro", "COMP_CWORD": "1"}
    assert run_plain(interpreter_command, env=words).stdout.split() == ["--profile"]
    words |= {"COMP_WORDS": "interpreter conversations e", "COMP_CWORD": "2"}
    assert run_plain(interpreter_command, env=words).stdout.split() == ["export"]
