"""A conversation as the Responses API is sent it (model/responses_input.py): items, reasoning back to its server
alone, arguments as an object, figures as input_image parts after the last output of a reply."""

from __future__ import annotations

import base64
from pathlib import Path

import pytest

from interpreter.messages import Message, ToolCall
from interpreter.model.responses_input import carries_images, flat_tools, responses_input
from interpreter.model.tool import schema
from interpreter.model.wire import FIGURES_HEADING

HERE = "https://api.openai.com/v1"
ELSEWHERE = "http://localhost:8000/v1"
PNG_HEADER = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + (640).to_bytes(4, "big") + (480).to_bytes(4, "big")
REASONING = {"type": "reasoning", "id": "rs_1", "summary": [], "encrypted_content": "gAAAAB-secret"}
CALL = ToolCall("call_1", "execute", '{"language": "python", "code": "print(1)"}')


def reply(origin: str) -> Message:
    return Message("assistant", "Let me run it.", (CALL,), origin=origin, reasoning=(REASONING,))


def conversation(origin: str) -> list[Message]:
    return [
        Message("system", "Be brief."),
        Message("user", "what is 1?"),
        reply(origin),
        Message("tool", "1\n", tool_call_id="call_1"),
    ]


def test_the_system_message_is_the_instructions_and_each_other_message_its_items() -> None:
    instructions, items = responses_input(conversation(HERE), HERE)
    assert instructions == "Be brief."
    assert items == [
        {"role": "user", "content": [{"type": "input_text", "text": "what is 1?"}]},
        REASONING,
        {"type": "message", "role": "assistant", "content": "Let me run it."},
        {"type": "function_call", "call_id": "call_1", "name": "execute", "arguments": CALL.arguments},
        {"type": "function_call_output", "call_id": "call_1", "output": "1\n"},
    ]


def test_reasoning_goes_back_to_the_server_that_made_it_alone() -> None:
    _, items = responses_input(conversation(HERE), ELSEWHERE)
    assert [item.get("type") for item in items] == [None, "message", "function_call", "function_call_output"]


def test_the_origin_is_compared_redacted_as_replies_name_it() -> None:
    base = "https://x.openai.azure.com/openai/v1?api-key=abc"
    _, items = responses_input(conversation("https://x.openai.azure.com/openai/v1?api-key=***"), base)
    assert REASONING in items


def test_arguments_that_are_not_a_json_object_go_inside_one() -> None:
    message = Message("assistant", "", (ToolCall("call_1", "execute", "print(1)"),))
    _, items = responses_input([message, Message("tool", "1", tool_call_id="call_1")], HERE)
    assert items[0]["arguments"] == '{"unparsed_arguments": "print(1)"}'


def test_code_output_without_tools_goes_as_a_user_message() -> None:
    _, items = responses_input([Message("user", "Output of block 1:\n1", kind="output")], HERE)
    assert items == [{"role": "user", "content": [{"type": "input_text", "text": "Output of block 1:\n1"}]}]


def test_tools_are_flattened() -> None:
    tool = schema(["python"])
    (flat,) = flat_tools([tool])
    assert flat == {"type": "function", **tool["function"]}
    assert "function" not in flat and flat["name"] == "execute"


@pytest.fixture
def png(tmp_path: Path) -> Path:
    path = tmp_path / "figure-1.png"
    path.write_bytes(PNG_HEADER + bytes(100))
    return path


def test_figures_follow_the_last_output_of_a_reply_as_input_image_parts(png: Path, tmp_path: Path) -> None:
    calls = (ToolCall("call_1", "execute", "{}"), ToolCall("call_2", "execute", "{}"))
    messages = [
        Message("user", "plot"),
        Message("assistant", "", calls),
        Message("tool", f"[figure: {png}]", tool_call_id="call_1", figures=(str(png),)),
        Message("tool", "no figure", tool_call_id="call_2"),
        Message("assistant", "done"),
    ]
    _, items = responses_input(messages, HERE, images=tmp_path)
    kinds = [item.get("type") or item["role"] for item in items]
    assert kinds == [
        "user",
        "function_call",
        "function_call",
        "function_call_output",
        "function_call_output",
        "user",
        "message",
    ]
    parts = items[5]["content"]
    assert parts[:2] == [{"type": "input_text", "text": FIGURES_HEADING}, {"type": "input_text", "text": str(png)}]
    url = "data:image/png;base64," + base64.standard_b64encode(png.read_bytes()).decode()
    assert parts[2] == {"type": "input_image", "image_url": url, "detail": "auto"}
    assert carries_images(items)
    assert not carries_images(responses_input(messages, HERE)[1])


def test_code_output_sent_as_a_user_message_carries_its_pictures_itself(png: Path, tmp_path: Path) -> None:
    output = Message("user", f"[figure 1: {png}]", kind="output", figures=(str(png),))
    (item,) = responses_input([output], HERE, images=tmp_path)[1]
    assert [part["type"] for part in item["content"]] == ["input_text", "input_text", "input_image"]
