"""Odd files and hostile streams, met by the installed `interpreter` as a person would meet them: one line or a
retry, never a crash, a hang or memory without bound."""

from __future__ import annotations

import json
import os
import subprocess
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from fake_server import CommentsOnly, EndlessReply, FakeServer, Fault, RawEvent, Reply
from fakes import without_total
from stored import conversation_files, stored_messages
from terminal import Terminal

from interpreter.conversation.storage import CONVERSATION_CAP
from interpreter.model.assembly import REPLY_CAP

Run = Callable[..., subprocess.CompletedProcess[str]]
Spawn = Callable[..., Terminal]
DEEP = 100_000  # arrays nested this deep: far past what Python's json parser takes (about 1,000 on this machine)
CUT_NOTE = f"[the reply was cut here: it passed {REPLY_CAP:,} characters]"


@pytest.fixture
def spawn(interpreter_command: list[str], server: FakeServer) -> Iterator[Spawn]:
    terminals: list[Terminal] = []

    def start(*args: str) -> Terminal:
        options = ["--api-base", server.url, "--api-key", "sk-test", *args]
        terminal = Terminal(interpreter_command[0], options, cols=200, env={})  # wide: a path on one line
        terminals.append(terminal)
        return terminal

    yield start
    for terminal in terminals:
        terminal.close()


def said(result: subprocess.CompletedProcess[str]) -> list[str]:
    """Every line the program printed, stdout and stderr together."""
    return (result.stdout + result.stderr).splitlines()


def saved_messages(home: Path) -> list[dict[str, Any]]:
    """The messages of the one saved conversation."""
    (path,) = conversation_files(home / "conversations")
    return stored_messages(path)


# ---- files the tool is pointed at -----------------------------------------------------------------------


def odd_file(kind: str, where: Path) -> str:
    """A path to something %load must refuse: a device, a FIFO, a folder, a file over the cap (sparse: no disk)."""
    if kind == "device":
        return "/dev/zero"
    path = where / f"{kind}.json"
    if kind == "fifo":
        os.mkfifo(path)
    elif kind == "folder":
        path.mkdir()
    else:
        with path.open("wb") as file:
            file.truncate(CONVERSATION_CAP + 1)
    return str(path)


@pytest.mark.parametrize(
    ("kind", "problem"),
    [
        ("device", "it is a character device, not a regular file"),
        ("fifo", "it is a FIFO (named pipe), not a regular file"),
        ("folder", "it is a directory, not a regular file"),
        ("huge", "it is 100.0 MB, over the 100.0 MB read"),
    ],
)
def test_load_of_anything_but_a_conversation_sized_regular_file_is_one_line_and_exit_2(
    run_cli: Run, server: FakeServer, tmp_path: Path, kind: str, problem: str
) -> None:
    path = odd_file(kind, tmp_path)
    result = run_cli("-c", f"%load {path}", timeout=60)  # a FIFO or /dev/zero read as before: never returns
    assert result.returncode == 2
    assert said(result) == [f"error: cannot read {path}: {problem}"]
    assert server.requests == []


