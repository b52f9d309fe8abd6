"""Open Interpreter's Python API, `from interpreter import interpreter`, against the loopback fake server."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psutil
import pytest
from fake_server import FakeServer, Reply
from terminal import Terminal

import interpreter as package
from interpreter.errors import StorageError
from interpreter.open_interpreter_api import OpenInterpreter

# The example of docs.openinterpreter.com/protocols/lmc-messages.
EXAMPLE: list[dict[str, Any]] = [
    {"role": "user", "type": "message", "content": "What's 2380*3875?"},
    {"role": "assistant", "type": "code", "format": "python", "content": "2380*3875"},
    {"role": "computer", "type": "console", "format": "output", "content": "9222500"},
    {"role": "assistant", "type": "message", "content": "The result of multiplying 2380 by 3875 is 9222500."},
]


@pytest.fixture
def oi(server: FakeServer) -> Iterator[OpenInterpreter]:
    """An instance set up as a script for Open Interpreter would set it, for the fake server; reset after the test."""
    made = OpenInterpreter()
    made.llm.api_base = server.url
    made.llm.api_key = "sk-test"
    made.auto_run = True
    yield made
    made.reset()


def sent(server: FakeServer) -> list[dict[str, Any]]:
    """The messages of the last request, without the system message."""
    body = server.requests[-1].body
    assert body is not None
    messages: list[dict[str, Any]] = body["messages"][1:]
    return messages


def gone(process: psutil.Process) -> bool:
    try:
        return process.status() == psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return True


def test_importing_it_costs_nothing_until_it_is_used() -> None:
    code = (
        "import sys\nfrom interpreter import interpreter\nimport interpreter as package\n"
        "assert package.interpreter is interpreter and type(interpreter).__name__ == 'OpenInterpreter'\n"
        "print(sorted({'openai', 'rich', 'prompt_toolkit', 'interpreter.api'} & set(sys.modules)))"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=False)
    assert (result.returncode, result.stderr, result.stdout) == (0, "", "[]\n")


def test_the_default_instance_is_made_once_and_the_class_is_there_too() -> None:
    assert package.interpreter is package.interpreter
    assert isinstance(package.interpreter, package.OpenInterpreter)
    assert package.interpreter.messages == []


def test_chat_without_display_returns_what_it_added_in_lmc_with_the_cells_output(
    oi: OpenInterpreter, server: FakeServer, capsys: pytest.CaptureFixture[str]
) -> None:
    server.enqueue(Reply.tool_call("python", "print(2380*3875)"), Reply.text("It is 9222500."))

    added = oi.chat("What's 2380*3875?", display=False)

    assert added == [
        {"role": "assistant", "type": "code", "format": "python", "content": "print(2380*3875)"},
        {"role": "computer", "type": "console", "format": "output", "content": "9222500\n"},
        {"role": "assistant", "type": "message", "content": "It is 9222500."},
    ]
    assert oi.messages == [{"role": "user", "type": "message", "content": "What's 2380*3875?"}, *added]
    assert capsys.readouterr() == ("", "")  # display=False draws nothing
    assert len(server.requests) == 2


def joined(chunks: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The chunks with each run of content chunks of one message joined (how a stream is cut varies)."""
    out: list[dict[str, Any]] = []
    for chunk in chunks:
        last = out[-1] if out else {}
        same = {k: v for k, v in last.items() if k != "content"} == {k: v for k, v in chunk.items() if k != "content"}
        if "content" in chunk and "content" in last and same and isinstance(chunk["content"], str):
            out[-1] = {**last, "content": last["content"] + chunk["content"]}
        else:
            out.append(chunk)
    return out


def test_stream_yields_each_message_wrapped_in_start_and_end_flags_in_order(
    oi: OpenInterpreter, server: FakeServer
) -> None:
    server.enqueue(Reply.tool_call("python", "print(34/24)"), Reply.text("It is 1.4166."))

    chunks = list(oi.chat("What's 34/24?", display=False, stream=True))

    code = {"type": "code", "format": "python", "content": "print(34/24)"}
    assert joined(chunks) == [
        {"role": "assistant", "type": "code", "format": "python", "start": True},
        {"role": "assistant", **code},
        {"role": "assistant", "type": "code", "format": "python", "end": True},
        {"role": "computer", "type": "confirmation", "format": "execution", "content": code},
        {"role": "computer", "type": "console", "start": True},
        {"role": "computer", "type": "console", "format": "output", "content": "1.4166666666666667\n"},
        {"role": "computer", "type": "console", "end": True},
        {"role": "assistant", "type": "message", "start": True},
        {"role": "assistant", "type": "message", "content": "It is 1.4166."},
        {"role": "assistant", "type": "message", "end": True},
    ]
    assert oi.messages[-1] == {"role": "assistant", "type": "message", "content": "It is 1.4166."}


