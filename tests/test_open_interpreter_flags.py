"""Open Interpreter's flags: read as ours (hidden from --help), refused one line each, or dropped, never in a value."""

from __future__ import annotations

import json
import os
import re
import subprocess
from pathlib import Path

import pytest
import typer.main
from fake_server import FakeServer, Reply
from typer.core import TyperOption

from interpreter.cli.app import app
from interpreter.open_interpreter.flags import (
    ALIASES,
    CONVERSATIONS,
    LOCAL,
    OUR_VALUED,
    REFUSED,
    SILENT,
    VALUED_REFUSED,
    Translation,
    translate,
)

KEY = "sk-open-interpreter-0123456789"


def run(
    command: list[str], *args: str, env: dict[str, str] | None = None, cwd: Path | None = None
) -> subprocess.CompletedProcess[str]:
    """The installed command with only `args`, stdin closed."""
    return subprocess.run(
        [*command, *args],
        capture_output=True,
        text=True,
        stdin=subprocess.DEVNULL,
        env={**os.environ, **(env or {})},
        cwd=cwd,
        timeout=60,
        check=False,
    )


# ---- the translation ----------------------------------------------------------------------------------------


def test_each_alias_becomes_our_flag_with_its_value_untouched() -> None:
    argv = ["-ab", "http://h/v1", "-ak", "sk-1", "--auto_run", "-cw", "8000", "-b", "0.5", "-ci", "be brief"]
    argv += ["-xo", "500", "-v", "-m", "gpt-4o", "-y"]
    assert translate(argv) == Translation(
        (
            *("--api-base", "http://h/v1", "--api-key", "sk-1", "--auto-run", "--context-window", "8000"),
            *("--max-cost", "0.5", "--instructions", "be brief", "--output-cap", "500", "--verbose"),
            *("-m", "gpt-4o", "-y"),
        )
    )


def test_the_long_names_and_their_equals_forms_are_read_too() -> None:
    argv = ["--api_base=http://h/v1", "--api_key", "k", "--context_window=9", "--max_budget", "2"]
    argv += ["--custom_instructions=a=b", "--max_output", "700", "-ab=http://x/v1"]
    assert translate(argv).args == (
        *("--api-base", "http://h/v1", "--api-key", "k", "--context-window", "9", "--max-cost", "2"),
        *("--instructions", "a=b", "--output-cap", "700", "--api-base", "http://x/v1"),
    )


@pytest.mark.parametrize("option", ["-c", "--command", "--instructions", "-m", "-ci", "--api-key"])
def test_a_value_is_never_read_as_a_flag(option: str) -> None:
    translation = translate([option, "--os -ab x", "-y"])
    assert translation.refusals == ()
    assert translation.args[1:] == ("--os -ab x", "-y")
    assert translate([option, "--vision"]) == Translation((translation.args[0], "--vision"))


def test_nothing_after_double_dash_or_a_subcommand_is_read() -> None:
    assert translate(["-y", "--", "--os", "-ab"]).args == ("-y", "--", "--os", "-ab")
    export = ["conversations", "export", "abc", "-o", "out.md", "-v"]
    assert translate(["-ab", "http://h/v1", *export]).args == ("--api-base", "http://h/v1", *export)


def test_resume_keeps_its_id_and_stands_alone_before_another_flag() -> None:
    assert translate(["--resume", "-v"]).args == ("--resume", "--verbose")
    assert translate(["--resume", "abc", "-v"]).args == ("--resume", "abc", "--verbose")


def test_conversations_becomes_the_subcommand_after_the_options() -> None:
    assert translate(["--conversations", "-ab", "http://h/v1"]).args == ("--api-base", "http://h/v1", "conversations")


def test_a_profile_named_as_its_file_is_named_as_ours_and_a_python_one_refused() -> None:
    assert translate(["-p", "work.yaml", "-y"]).args == ("--profile", "work", "-y")
    assert translate(["-p=fast.yml"]).args == ("--profile", "fast")
    assert translate(["--profile", "local.yaml", "--profile=x"]).args == ("--profile", "local", "--profile", "x")
    refusal = "Open Interpreter's Python profiles run code, and none is run here (copy its settings by hand)"
    assert translate(["--profile", "os.py"]).refusals == (f"--profile os.py: {refusal}",)
    refused = translate(["-p", "local.py", "-y"])
    assert refused.args == ("-y",)
    assert refused.refusals == (f"-p local.py: {refusal}",)


def test_local_is_asked_for_and_taken_out() -> None:
    assert translate(["-l", "-y"]) == Translation(("-y",), local=True)
    assert translate(["--local"]).local


def test_offline_and_telemetry_are_dropped_without_a_word() -> None:
    assert translate(["--offline", "-o", "--disable_telemetry", "-dt", "-nhl", "-y"]) == Translation(("-y",))


def test_each_refused_flag_is_one_line_and_its_value_is_not_a_flag() -> None:
    translation = translate(["-t", "0.2", "-s", "-y", "--os", "--api_version=2024-01-01", "-m", "x"])
    assert translation.args == ("-m", "x")  # -s took "-y" as its value, as Open Interpreter's argparse did
    assert [line.split(" ")[0] for line in translation.refusals] == ["-t", "-s", "--os", "--api_version"]


def test_our_valued_options_are_the_typer_app_s() -> None:
    command = typer.main.get_command(app)
    valued = {
        name for param in command.params if isinstance(param, TyperOption) and not param.is_flag for name in param.opts
    }
    assert valued - {"--resume"} == OUR_VALUED  # --resume takes an id only when one follows


# ---- the whole program ----------------------------------------------------------------------------------------

