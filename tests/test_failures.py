"""Expected failures of the setup (home, log, working directory, flags) through the installed command: one line each,
the session going on where it can, and with --json always an `error` and an `exit` line last."""

from __future__ import annotations

import json
import shutil
import stat
import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest
from fake_server import FakeServer, Reply
from fakes import without_total

Run = Callable[..., subprocess.CompletedProcess[str]]
Setup = Callable[[Path], list[str]]  # prepares the home, returns the command line's words after `interpreter`


def in_deleted_directory(tmp_path: Path, command: list[str]) -> list[str]:
    """`command`, run from a working directory deleted just before it starts."""
    gone = tmp_path / "gone"
    gone.mkdir()
    return ["sh", "-c", 'cd "$1" && rmdir "$1" && shift && exec "$@"', "sh", str(gone), *command]


def on_read_only_home(home: Path, command: list[str]) -> list[str]:
    """`command`, run with `home` bind-mounted read-only (a user and mount namespace: a real EROFS, even for root)."""
    mount = 'mount --bind "$1" "$1" && mount -o remount,bind,ro "$1" && shift && exec "$@"'
    return ["unshare", "--map-root-user", "--mount", "sh", "-c", mount, "sh", str(home), *command]


def read_only_mounts_work(tmp_path: Path) -> bool:
    if shutil.which("unshare") is None:
        return False
    folder = tmp_path / "probe"
    folder.mkdir()
    return "Read-only file system" in run(on_read_only_home(folder, ["touch", str(folder / "x")])).stderr