def test_a_streamed_chat_does_nothing_until_it_is_read(oi: OpenInterpreter, server: FakeServer) -> None:
    server.enqueue(Reply.text("Hello."))
    chunks = oi.chat("hi", display=False, stream=True)
    assert server.requests == []
    assert [chunk["content"] for chunk in chunks if "content" in chunk] == ["Hello."]
    assert len(server.requests) == 1


def test_messages_take_an_lmc_history_the_next_request_carries(oi: OpenInterpreter, server: FakeServer) -> None:
    server.enqueue(Reply.text("18445000."))

    oi.messages = EXAMPLE
    oi.chat("And doubled?", display=False)

    arguments = '{"language": "python", "code": "2380*3875"}'
    call = {"id": "call_oi_2", "type": "function", "function": {"name": "execute", "arguments": arguments}}
    assert sent(server) == [
        {"role": "user", "content": "What's 2380*3875?"},
        {"role": "assistant", "content": "", "tool_calls": [call]},
        {"role": "tool", "tool_call_id": "call_oi_2", "content": "9222500"},
        {"role": "assistant", "content": "The result of multiplying 2380 by 3875 is 9222500."},
        {"role": "user", "content": "And doubled?"},
    ]
    assert oi.messages[:4] == EXAMPLE


def test_a_list_given_to_chat_replaces_the_conversation_and_a_dict_adds_to_it(
    oi: OpenInterpreter, server: FakeServer
) -> None:
    server.enqueue(Reply.text("Doubled: 18445000."), Reply.text("Halved: 4611250."))

    oi.chat([*EXAMPLE, {"role": "user", "type": "message", "content": "And doubled?"}], display=False)
    oi.chat({"type": "message", "content": "And halved?"}, display=False)  # no role: the person's, as in 0.4.3

    assert [m["content"] for m in sent(server) if m["role"] == "user"] == [
        "What's 2380*3875?",
        "And doubled?",
        "And halved?",
    ]
    with pytest.raises(ValueError, match="the last LMC message must be the person's"):
        oi.chat(EXAMPLE, display=False)


def test_reset_empties_the_messages_and_ends_the_code_processes(oi: OpenInterpreter, server: FakeServer) -> None:
    server.enqueue(Reply.tool_call("python", "import os; print(os.getpid())"), Reply.text("ok"))
    added = oi.chat("your pid?", display=False)
    worker = psutil.Process(int(added[1]["content"]))

    oi.reset()

    assert oi.messages == []
    assert gone(worker)
    server.enqueue(Reply.text("Hello again."))
    oi.chat("hi", display=False)
    assert [m["role"] for m in sent(server)] == ["user"]


def test_without_auto_run_and_nobody_to_ask_code_is_declined(oi: OpenInterpreter, server: FakeServer) -> None:
    server.enqueue(Reply.tool_call("python", "print('ran')"), Reply.text("Not run."))
    oi.auto_run = False

    added = oi.chat("run it", display=False)

    assert added[1] == {
        "role": "computer",
        "type": "console",
        "format": "output",
        "content": "The user declined to run this code.",
    }


def test_display_draws_as_the_command_does_and_still_returns_the_messages(
    oi: OpenInterpreter, server: FakeServer, capsys: pytest.CaptureFixture[str]
) -> None:
    server.enqueue(Reply.tool_call("python", "print(6*7)"), Reply.text("It is 42."))

    added = oi.chat("compute 6*7")

    shown = capsys.readouterr().out
    assert "print(6*7)" in shown and "It is 42." in shown
    assert "42\n" in shown.replace("│ ", "")
    assert added[-1]["content"] == "It is 42."


def test_computer_run_returns_its_output_as_lmc_chunks_in_the_sessions_processes(oi: OpenInterpreter) -> None:
    assert oi.computer.run("python", "x = 41\nprint(1)\nprint(2)") == [
        {"type": "console", "format": "output", "content": "1\n2\n"}
    ]
    assert oi.computer.run("python", "print(x + 1)") == [{"type": "console", "format": "output", "content": "42\n"}]


def test_the_settings_go_to_the_server_and_a_change_keeps_the_messages(oi: OpenInterpreter, server: FakeServer) -> None:
    server.enqueue(Reply.text("One."), Reply.text("Two."))
    oi.llm.model = "gpt-4o-mini"
    oi.chat("first", display=False)
    oi.llm.model = "gpt-4o"
    oi.chat("second", display=False)

    assert [request.model for request in server.requests] == ["gpt-4o-mini", "gpt-4o"]
    assert [m["content"] for m in sent(server)] == ["first", "One.", "second"]