# Whether the key shows in the command line of any process above the cell (the session's included).
ANCESTORS = f"""
import json
import os
pid, seen = os.getpid(), []
while pid > 1:
    seen.append(open(f"/proc/{{pid}}/cmdline", "rb").read())
    pid = int(open(f"/proc/{{pid}}/stat").read().rsplit(")", 1)[1].split()[1])
print("key in the process list:", any(b"{KEY}" in line for line in seen), len(seen) > 2)
"""


def test_open_interpreter_s_command_line_finishes_a_task(interpreter_command: list[str], tmp_path: Path) -> None:
    with FakeServer(api_key=KEY) as server:  # refuses any request without this key
        server.enqueue(Reply.tool_call("python", ANCESTORS), Reply.text("Done."))
        args = ["-ab", server.url, "-ak", KEY, "-m", "gpt-4o", "--auto_run", "-c", "look at the processes"]
        result = run(interpreter_command, *args, cwd=tmp_path)
        chats = [request for request in server.requests if request.path.endswith("/chat/completions")]

    assert result.returncode == 0, result.stderr
    assert "key in the process list: False True" in result.stdout  # ran without asking; -ak hidden as --api-key is
    assert [request.model for request in chats] == ["gpt-4o", "gpt-4o"]
    assert "Done." in result.stdout


def test_every_refused_flag_is_one_line_and_exit_2(interpreter_command: list[str]) -> None:
    given = [[name, "1"] if name in VALUED_REFUSED else [name] for name in REFUSED]  # -t 0.2, --os
    result = run(interpreter_command, *[part for flag in given for part in flag])

    assert result.returncode == 2
    lines = result.stderr.splitlines()
    assert [line.split(" ")[1] for line in lines] == list(REFUSED)
    assert all(line.startswith("interpreter: ") and "(Open Interpreter's)" in line for line in lines)
    assert "Traceback" not in result.stderr and result.stdout == ""


@pytest.mark.parametrize(
    ("flag", "instead"),
    [
        ("--safe_mode", "add --sandbox to confine it"),
        ("--no-llm_supports_functions", "is --no-tools here"),
        ("--vision", "pictures a cell draws go to the model when it takes images"),
        ("--os", "has no counterpart"),
    ],
)
def test_a_refusal_says_what_to_use_instead(interpreter_command: list[str], flag: str, instead: str) -> None:
    result = run(interpreter_command, flag)
    assert result.returncode == 2
    assert result.stderr.startswith(f"interpreter: {flag} (Open Interpreter's) ")
    assert instead in result.stderr and len(result.stderr.splitlines()) == 1


def test_help_lists_none_of_open_interpreter_s_flags(interpreter_command: list[str]) -> None:
    result = run(interpreter_command, "--help")
    theirs = [*ALIASES, *REFUSED, *SILENT, *LOCAL, *CONVERSATIONS]
    shown = [name for name in theirs if re.search(rf"(?<![\w-]){re.escape(name)}(?![\w-])", result.stdout)]
    assert result.returncode == 0 and "--api-base" in result.stdout
    assert shown == []


def test_offline_and_disable_telemetry_change_nothing(
    interpreter_command: list[str], server: FakeServer, tmp_path: Path
) -> None:
    args = ["-ab", server.url, "-ak", KEY, "--offline", "--disable_telemetry", "-c", "hi"]
    result = run(interpreter_command, *args, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert result.stderr == "" and len(server.requests) == 1


def test_max_output_caps_what_the_model_gets(
    interpreter_command: list[str], server: FakeServer, tmp_path: Path
) -> None:
    server.enqueue(Reply.tool_call("python", "print('y' * 5000)"), Reply.text("long."))
    args = ["-ab", server.url, "-ak", KEY, "-y", "-xo", "300", "-c", "print a lot"]
    assert run(interpreter_command, *args, cwd=tmp_path).returncode == 0
    sent = str(server.requests[1].body["messages"][-1]["content"])  # type: ignore[index]
    assert 300 <= len(sent) < 600 and "cut" in sent


def test_max_budget_is_our_cost_cap(interpreter_command: list[str], server: FakeServer, tmp_path: Path) -> None:
    result = run(interpreter_command, "-ab", server.url, "-ak", KEY, "-m", "my-llama", "-b", "1", "-c", "hi")
    assert result.returncode == 2
    assert result.stderr.startswith("interpreter: --max-cost cannot be kept: no price is known for my-llama")
    assert server.requests == []


def test_context_window_is_ours(interpreter_command: list[str], server: FakeServer) -> None:
    result = run(interpreter_command, "-ab", server.url, "-ak", KEY, "-cw", "0", "-c", "hi")
    assert result.returncode == 2 and "--context-window" in result.stderr


def test_conversations_lists_ours(interpreter_command: list[str], private_home: Path) -> None:
    result = run(interpreter_command, "--conversations")
    assert result.returncode == 0, result.stderr
    assert result.stdout == f"no conversations in {private_home / 'conversations'}\n"


def test_a_profile_named_as_its_yaml_file_is_used(
    interpreter_command: list[str], server: FakeServer, private_home: Path, tmp_path: Path
) -> None:
    private_home.mkdir(parents=True)
    (private_home / "config.toml").write_text('[profiles.work]\nmodel = "gpt-4o-mini"\n')
    result = run(interpreter_command, "-ab", server.url, "-ak", KEY, "-p", "work.yaml", "-c", "hi", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert [request.model for request in server.requests] == ["gpt-4o-mini"]


def test_with_json_the_refusals_end_stdout_with_one_error_and_the_exit(interpreter_command: list[str]) -> None:
    result = run(interpreter_command, "--json", "--os", "--fast")
    assert result.returncode == 2
    assert [json.loads(line)["type"] for line in result.stdout.splitlines()] == ["error", "exit"]
    assert [line.split(" ")[1] for line in result.stderr.splitlines()] == ["--os", "--fast"]
