"""The Python API, `from interpreter import Interpreter`, against the loopback fake server; and README's example."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import psutil
import pytest
from fake_server import FakeServer, Fault, RateLimit, Reply

import interpreter
from interpreter import Interpreter
from interpreter.errors import ApiError, ConfigError, MissingApiKey
from interpreter.execution import sandbox
from interpreter.messages import (
    CodeCell,
    CodeDeclined,
    CodeDraft,
    CodeFinished,
    CodeProposed,
    CodeStarted,
    Message,
    ModelSwitched,
    Notice,
    OutputChunk,
    RequestStarted,
    TextDelta,
    TurnEnded,
    Usage,
)

README = Path(__file__).parent.parent / "README.md"
Make = Callable[..., Interpreter]


@pytest.fixture
def make(server: FakeServer) -> Iterator[Callable[..., Interpreter]]:
    """Build an Interpreter for the fake server; every one built is closed after the test."""
    made: list[Interpreter] = []

    def build(**options: Any) -> Interpreter:
        made.append(Interpreter(api_base=server.url, api_key="sk-test", **options))
        return made[-1]

    yield build
    for session in made:
        session.close()


def test_importing_the_package_loads_neither_the_sdk_nor_rich() -> None:
    loaded = "{'openai', 'rich', 'interpreter.api', 'interpreter.open_interpreter_api'}"
    code = f"import sys, interpreter; print(sorted({loaded} & set(sys.modules)))"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert result.stdout == "[]\n"


def test_an_unknown_name_is_an_attribute_error() -> None:
    with pytest.raises(AttributeError, match="Interpreterr"):
        interpreter.Interpreterr  # noqa: B018


def test_chat_yields_the_session_events_and_runs_code(make: Make, server: FakeServer) -> None:
    server.enqueue(Reply.tool_call("python", "print(6*7)"), Reply.text("It is 42."))
    session = make(auto_run=True)

    events = list(session.chat("compute 6*7"))

    kinds = [type(event) for event in events if not isinstance(event, CodeDraft)]
    # The usage of the first request comes before the cell it proposed; the Notice is the Python's banner.
    assert kinds[:6] == [RequestStarted, Usage, CodeProposed, CodeStarted, Notice, OutputChunk]
    drafts = [event.code for event in events if isinstance(event, CodeDraft)]
    assert drafts and drafts[-1] == "print(6*7)"  # the code as it was written, before the cell was proposed
    assert "".join(e.text for e in events if isinstance(e, OutputChunk)) == "42\n"
    (finished,) = [e for e in events if isinstance(e, CodeFinished)]
    assert finished.cell == CodeCell("python", "print(6*7)") and finished.result.exit_status == 0
    assert "".join(e.text for e in events if isinstance(e, TextDelta)) == "It is 42."
    assert events[-1] == TurnEnded("done", 2)
    roles = [message.role for message in session.messages]
    assert roles == ["user", "assistant", "tool", "assistant"]
    assert session.messages[2].content == "42\n"


def test_without_auto_run_code_is_declined(make: Make, server: FakeServer) -> None:
    server.enqueue(Reply.tool_call("python", "print('ran')"), Reply.text("ok"))
    session = make()

    events = list(session.chat("run it"))

    assert [type(e) for e in events if isinstance(e, CodeDeclined | CodeStarted)] == [CodeDeclined]
    assert session.messages[2].content == "The user declined to run this code."


def test_confirm_decides_each_cell(make: Make, server: FakeServer) -> None:
    server.enqueue(Reply.tool_calls([("python", "print('yes')"), ("python", "print('no')")]), Reply.text("ok"))
    asked: list[CodeCell] = []

    def confirm(cell: CodeCell) -> bool:
        asked.append(cell)
        return "yes" in cell.code

    session = make(confirm=confirm)
    events = list(session.chat("two cells"))

    assert [cell.code for cell in asked] == ["print('yes')", "print('no')"]
    assert [e.cell.code for e in events if isinstance(e, CodeFinished)] == ["print('yes')"]
    assert [e.cell.code for e in events if isinstance(e, CodeDeclined)] == ["print('no')"]


def test_the_settings_file_cannot_make_the_api_run_code(make: Make, server: FakeServer, private_home: Path) -> None:
    private_home.mkdir(parents=True)
    (private_home / "config.toml").write_text("auto_run = true\nmodel = 'gpt-4o-mini'\n")
    server.enqueue(Reply.tool_call("python", "print('ran')"), Reply.text("ok"))
    session = make()

    events = list(session.chat("run it"))

    assert any(isinstance(e, CodeDeclined) for e in events)
    assert session.settings.model == "gpt-4o-mini"  # the rest of the file applies
    assert server.requests[0].model == "gpt-4o-mini"


def test_messages_can_be_replaced(make: Make, server: FakeServer) -> None:
    server.enqueue(Reply.text("Your name is Ada."))
    session = make()
    earlier = [Message("user", "My name is Ada."), Message("assistant", "Hello, Ada.")]

    session.messages = earlier
    list(session.chat("What is my name?"))

    sent = server.requests[-1].body
    assert sent is not None
    assert [m["content"] for m in sent["messages"][1:]] == ["My name is Ada.", "Hello, Ada.", "What is my name?"]
    assert session.messages[:2] == earlier and len(session.messages) == 4
    session.messages.clear()  # a copy: the conversation is untouched
    assert len(session.messages) == 4


def test_messages_in_the_wire_form_continue_a_conversation(make: Make, server: FakeServer) -> None:
    server.enqueue(Reply.text("42."))
    wire: list[dict[str, Any]] = [
        {"role": "user", "content": "What is 6*7?"},
        {
            "role": "assistant",
            "content": None,
            "tool_calls": [
                {"id": "c1", "type": "function", "function": {"name": "execute", "arguments": '{"code": "6*7"}'}}
            ],
        },
        {"role": "tool", "tool_call_id": "c1", "content": "42"},
    ]
    session = make()
    session.messages = [Message.from_dict(data) for data in wire]
    list(session.chat("And in words?"))

    sent = server.requests[-1].body
    assert sent is not None
    assert sent["messages"][1:4] == [wire[0], {**wire[1], "content": ""}, wire[2]]


def gone(process: psutil.Process) -> bool:
    try:
        return process.status() == psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return True


def test_closing_ends_the_code_processes(server: FakeServer) -> None:
    server.enqueue(Reply.tool_call("python", "import os; print(os.getpid())"), Reply.text("ok"))
    with Interpreter(api_base=server.url, api_key="sk-test", auto_run=True) as session:
        output = "".join(e.text for e in session.chat("your pid?") if isinstance(e, OutputChunk))
        worker = psutil.Process(int(output))
        assert worker.is_running()

    assert gone(worker)
    with pytest.raises(RuntimeError, match="closed"):
        session.chat("more")


def test_an_api_failure_raises_an_interpreter_error(make: Make, server: FakeServer) -> None:
    server.enqueue(Fault.invalid_api_key())
    session = make()

    with pytest.raises(ApiError, match="the API key was refused"):
        list(session.chat("hi"))


def test_no_key_anywhere_is_a_config_error(server: FakeServer) -> None:
    with pytest.raises(MissingApiKey):
        Interpreter(api_base=server.url)


def test_a_deleted_working_directory_raises_the_line_the_command_prints(
    server: FakeServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    gone = tmp_path / "gone"
    gone.mkdir()
    monkeypatch.chdir(gone)
    gone.rmdir()

    with pytest.raises(ConfigError) as raised:
        Interpreter(api_base=server.url, api_key="sk-test")

    assert str(raised.value) == "the working directory no longer exists: cd to one that does, then run again"


def test_the_readme_example_runs(server: FakeServer, tmp_path: Path) -> None:
    section = README.read_text(encoding="utf-8").split("## Python API", 1)[1]
    example = re.search(r"```python\n(.*?)```", section, re.DOTALL)
    assert example is not None, "README's Python API section has no python example"
    server.enqueue(Reply.tool_call("python", "print(6 * 7)"), Reply.text("It is 42."))
    env = {**os.environ, "OPENAI_BASE_URL": server.url, "OPENAI_API_KEY": "sk-test"}

    result = subprocess.run(
        [sys.executable, "-c", example[1]],
        capture_output=True,
        text=True,
        env=env,
        cwd=tmp_path,
        timeout=60,
        check=False,
    )

    assert result.returncode == 0, result.stderr
    assert "It is 42." in result.stdout
    assert "[python exited with 0]" in result.stdout
    assert "4 messages" in result.stdout


@pytest.mark.skipif(not sandbox.probe().available, reason="this machine cannot sandbox cells")
def test_sandbox_true_runs_the_code_in_the_sandbox(
    make: Make, server: FakeServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name in ("work", "temp", "outside"):
        (tmp_path / name).mkdir()
    monkeypatch.chdir(tmp_path / "work")
    monkeypatch.setenv("TMPDIR", str(tmp_path / "temp"))
    server.enqueue(Reply.tool_call("shell", f"touch {tmp_path / 'outside' / 'x'}"), Reply.text("refused"))

    events = list(make(auto_run=True, sandbox=True).chat("touch a file outside"))

    (finished,) = [event for event in events if isinstance(event, CodeFinished)]
    refusal = "Read-only file system" if sandbox.probe().bwrap else "Permission denied"  # bubblewrap, else Landlock
    assert finished.result.sandboxed and refusal in finished.result.output
    assert list((tmp_path / "outside").iterdir()) == []


def test_fallback_models_stand_in_while_the_model_is_rate_limited(make: Make, server: FakeServer) -> None:
    server.enqueue(RateLimit.retry_after(60), model="gpt-4")
    server.enqueue(Reply.text("42"), model="gpt-4o-mini")
    session = make(model="gpt-4", fallback_models=["gpt-4o-mini"])

    events = list(session.chat("compute 6*7"))

    switches = [event for event in events if isinstance(event, ModelSwitched)]
    assert [(s.previous, s.model) for s in switches] == [("gpt-4", "gpt-4o-mini")]
    assert [request.model for request in server.requests] == ["gpt-4", "gpt-4o-mini"]
    assert session.messages[-1].model == "gpt-4o-mini"
