"""The prompt's history file, through a real terminal: private to its owner, tasks and %commands only, and a
session that goes on without it (one line) when it cannot be used."""

from __future__ import annotations

import stat
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from fake_server import FakeServer, Reply
from terminal import Terminal

Spawn = Callable[..., Terminal]


@pytest.fixture
def spawn(interpreter_command: list[str], server: FakeServer) -> Iterator[Spawn]:
    terminals: list[Terminal] = []

    def start(*args: str, env: dict[str, str] | None = None) -> Terminal:
        words = ["--api-base", server.url, "--api-key", "sk-test", *args]
        terminals.append(Terminal(interpreter_command[0], words, cols=160, env=env or {}))
        return terminals[-1]

    yield start
    for terminal in terminals:
        terminal.close()


def leave(terminal: Terminal) -> int | None:
    terminal.wait_for_prompt()
    terminal.press("d")
    return terminal.exit_status()


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_history_keeps_tasks_and_commands_privately_and_never_the_answers(
    spawn: Spawn, server: FakeServer, private_home: Path
) -> None:
    private_home.mkdir()
    history = private_home / "history"
    history.write_text("\n# 2025-01-01 00:00:00\n+an older task\n")
    history.chmod(0o644)  # as an older version left it: readable by every local user
    server.enqueue(Reply.tool_call("python", "print(6*7)"), Reply.text("It is 42."))
    terminal = spawn()

    terminal.wait_for_prompt()
    terminal.send("compute 6*7\r")
    terminal.wait_for("Run this code? [y/N/e]")
    terminal.send("y\r")
    terminal.wait_for("It is 42.")
    terminal.wait_for_prompt()
    terminal.send("%tokens\r")
    terminal.wait_for("context now:")
    assert leave(terminal) == 0

    assert mode(history) == 0o600
    kept = [line.removeprefix("+") for line in history.read_text().splitlines() if line.startswith("+")]
    assert kept == ["an older task", "compute 6*7", "%tokens"]


def test_a_new_history_file_is_private(spawn: Spawn, server: FakeServer, private_home: Path) -> None:
    terminal = spawn()
    terminal.wait_for_prompt()
    terminal.send("%help\r")
    terminal.wait_for("list these commands")
    assert leave(terminal) == 0
    assert mode(private_home / "history") == 0o600


def test_a_history_path_that_is_a_directory_is_one_line_and_the_session_goes_on(
    spawn: Spawn, server: FakeServer, private_home: Path
) -> None:
    (private_home / "history").mkdir(parents=True)
    server.enqueue(Reply.text("Hello there."))
    terminal = spawn()

    terminal.wait_for_prompt()
    terminal.send("hi\r")
    terminal.wait_for("Hello there.")
    assert leave(terminal) == 0

    line = f"cannot use the history file {private_home / 'history'} (is a directory): going on without it"
    assert terminal.text().count(line) == 1
    assert "Traceback" not in terminal.text() and "Press ENTER" not in terminal.text()


def test_a_missing_editor_is_one_line_and_the_question_comes_again(
    spawn: Spawn, server: FakeServer, private_home: Path
) -> None:
    server.enqueue(Reply.tool_call("python", "print(6*7)"), Reply.text("Declined, then."))
    terminal = spawn(env={"EDITOR": "no-such-editor-here"})

    terminal.wait_for_prompt()
    terminal.send("compute 6*7\r")
    terminal.wait_for("Run this code? [y/N/e]")
    terminal.send("e\r")
    terminal.wait_for("Run this code? [y/N/e]", count=2)
    terminal.send("n\r")
    terminal.wait_for("Declined, then.")
    assert leave(terminal) == 0

    assert "cannot start the editor no-such-editor-here ($EDITOR): not found; set $EDITOR, e.g. export EDITOR=nano" in (
        terminal.text()
    )
    tool_answer = server.requests[-1].body["messages"][-1]  # type: ignore[index]
    assert tool_answer["role"] == "tool" and "declined" in tool_answer["content"]
