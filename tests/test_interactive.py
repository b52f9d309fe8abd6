"""The interactive session, driven through a real pseudo-terminal as a person would."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from fake_server import FakeServer, Reply
from terminal import Terminal

Spawn = Callable[..., Terminal]


@pytest.fixture
def spawn(interpreter_command: list[str], server: FakeServer) -> Iterator[Spawn]:
    terminals: list[Terminal] = []

    def start(*args: str) -> Terminal:
        terminal = Terminal(interpreter_command[0], ["--api-base", server.url, "--api-key", "sk-test", *args], env={})
        terminals.append(terminal)
        return terminal

    yield start
    for terminal in terminals:
        terminal.close()


def user_messages(server: FakeServer) -> list[str]:
    body = server.requests[-1].body
    assert body is not None
    return [m["content"] for m in body["messages"] if m["role"] == "user"]


def leave(terminal: Terminal) -> int | None:
    """Press Ctrl-D at the prompt and return the exit status."""
    terminal.wait_for_prompt()
    terminal.press("d")
    return terminal.exit_status()


def test_ask_confirm_run_answer_then_a_second_task_then_ctrl_d(spawn: Spawn, server: FakeServer) -> None:
    server.enqueue(Reply.tool_call("python", "x = 6*7\nprint(x)"), Reply.text("The answer is 42."))
    terminal = spawn()
    terminal.wait_for_prompt()
    terminal.send("compute 6*7 in python\r")
    terminal.wait_for("Run this code? [y/N/e]")
    terminal.send("y\r")
    terminal.wait_for("The answer is 42.")
    assert "│ 42" in terminal.lines()
    server.enqueue(Reply.tool_call("python", "print(x + 1)"), Reply.text("And one more is 43."))
    terminal.wait_for_prompt()
    terminal.send("add one\r")
    terminal.wait_for("Run this code? [y/N/e]", count=2)
    terminal.send("y\r")
    terminal.wait_for("And one more is 43.")
    assert leave(terminal) == 0
    assert user_messages(server) == ["compute 6*7 in python", "add one"]
    assert "│ 43" in terminal.text()

    resumed = spawn("--resume")
    resumed.wait_for("add one")
    resumed.wait_for("And one more is 43.")
    assert "compute 6*7 in python" in resumed.text()
    assert leave(resumed) == 0


def test_ctrl_c_during_a_run_returns_to_the_prompt_and_the_session_survives(spawn: Spawn, server: FakeServer) -> None:
    server.enqueue(Reply.tool_call("python", "import time\nprint('sleep' + 'ing', flush=True)\ntime.sleep(60)"))
    terminal = spawn("-y")
    terminal.wait_for_prompt()
    terminal.send("sleep a minute\r")
    terminal.wait_for("│ sleeping")  # the output, so the cell is running
    terminal.press("c")
    terminal.wait_for("cancelled")
    server.enqueue(Reply.text("Still here."))
    terminal.wait_for_prompt()
    terminal.send("are you alive?\r")
    terminal.wait_for("Still here.")
    assert leave(terminal) == 0
    body = server.requests[-1].body
    assert body is not None
    assert any(m["role"] == "tool" and "interrupted" in m["content"] for m in body["messages"])


def test_ctrl_c_at_the_prompt_clears_the_line(spawn: Spawn, server: FakeServer) -> None:
    server.enqueue(Reply.text("Only this."))
    terminal = spawn()
    terminal.wait_for_prompt()
    terminal.send("half a thought")
    terminal.wait_for("half a thought")
    terminal.press("c")
    terminal.wait_for_prompt()
    terminal.send("the real task\r")
    terminal.wait_for("Only this.")
    assert leave(terminal) == 0
    assert user_messages(server) == ["the real task"]


def test_exit_leaves_with_status_0(spawn: Spawn) -> None:
    terminal = spawn()
    terminal.wait_for_prompt()
    terminal.send("exit\r")
    assert terminal.exit_status() == 0


def test_ctrl_c_while_the_answer_streams_keeps_what_arrived(spawn: Spawn, server: FakeServer) -> None:
    words = " ".join(f"word{i}" for i in range(200))
    server.enqueue(Reply.text(words, chunk_delay=0.05))
    terminal = spawn()
    terminal.wait_for_prompt()
    terminal.send("talk slowly\r")
    terminal.wait_for("word3")
    terminal.press("c")
    terminal.wait_for("cancelled")
    server.enqueue(Reply.text("Sorry, go on."))
    terminal.wait_for_prompt()
    terminal.send("next\r")
    terminal.wait_for("Sorry, go on.")
    assert leave(terminal) == 0
    assert "internal error" not in terminal.text()
    body = server.requests[-1].body
    assert body is not None
    kept = body["messages"][2]
    assert kept["role"] == "assistant" and kept["content"].startswith("word0 word1 word2")
    assert "word199" not in kept["content"] and "[interrupted by the user]" in kept["content"]


def test_ctrl_c_pressed_at_any_moment_never_breaks_the_session(spawn: Spawn, server: FakeServer) -> None:
    terminal = spawn("-y")
    for attempt in range(6):
        server.enqueue(Reply.tool_call("python", "print('x' * 50)\n" * 20), Reply.text("done " * 30))
        terminal.wait_for_prompt()
        terminal.send(f"task {attempt}\r")
        terminal.wait_for(f"task {attempt}")
        __import__("time").sleep(0.05 * attempt)  # land the press at a different point each time
        terminal.press("c")
        terminal.wait_for_prompt()
    assert "internal error" not in terminal.text()
    assert "Traceback" not in terminal.text()
    # Typed, not Ctrl-D: when the last press lands on a prompt, the prompt seen may be the one it is ending, and a
    # Ctrl-D typed in the instant before the next one is an end of file in the terminal's line mode, which no one
    # reads (as in any shell); typed text waits in the terminal for the next prompt.
    terminal.send("exit\r")
    assert terminal.exit_status() == 0


def test_a_multi_line_paste_is_one_task(spawn: Spawn, server: FakeServer) -> None:
    server.enqueue(Reply.text("Got both lines."))
    terminal = spawn()
    terminal.wait_for_prompt()
    terminal.send("\x1b[200~first line\nsecond line\x1b[201~")  # what a terminal sends for a bracketed paste
    terminal.wait_for("second line")
    terminal.send("\r")
    terminal.wait_for("Got both lines.")
    assert leave(terminal) == 0
    assert user_messages(server) == ["first line\nsecond line"]


def chat_requests(server: FakeServer) -> int:
    return sum(request.path.endswith("/chat/completions") for request in server.requests)


def test_tab_completes_a_command_and_verbose_changes_what_is_shown(spawn: Spawn, server: FakeServer) -> None:
    terminal = spawn()
    terminal.wait_for_prompt()
    terminal.send("%verb\t")
    terminal.wait_for("> %verbose")
    terminal.send(" on\r")
    terminal.wait_for("verbose: on")
    server.enqueue(Reply.text("Loud answer."))
    terminal.wait_for_prompt()
    terminal.send("first task\r")
    terminal.wait_for("Loud answer.")
    assert "step 1" in terminal.lines()
    terminal.wait_for_prompt()
    terminal.send("%verbose off\r")
    terminal.wait_for("verbose: off")
    server.enqueue(Reply.text("Quiet answer."))
    terminal.wait_for_prompt()
    terminal.send("second task\r")
    terminal.wait_for("Quiet answer.")
    assert terminal.lines().count("step 1") == 1
    assert leave(terminal) == 0
    assert user_messages(server) == ["first task", "second task"]


def test_tab_lists_the_commands_and_an_unknown_one_gets_a_hint(spawn: Spawn, server: FakeServer) -> None:
    terminal = spawn()
    terminal.wait_for_prompt()
    terminal.send("%\t\t")  # readline-like: the first Tab completes what all share, the second lists them
    terminal.wait_for("%conversations")
    terminal.send("\x15%fo\r")  # Ctrl-U clears the line
    terminal.wait_for("error: unknown command %fo: %help lists the commands")
    terminal.wait_for_prompt()
    terminal.send("%help\r")
    terminal.wait_for("%auto-run on|off")
    assert leave(terminal) == 0
    assert chat_requests(server) == 0
    assert "Traceback" not in terminal.text()


def test_tokens_undo_and_save_in_a_session(spawn: Spawn, server: FakeServer, tmp_path: Path) -> None:
    server.enqueue(Reply.text("First answer."), Reply.text("Second answer."))
    terminal = spawn()
    for task, answer in [("first task", "First answer."), ("second task", "Second answer.")]:
        terminal.wait_for_prompt()
        terminal.send(f"{task}\r")
        terminal.wait_for(answer)
    terminal.wait_for_prompt()
    terminal.send("%tokens\r")
    terminal.wait_for("rate limits: ")
    assert any(line.startswith("this session: 2 requests, ") for line in terminal.lines())
    terminal.wait_for_prompt()
    terminal.send("%undo\r")
    terminal.wait_for("dropped the last exchange: 'second task' and the 1 message after it")
    saved = tmp_path / "kept.md"
    terminal.wait_for_prompt()
    terminal.send(f"%save {saved}\r")
    terminal.wait_for("Markdown transcript")
    assert leave(terminal) == 0
    transcript = saved.read_text()
    assert "first task" in transcript and "second task" not in transcript


def test_a_task_piped_in_asks_before_running_on_the_terminal_that_shows_it(
    interpreter_command: list[str], server: FakeServer
) -> None:
    server.enqueue(Reply.tool_call("python", "print(6*7)"), Reply.text("It printed 42."))
    command = f"echo 'compute 6*7' | {interpreter_command[0]} --api-base {server.url} --api-key sk-test"
    terminal = Terminal("bash", ["-c", command], env={})
    try:
        terminal.wait_for("Run this code? [y/N/e]")
        terminal.send("y\r")
        terminal.wait_for("It printed 42.")
        assert terminal.exit_status() == 0
    finally:
        terminal.close()
    assert "│ 42" in terminal.lines()
    assert user_messages(server) == ["compute 6*7"]
