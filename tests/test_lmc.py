"""Open Interpreter's LMC messages as ours and back, its streamed chunks, and its conversation files read."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from interpreter.conversation import storage
from interpreter.conversation.storage import Conversation
from interpreter.errors import FileRefused, StorageError
from interpreter.messages import (
    CodeCell,
    CodeFinished,
    CodeProposed,
    Event,
    Figure,
    Message,
    OutputChunk,
    RunResult,
    TextDelta,
    ToolCall,
    Usage,
)
from interpreter.open_interpreter import lmc

# The example of docs.openinterpreter.com/protocols/lmc-messages, as issue 24 quotes it.
EXAMPLE: list[dict[str, Any]] = [
    {"role": "user", "type": "message", "content": "What's 2380*3875?"},
    {"role": "assistant", "type": "code", "format": "python", "content": "2380*3875"},
    {"role": "computer", "type": "console", "format": "output", "content": "9222500"},
    {"role": "assistant", "type": "message", "content": "The result of multiplying 2380 by 3875 is 9222500."},
]
CALL = ToolCall("call_oi_2", "execute", '{"language": "python", "code": "2380*3875"}')


def test_the_docs_example_becomes_a_tool_call_and_the_tool_message_answering_it() -> None:
    assert lmc.to_messages(EXAMPLE) == [
        Message("user", "What's 2380*3875?"),
        Message("assistant", "", tool_calls=(CALL,)),
        Message("tool", "9222500", tool_call_id="call_oi_2"),
        Message("assistant", "The result of multiplying 2380 by 3875 is 9222500."),
    ]


def test_our_messages_become_the_same_lmc_list_again() -> None:
    assert lmc.from_messages(lmc.to_messages(EXAMPLE)) == EXAMPLE


def test_text_then_code_is_one_answer_and_code_without_output_is_answered() -> None:
    messages = lmc.to_messages(
        [
            {"role": "system", "type": "message", "content": "You are Open Interpreter."},
            {"role": "user", "type": "message", "content": "list and count"},
            {"role": "assistant", "type": "message", "content": "Listing."},
            {"role": "assistant", "type": "code", "format": "shell", "content": "ls"},
            {"role": "computer", "type": "confirmation", "format": "execution", "content": {"type": "code"}},
            {"role": "computer", "type": "console", "format": "active_line", "content": "1"},
            {"role": "computer", "type": "console", "format": "output", "content": "a\n"},
            {"role": "computer", "type": "console", "format": "output", "content": "b\n"},
            {"role": "assistant", "type": "code", "format": "python", "content": "2"},
            {"role": "assistant", "type": "message", "content": "Done."},
        ]
    )

    assert [(m.role, m.content, [c.id for c in m.tool_calls], m.tool_call_id) for m in messages] == [
        ("user", "list and count", [], None),
        ("assistant", "Listing.", ["call_oi_4"], None),  # the system message is ours: left out
        ("tool", "a\nb\n", [], "call_oi_4"),
        ("assistant", "", ["call_oi_9"], None),
        ("tool", "(no output)", [], "call_oi_9"),  # a server refuses a call nothing answers
        ("assistant", "Done.", [], None),
    ]


@pytest.mark.parametrize(
    ("message", "becomes"),
    [
        ({"role": "user", "type": "image", "format": "path", "content": "/tmp/a.png"}, "[an image: /tmp/a.png]"),
        (
            {"role": "computer", "type": "image", "format": "base64.png", "content": "iVBORw0KGgo="},
            "[an image (base64.png) was shown here; it was not carried over]",
        ),
        ({"role": "user", "type": "file", "content": "notes.txt"}, "[a file: notes.txt]"),
        (
            {"role": "user", "type": "audio", "format": "wav", "content": "..."},
            "[an Open Interpreter message of type 'audio': ...]",
        ),
        ({"role": "computer", "type": "message", "content": {"a": 1}}, '{"a": 1}'),
        ({"role": "user", "content": "no type is a message"}, "no type is a message"),
    ],
)
def test_what_has_no_counterpart_becomes_a_note(message: dict[str, Any], becomes: str) -> None:
    assert lmc.to_messages([message]) == [Message("user", becomes)]


def test_output_no_code_came_before_is_code_output_from_the_person() -> None:
    output = {"role": "computer", "type": "console", "format": "output", "content": "42"}
    assert lmc.to_messages([output]) == [Message("user", "42", kind="output")]


@pytest.mark.parametrize(
    ("lmc_list", "problem"),
    [
        ({"role": "user"}, "an Open Interpreter conversation is a JSON list of messages, and this is not a list"),
        ([{"role": "user", "content": "hi"}, "hello"], "message 2 is not a JSON object"),
        ([{"type": "message", "content": "hi"}], "message 1 has no role"),
        ([{"role": "robot"}], "message 1 has the role 'robot'; LMC roles are user, assistant, computer, system"),
    ],
)
def test_what_is_not_lmc_is_refused_saying_which_message(lmc_list: object, problem: str) -> None:
    with pytest.raises(StorageError) as refused:
        lmc.to_messages(lmc_list)
    assert str(refused.value) == problem


def test_our_outputs_figures_and_unreadable_calls_in_lmc() -> None:
    bad = ToolCall("c2", "browse", "{}")
    messages = [
        Message(
            "assistant",
            "Plotting.",
            tool_calls=(ToolCall("c1", "execute", '{"language": "python", "code": "plot()"}'),),
        ),
        Message("tool", "[figure 1: /h/figure-1.png]", tool_call_id="c1", figures=("/h/figure-1.png",)),
        Message("assistant", "", tool_calls=(bad,)),
        Message("user", "Output of block 1 (python):\n42", kind="output"),
    ]

    assert lmc.from_messages(messages) == [
        {"role": "assistant", "type": "message", "content": "Plotting."},
        {"role": "assistant", "type": "code", "format": "python", "content": "plot()"},
        {"role": "computer", "type": "console", "format": "output", "content": "[figure 1: /h/figure-1.png]"},
        {"role": "computer", "type": "image", "format": "path", "content": "/h/figure-1.png"},
        {"role": "assistant", "type": "message", "content": "[a tool call that could not be read: browse]"},
        {"role": "computer", "type": "console", "format": "output", "content": "Output of block 1 (python):\n42"},
    ]


def test_a_sessions_events_stream_as_chunks_wrapped_in_start_and_end_flags() -> None:
    cell = CodeCell("python", "print(34/24)")
    events: list[Event] = [
        TextDelta("Let me "),
        TextDelta("compute."),
        Usage(10, 5),
        CodeProposed(cell),
        OutputChunk("1.41"),
        OutputChunk("66\n"),
        Figure(1, "/h/figure-1.png", 10, 10),
        CodeFinished(cell, RunResult("1.4166\n", 0)),
        TextDelta(""),
        TextDelta("It is 1.4166."),
    ]
    flags = lmc.Flags()

    chunks = [chunk for event in events for piece in lmc.pieces(event) for chunk in flags.feed(piece)] + flags.end()

    code = {"type": "code", "format": "python", "content": "print(34/24)"}
    assert chunks == [
        {"role": "assistant", "type": "message", "start": True},
        {"role": "assistant", "type": "message", "content": "Let me "},
        {"role": "assistant", "type": "message", "content": "compute."},
        {"role": "assistant", "type": "message", "end": True},
        {"role": "assistant", "type": "code", "format": "python", "start": True},
        {"role": "assistant", **code},
        {"role": "assistant", "type": "code", "format": "python", "end": True},
        {"role": "computer", "type": "confirmation", "format": "execution", "content": code},
        {"role": "computer", "type": "console", "start": True},  # a console flag has no format (0.4.3)
        {"role": "computer", "type": "console", "format": "output", "content": "1.41"},
        {"role": "computer", "type": "console", "format": "output", "content": "66\n"},
        {"role": "computer", "type": "console", "end": True},
        {"role": "computer", "type": "image", "format": "path", "start": True},
        {"role": "computer", "type": "image", "format": "path", "content": "/h/figure-1.png"},
        {"role": "computer", "type": "image", "format": "path", "end": True},
        {"role": "assistant", "type": "message", "start": True},
        {"role": "assistant", "type": "message", "content": "It is 1.4166."},
        {"role": "assistant", "type": "message", "end": True},
    ]


def test_an_open_interpreter_file_is_read_as_a_new_conversation_for_the_model(tmp_path: Path) -> None:
    path = tmp_path / "What's_2380*3875__December_6_2026.json"
    path.write_text(json.dumps(EXAMPLE))

    read = lmc.read_conversation(path, "gpt-4o-mini")

    assert read.model == "gpt-4o-mini"
    assert read.messages == lmc.to_messages(EXAMPLE)


def test_a_file_of_ours_is_read_as_storage_reads_it(tmp_path: Path) -> None:
    ours = Conversation.new("gpt-4o")
    ours.messages = [Message("user", "hi"), Message("assistant", "hello")]
    path = tmp_path / "saved.json"
    storage.write(ours, path)

    assert lmc.read_conversation(path, "other") == storage.read(path)


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("[{", "it is not JSON"),
        ('[{"role": "user", "content": "hi"}, 3]', "message 2 is not a JSON object"),
        ("[" * 100_000, "its JSON is nested too deeply"),
    ],
)
def test_a_broken_file_is_one_line_naming_it(tmp_path: Path, text: str, problem: str) -> None:
    path = tmp_path / "broken.json"
    path.write_text(text)

    with pytest.raises(StorageError, match=f"^cannot read {path}: {problem}"):
        lmc.read_conversation(path, "gpt-4o")


def test_a_folder_is_refused_before_it_is_read(tmp_path: Path) -> None:
    with pytest.raises(FileRefused, match="a directory"):
        lmc.read_conversation(tmp_path, "gpt-4o")


def test_a_lone_surrogate_in_the_json_becomes_a_replacement_character() -> None:
    (message,) = lmc.to_messages(json.loads('[{"role": "user", "type": "message", "content": "caf\\udce9"}]'))
    assert message.content == "caf\ufffd"