def test_custom_instructions_and_the_budget_become_our_settings(oi: OpenInterpreter) -> None:
    oi.custom_instructions = "Answer in French."
    oi.llm.max_budget = 0.5
    oi.llm.context_window = 32_000

    oi.computer.run("python", "pass")  # the session is made on first use

    settings = oi._session().settings
    assert (settings.instructions, settings.max_cost, settings.context_window) == ("Answer in French.", 0.5, 32_000)


def test_a_model_without_functions_gets_no_tools_and_its_fenced_code_runs(
    oi: OpenInterpreter, server: FakeServer
) -> None:
    server.enqueue(Reply.text("```python\nprint(6*7)\n```"), Reply.text("It is 42."))
    oi.llm.supports_functions = False

    added = oi.chat("compute 6*7", display=False)

    body = server.requests[0].body
    assert body is not None and "tools" not in body
    assert added[1] == {
        "role": "computer",
        "type": "console",
        "format": "output",
        "content": "Output of block 1 (python):\n42\n",
    }


def test_the_system_message_can_be_read_not_replaced(oi: OpenInterpreter) -> None:
    assert "code interpreter" in oi.system_message
    with pytest.raises(AttributeError, match="cannot be replaced: set custom_instructions"):
        oi.system_message = "You are a pirate."


@pytest.mark.parametrize(
    ("call", "problem"),
    [
        ({}, "reads tasks at a terminal, and there is none"),  # pytest's stdin and stdout are no terminal
        ({"display": False}, "chat\\(\\) needs a message, unless it displays"),
        ({"message": "hi", "blocking": False}, "blocking=False\\) is not supported"),
    ],
)
def test_what_is_not_supported_says_so(oi: OpenInterpreter, call: dict[str, Any], problem: str) -> None:
    with pytest.raises(ValueError, match=problem):
        oi.chat(**call)


def test_a_history_that_is_not_lmc_is_refused_saying_which_message(oi: OpenInterpreter) -> None:
    with pytest.raises(StorageError, match=r"^message 2 has no role$"):
        oi.messages = [EXAMPLE[0], {"type": "message", "content": "hi"}]


def test_displayed_without_auto_run_it_asks_on_the_terminal_as_the_command_does(
    server: FakeServer, tmp_path: Path
) -> None:
    server.enqueue(Reply.tool_call("python", "print(6*7)"), Reply.text("It is 42."))
    script = tmp_path / "script.py"
    script.write_text(
        textwrap.dedent(
            f"""
            from interpreter import interpreter
            interpreter.llm.api_base = {server.url!r}
            interpreter.llm.api_key = "sk-test"
            added = interpreter.chat("compute 6*7")
            print("returned", len(added), "messages")
            """
        )
    )
    terminal = Terminal(sys.executable, [str(script)], env={"INTERPRETER_HOME": os.environ["INTERPRETER_HOME"]})
    try:
        terminal.wait_for("Run this code? [y/N/e]")
        terminal.send("y\r")
        terminal.wait_for("returned 3 messages")
        assert terminal.exit_status() == 0
    finally:
        terminal.close()
    assert "│ 42" in terminal.lines()
    assert "It is 42." in terminal.text()


def test_chat_without_a_message_reads_tasks_at_a_prompt_until_exit(server: FakeServer, tmp_path: Path) -> None:
    server.enqueue(Reply.tool_call("python", "print(6*7)"), Reply.text("It is 42."), Reply.text("Hello."))
    script = tmp_path / "script.py"
    script.write_text(
        textwrap.dedent(
            f"""
            from interpreter import interpreter
            interpreter.llm.api_base = {server.url!r}
            interpreter.llm.api_key = "sk-test"
            interpreter.auto_run = True
            added = interpreter.chat()
            print("returned", [message["type"] for message in added])
            """
        )
    )
    terminal = Terminal(sys.executable, [str(script)], env={"INTERPRETER_HOME": os.environ["INTERPRETER_HOME"]})
    try:
        terminal.wait_for_prompt()
        terminal.send("compute 6*7\r")
        terminal.wait_for("It is 42.")
        terminal.wait_for_prompt()
        terminal.send("%reset\r")
        terminal.wait_for("%commands are for the interpreter command; here, call interpreter.reset()")
        terminal.wait_for_prompt()
        terminal.send("hi\r")
        terminal.wait_for("Hello.")
        terminal.wait_for_prompt()
        terminal.send("exit\r")
        terminal.wait_for("returned ")
        assert terminal.exit_status() == 0
    finally:
        terminal.close()
    assert "returned ['message', 'code', 'console', 'message', 'message', 'message']" in terminal.text()
    assert "│ 42" in terminal.lines()
