"""Open Interpreter's saved conversations (JSON lists of LMC messages) continued with `--resume FILE` and `%load FILE`,
as a person coming from it would, against the fake server."""

from __future__ import annotations

import json
import subprocess
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from fake_server import FakeServer, Reply
from terminal import Terminal

from interpreter.conversation.storage import ConversationStore
from interpreter.launch import names_file
from interpreter.settings.directories import CONVERSATIONS

Run = Callable[..., subprocess.CompletedProcess[str]]
# The example of docs.openinterpreter.com/protocols/lmc-messages, as Open Interpreter 0.4.3 saves a conversation:
# a JSON list in platformdirs.user_config_dir("open-interpreter")/conversations/, named for its first words.
EXAMPLE: list[dict[str, Any]] = [
    {"role": "user", "type": "message", "content": "What's 2380*3875?"},
    {"role": "assistant", "type": "code", "format": "python", "content": "2380*3875"},
    {"role": "computer", "type": "console", "format": "output", "content": "9222500"},
    {"role": "assistant", "type": "message", "content": "The result of multiplying 2380 by 3875 is 9222500."},
]
CARRIED: list[dict[str, Any]] = [
    {"role": "user", "content": "What's 2380*3875?"},
    {
        "role": "assistant",
        "content": "",
        "tool_calls": [
            {
                "id": "call_oi_2",
                "type": "function",
                "function": {"name": "execute", "arguments": '{"language": "python", "code": "2380*3875"}'},
            }
        ],
    },
    {"role": "tool", "tool_call_id": "call_oi_2", "content": "9222500"},
    {"role": "assistant", "content": "The result of multiplying 2380 by 3875 is 9222500."},
]
FILE_NAME = "What's_2380*3875__December_06_2026_14-05-42.json"


@pytest.fixture
def saved(tmp_path: Path) -> Path:
    """An Open Interpreter conversation file in the folder the CLI runs in."""
    path = tmp_path / FILE_NAME
    path.write_text(json.dumps(EXAMPLE))
    return path


def sent(server: FakeServer) -> list[dict[str, Any]]:
    """The messages of the last request, without the system message."""
    body = server.requests[-1].body
    assert body is not None
    messages: list[dict[str, Any]] = body["messages"][1:]
    return messages


def test_resume_file_continues_it_as_a_new_conversation_the_next_request_carries(
    run_cli: Run, server: FakeServer, saved: Path, private_home: Path
) -> None:
    server.enqueue(Reply.text("Doubled, it is 18445000."))

    result = run_cli("--resume", FILE_NAME, "-c", "And doubled?")

    assert result.returncode == 0, result.stderr
    first = result.stdout.splitlines()[0]
    assert first.startswith(f"continuing {FILE_NAME} as conversation ")
    assert sent(server) == [*CARRIED, {"role": "user", "content": "And doubled?"}]
    (kept,) = ConversationStore(private_home / CONVERSATIONS).summaries()  # saved as ours, under a new id
    assert first.endswith(kept.id) and kept.messages == 6
    assert json.loads(saved.read_text()) == EXAMPLE  # theirs is left as it was


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("[1]", "message 1 is not a JSON object"),
        ('[{"type": "message", "content": "hi"}]', "message 1 has no role"),
        ('[{"role": "robot", "content": "hi"}]', "message 1 has the role 'robot'; LMC roles are"),
        ("[{", "it is not JSON"),
    ],
)
def test_resume_of_a_file_that_is_not_lmc_is_one_line_and_exit_2(
    run_cli: Run, server: FakeServer, tmp_path: Path, text: str, problem: str
) -> None:
    (tmp_path / "broken.json").write_text(text)

    result = run_cli("--resume", "broken.json", "-c", "go on")

    assert result.returncode == 2
    assert result.stdout == ""
    assert result.stderr.startswith(f"interpreter: cannot read broken.json: {problem}")
    assert result.stderr.count("\n") == 1
    assert server.requests == []


@pytest.mark.parametrize(
    ("value", "is_file"),
    [
        ("20261206-140542-b91d", False),  # an id
        ("latest", False),
        ("conversation.json", True),
        ("chat.JSON", True),
        ("./chat", True),
        ("conversations/chat", True),
        ("~/chat", True),
    ],
)
def test_resume_tells_a_file_from_an_id(value: str, is_file: bool) -> None:
    assert names_file(value) is is_file


@pytest.fixture
def spawn(interpreter_command: list[str], server: FakeServer, tmp_path: Path) -> Iterator[Callable[[], Terminal]]:
    terminals: list[Terminal] = []

    def start() -> Terminal:
        arguments = ["--api-base", server.url, "--api-key", "sk-test"]
        terminals.append(Terminal(interpreter_command[0], arguments, cols=300, env={}))  # the path on one line
        return terminals[-1]

    yield start
    for terminal in terminals:
        terminal.close()


def test_load_in_a_session_continues_it_and_the_next_request_carries_it(
    spawn: Callable[[], Terminal], server: FakeServer, saved: Path
) -> None:
    server.enqueue(Reply.text("Doubled, it is 18445000."))
    terminal = spawn()
    terminal.wait_for_prompt()
    terminal.send(f"%load {saved}\r")
    terminal.wait_for(f"loaded 4 messages from {saved} as conversation")
    assert "> What's 2380*3875?" in terminal.lines()  # replayed, as --resume replays
    terminal.wait_for_prompt()
    terminal.send("And doubled?\r")
    terminal.wait_for("Doubled, it is 18445000.")
    terminal.wait_for_prompt()
    terminal.press("d")
    assert terminal.exit_status() == 0

    assert sent(server) == [*CARRIED, {"role": "user", "content": "And doubled?"}]