def run(command: list[str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(command, capture_output=True, text=True, check=False, timeout=60)


def json_lines(result: subprocess.CompletedProcess[str]) -> list[dict[str, object]]:
    return [json.loads(line) for line in result.stdout.splitlines()]


def files_under(folder: Path) -> list[Path]:
    return sorted(path for path in folder.rglob("*") if path.is_file())


# ---- --json: every failure ends with error, then exit -------------------------------------------------------------


def bad_flag(home: Path) -> list[str]:
    return ["--max-steps", "many", "-c", "hi"]


def no_key(home: Path) -> list[str]:
    return ["-c", "hi", "--api-key", ""]


def blank_task(home: Path) -> list[str]:
    return ["-c", "  "]


def bad_settings_file(home: Path) -> list[str]:
    home.mkdir(parents=True)
    (home / "config.toml").write_text("max_retires = 3\n")
    return ["-c", "hi"]


def unknown_conversation(home: Path) -> list[str]:
    return ["--resume", "nope", "-c", "hi"]


def unreadable_conversation(home: Path) -> list[str]:
    (home / "conversations").mkdir(parents=True)
    (home / "conversations" / "20250101-000000-abcd.json").write_text("[1, 2, 3]")
    return ["--resume", "20250101-000000-abcd", "-c", "hi"]


def unknown_command(home: Path) -> list[str]:
    return ["-c", "%frobnicate"]


def unreachable_server(home: Path) -> list[str]:
    return ["--api-base", "http://127.0.0.1:9/v1", "--max-retries", "0", "-c", "hi"]


@pytest.mark.parametrize(
    ("setup", "status"),
    [
        (bad_flag, 2),
        (no_key, 2),
        (blank_task, 2),
        (bad_settings_file, 2),
        (unknown_conversation, 2),
        (unreadable_conversation, None),  # 1 or 2: another part of the program decides what such a file is
        (unknown_command, 2),
        (unreachable_server, 1),
    ],
)
def test_every_failing_setup_ends_json_with_an_error_and_an_exit_line(
    run_cli: Run, server: FakeServer, private_home: Path, setup: Setup, status: int | None
) -> None:
    result = run_cli("--json", *setup(private_home))

    lines = json_lines(result)
    assert [line["type"] for line in lines[-2:]] == ["error", "exit"], result.stdout
    assert lines[-1]["status"] == result.returncode != 0
    assert status in (None, result.returncode)
    assert result.stderr.splitlines() == [f"interpreter: {lines[-2]['message']}"]
    assert "Traceback" not in result.stdout + result.stderr
    assert not [request for request in server.requests if request.path.endswith("/chat/completions")]


def test_a_deleted_working_directory_is_one_line_and_exit_2(
    interpreter_command: list[str], server: FakeServer, tmp_path: Path
) -> None:
    words = [*interpreter_command, "--api-base", server.url, "--api-key", "sk-test", "-c", "hi"]

    plain = run(in_deleted_directory(tmp_path, words))
    as_json = run(in_deleted_directory(tmp_path, [*words, "--json"]))

    line = "interpreter: the working directory no longer exists: cd to one that does, then run again"
    assert (plain.returncode, plain.stderr, plain.stdout) == (2, f"{line}\n", "")
    assert as_json.returncode == 2 and as_json.stderr == f"{line}\n"
    assert json_lines(as_json) == [
        {"type": "error", "message": line.removeprefix("interpreter: ")},
        {"type": "exit", "status": 2},
    ]
    assert not server.requests


# ---- a home that cannot be written: the session runs, unsaved, and says so once --------------------------------


def home_under_a_file(home: Path) -> str:
    home.parent.mkdir(parents=True, exist_ok=True)
    blocker = home.parent / "a-file"
    blocker.write_text("")
    return str(blocker / "home")


def conversations_is_a_file(home: Path) -> str:
    home.mkdir(parents=True)
    (home / "conversations").write_text("")
    return str(home)


@pytest.mark.parametrize("setup", [home_under_a_file, conversations_is_a_file])
def test_a_home_that_cannot_be_written_runs_the_session_unsaved(
    run_cli: Run, server: FakeServer, private_home: Path, tmp_path: Path, setup: Callable[[Path], str]
) -> None:
    home = setup(private_home)
    before = files_under(tmp_path)
    server.enqueue(Reply.text("Hello there."))

    result = run_cli("-c", "hi", env={"INTERPRETER_HOME": home})

    assert result.returncode == 0, result.stderr
    first, *rest = result.stdout.splitlines()
    assert first.startswith("cannot write to ") and first.endswith(" (not a directory): this session is not saved")
    assert without_total(rest) == ["Hello there."]
    assert result.stderr == ""
    assert files_under(tmp_path) == before  # no conversation, history or log anywhere


def test_a_read_only_home_runs_the_session_unsaved(
    interpreter_command: list[str], server: FakeServer, private_home: Path, tmp_path: Path
) -> None:
    if not read_only_mounts_work(tmp_path):
        pytest.skip("needs `unshare` with user namespaces to mount a read-only file system")
    private_home.mkdir()
    server.enqueue(Reply.text("Hello there."), Reply.text("Still here."))
    words = [*interpreter_command, "--api-base", server.url, "--api-key", "sk-test", "-c", "hi"]

    plain = run(on_read_only_home(private_home, words))
    as_json = run(on_read_only_home(private_home, [*words, "--json"]))

    line = f"cannot write to {private_home / 'conversations'} (read-only file system): this session is not saved"
    assert plain.returncode == 0, plain.stderr
    assert without_total(plain.stdout.splitlines()) == [line, "Hello there."]
    assert as_json.returncode == 0, as_json.stderr
    assert json_lines(as_json)[0] == {"type": "info", "text": line}
    assert json_lines(as_json)[-1] == {"type": "exit", "status": 0}
    assert list(private_home.iterdir()) == []


# ---- the log: private, and a session goes on without it -----------------------------------------------------------


def test_the_log_is_private_to_its_owner(run_cli: Run, server: FakeServer, private_home: Path) -> None:
    (private_home / "logs").mkdir(parents=True, mode=0o755)
    (private_home / "logs").chmod(0o755)  # as an older version left it
    server.enqueue(Reply.text("Hello."))

    assert run_cli("-c", "hi").returncode == 0

    assert stat.S_IMODE((private_home / "logs").stat().st_mode) == 0o700
    assert stat.S_IMODE((private_home / "logs" / "interpreter.log").stat().st_mode) == 0o600


def test_a_log_that_cannot_be_written_is_one_line_and_the_session_goes_on(
    run_cli: Run, server: FakeServer, private_home: Path
) -> None:
    private_home.mkdir()
    (private_home / "logs").write_text("")
    server.enqueue(Reply.text("Hello."))

    result = run_cli("-c", "hi")

    assert result.returncode == 0, result.stderr
    log = private_home / "logs" / "interpreter.log"
    assert without_total(result.stdout.splitlines()) == [
        f"cannot write the log {log} (not a directory): going on without it",
        "Hello.",
    ]
    assert len(list((private_home / "conversations").iterdir())) == 1  # the conversation is still saved


# ---- %commands given as the task ----------------------------------------------------------------------------------


def test_a_command_as_the_task_runs_without_the_model(run_cli: Run, server: FakeServer) -> None:
    result = run_cli("-c", "%help")

    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("%help ") and "%undo " in result.stdout
    assert not [request for request in server.requests if request.path.endswith("/chat/completions")]


def test_a_command_on_stdin_acts_on_the_resumed_conversation(run_cli: Run, server: FakeServer) -> None:
    server.enqueue(Reply.text("Noted."))
    assert run_cli("-c", "remember 7").returncode == 0

    undone = run_cli("--resume", stdin="%undo\n")
    again = run_cli("--resume", "-c", "%undo")

    assert undone.returncode == 0, undone.stderr
    assert "dropped the last exchange: 'remember 7' and the 1 message after it" in undone.stdout
    assert (again.returncode, again.stdout.splitlines()[-1]) == (2, "error: nothing to undo")
    assert len([request for request in server.requests if request.path.endswith("/chat/completions")]) == 1


def test_an_unknown_command_as_the_task_is_one_line_and_exit_2(run_cli: Run, server: FakeServer) -> None:
    result = run_cli("-c", "%frobnicate now")

    assert result.returncode == 2
    assert result.stdout == "error: unknown command %frobnicate: %help lists the commands\n"
    assert not [request for request in server.requests if request.path.endswith("/chat/completions")]