def test_load_of_a_fifo_in_home_leaves_the_interactive_session_going(
    spawn: Spawn, server: FakeServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HOME", str(tmp_path))
    os.mkfifo(tmp_path / "chat.json")
    server.enqueue(Reply.text("Still here."))
    terminal = spawn()
    terminal.wait_for_prompt()
    terminal.send("%load ~/chat.json\r")
    terminal.wait_for("it is a FIFO (named pipe), not a regular file")
    terminal.wait_for_prompt()
    terminal.send("are you there?\r")
    terminal.wait_for("Still here.")
    terminal.wait_for_prompt()
    terminal.press("d")
    assert terminal.exit_status() == 0


def test_resume_of_a_conversation_swapped_for_a_fifo_is_one_line_and_exit_2(
    run_cli: Run, server: FakeServer, private_home: Path
) -> None:
    folder = private_home / "conversations"
    folder.mkdir(parents=True)
    os.mkfifo(folder / "20250301-140500-ab12.json")
    for resume in (["--resume", "20250301-140500-ab12"], ["--resume"]):  # by its id, and as the latest
        result = run_cli(*resume, "-c", "go on", timeout=60)
        assert result.returncode == 2
        path = folder / "20250301-140500-ab12.json"
        assert said(result) == [f"interpreter: cannot read {path}: it is a FIFO (named pipe), not a regular file"]
    assert server.requests == []


def test_the_conversation_list_shows_a_fifo_among_them_as_unreadable_at_once(
    interpreter_command: list[str], private_home: Path
) -> None:
    folder = private_home / "conversations"
    folder.mkdir(parents=True)
    os.mkfifo(folder / "20250301-140500-ab12.json")
    listed = subprocess.run(
        [*interpreter_command, "conversations"], capture_output=True, text=True, timeout=60, check=False
    )
    assert listed.returncode == 0
    (row,) = [line for line in listed.stdout.splitlines() if line.startswith("20250301-140500-ab12")]
    assert row.endswith("(cannot be read)")
    shown = subprocess.run(
        [*interpreter_command, "conversations", "show", "20250301-140500-ab12"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert shown.returncode == 2
    assert shown.stderr.endswith("it is a FIFO (named pipe), not a regular file\n")


# ---- hostile streams ---------------------------------------------------------------------------------------


def test_bytes_that_are_not_utf8_in_a_stream_arrive_as_replacement_characters(
    run_cli: Run, server: FakeServer, private_home: Path
) -> None:
    """Chosen: the reply goes on with U+FFFD for the bad bytes, as a file or a task that is not UTF-8 is read; the
    stream is not thrown away (a server that cut a character in two would only do it again)."""
    chunk = '{"id": "c", "object": "chat.completion.chunk", "created": 0, "model": "gpt-4o", "choices": [{"index": 0, '
    raw = chunk.encode() + b'"delta": {"content": " caf\xc3 \xff\xfe"}, "finish_reason": null}]}'
    server.enqueue(RawEvent(Reply.text("Half a character:"), after=4, data=raw))
    result = run_cli("-c", "say something")
    assert result.returncode == 0, result.stderr
    assert "internal error" not in result.stderr
    answer = saved_messages(private_home)[-1]["content"]
    assert answer == "Half a character: caf\N{REPLACEMENT CHARACTER} \N{REPLACEMENT CHARACTER}\N{REPLACEMENT CHARACTER}"
    assert len(server.requests) == 1


def test_arguments_nested_100000_deep_are_invalid_json_the_model_is_told(
    run_cli: Run, server: FakeServer, private_home: Path
) -> None:
    nested = "[" * DEEP + "]" * DEEP
    server.enqueue(Reply.raw_arguments(nested), Reply.text("Sorry, here is the answer."))
    result = run_cli("-y", "-c", "do it")
    assert result.returncode == 0, result.stderr
    assert "internal error" not in result.stderr
    assert "the model made a bad tool call: error: the arguments were not valid JSON (nested too deeply)" in (
        result.stdout
    )
    body = server.requests[1].body
    assert body is not None
    call, told = body["messages"][-2:]
    assert json.loads(call["tool_calls"][0]["function"]["arguments"]) == {"unparsed_arguments": nested}
    assert told["role"] == "tool" and "nested too deeply" in told["content"]
    assert saved_messages(private_home)[-1]["content"] == "Sorry, here is the answer."


def test_arguments_nested_100000_deep_leave_the_interactive_session_going(spawn: Spawn, server: FakeServer) -> None:
    server.enqueue(Reply.raw_arguments("[" * DEEP + "]" * DEEP), Reply.text("Sorry."))
    terminal = spawn("-y")
    terminal.wait_for_prompt()
    terminal.send("do it\r")
    terminal.wait_for("Sorry.")
    server.enqueue(Reply.text("Still here."))
    terminal.wait_for_prompt()
    terminal.send("and now?\r")
    terminal.wait_for("Still here.")
    terminal.wait_for_prompt()
    terminal.press("d")
    assert terminal.exit_status() == 0
    assert "internal error" not in terminal.text()


def test_a_stream_of_comments_only_is_retried_then_one_line(
    run_cli: Run, server: FakeServer, private_home: Path
) -> None:
    private_home.mkdir(parents=True)
    (private_home / "config.toml").write_text("idle_timeout = 0.2\nmax_retries = 1\n")  # comments for 2 s at most
    server.responder = Fault.always(CommentsOnly(every=0.05))
    result = run_cli("-c", "hello", timeout=120)
    assert result.returncode == 1
    assert "internal error" not in result.stderr
    (line,) = [line for line in said(result) if "keep-alive" in line]
    assert "sent no reply for 2s, only keep-alive comments" in line
    assert len(server.requests) == 2  # the first, and one retry


def test_an_endless_reply_is_cut_at_the_cap_with_one_line_and_the_conversation_kept(
    run_cli: Run, server: FakeServer, private_home: Path
) -> None:
    piece = 65_536
    server.enqueue(EndlessReply(piece=piece))
    server.enqueue(Reply.text("A short answer."))
    result = run_cli("-c", "write forever", timeout=120)
    assert result.returncode == 0, result.stderr
    assert without_total(result.stdout.splitlines())[-1].endswith(CUT_NOTE)
    answer = saved_messages(private_home)[-1]["content"]
    kept = answer.removesuffix(f"\n\n{CUT_NOTE}")
    assert REPLY_CAP < len(kept) <= REPLY_CAP + piece  # the chunk that passed the cap, and not one more
    assert len(server.requests) == 1  # a cut reply is an answer: nothing is asked again
