"""Stream assembly of one reply from chunks (plain JSON, as sent): the cap on a reply's size, and arguments nested too
deeply."""

from __future__ import annotations

import json
from typing import Any

import pytest

from interpreter.errors import ApiConnectionError
from interpreter.messages import Reply, StreamItem, TextDelta
from interpreter.model.assembly import assemble

CAP = 100
NOTE = f"\n\n[the reply was cut here: it passed {CAP:,} characters]"


def chunk(delta: dict[str, Any], finish: str | None = None) -> dict[str, Any]:
    choice = {"index": 0, "delta": delta, "finish_reason": finish}
    return {"id": "c", "object": "chat.completion.chunk", "created": 0, "model": "m", "choices": [choice]}


def call(index: int, arguments: str, *, name: str = "execute") -> dict[str, Any]:
    fragment = {"index": index, "id": f"call_{index}", "function": {"name": name, "arguments": arguments}}
    return chunk({"tool_calls": [fragment]})


class Endless:
    """Chunks of text for ever, counting how many were taken."""

    def __init__(self, piece: str) -> None:
        self.piece = piece
        self.taken = 0

    def __iter__(self) -> Endless:
        return self

    def __next__(self) -> dict[str, Any]:
        self.taken += 1
        return chunk({"content": self.piece})


def items_of(chunks: Any, *, cap: int = CAP) -> list[StreamItem]:
    return list(assemble(chunks, origin="http://api", cap=cap))


def reply_of(items: list[StreamItem]) -> Reply:
    reply = items[-1]
    assert isinstance(reply, Reply)
    return reply


def test_an_endless_reply_is_cut_after_the_chunk_that_passes_the_cap_and_says_so() -> None:
    endless = Endless("x" * 30)
    items = items_of(endless)
    assert endless.taken == 4  # 120 characters: the fourth chunk passed 100, and no fifth was read
    reply = reply_of(items)
    assert reply.message.content == "x" * 120 + NOTE
    assert reply.finish_reason == "length"
    assert [item.text for item in items if isinstance(item, TextDelta)][-1] == NOTE  # the person sees the line too


def test_a_cut_reply_keeps_its_whole_calls_and_drops_the_one_cut_short() -> None:
    whole = json.dumps({"language": "python", "code": "print(1)"})
    chunks = [call(0, whole), call(1, '{"language": "python", "code": "'), call(1, "y" * 200)]
    reply = reply_of(items_of(chunks))
    assert [c.arguments for c in reply.message.tool_calls] == [whole]


def test_reasoning_counts_toward_the_cap() -> None:
    chunks = [chunk({"reasoning_content": "t" * 150}), chunk({"content": "never read"})]
    reply = reply_of(items_of(chunks))
    assert reply.message.content == NOTE.lstrip("\n")  # no text before it: no blank line either
    assert "never read" not in reply.message.content


def test_a_reply_within_the_cap_is_whole() -> None:
    reply = reply_of(items_of([chunk({"content": "y" * CAP}), chunk({}, "stop")]))
    assert reply.message.content == "y" * CAP
    assert reply.finish_reason == "stop"


def test_arguments_nested_too_deeply_with_no_finish_are_an_unfinished_call_not_a_crash() -> None:
    nested = "[" * 100_000 + "]" * 100_000
    with pytest.raises(ApiConnectionError, match="ended before the model finished"):
        items_of([call(0, nested)], cap=1_000_000)  # whole calls and no finish_reason, as Gemini sends them


def test_chunks_of_the_wrong_shape_count_as_empty_and_the_reply_still_assembles() -> None:
    odd: list[Any] = [
        [1, 2],
        {"choices": None},
        {"choices": [None, {"delta": None}, {"delta": {"content": 7, "tool_calls": "x"}}]},
        {"choices": [{"delta": {"tool_calls": [None, 5]}}], "usage": 3},
    ]
    items = items_of([*odd, chunk({"content": "fine"}, finish="stop")], cap=1_000)
    assert [item.text for item in items if isinstance(item, TextDelta)] == ["fine"]
    reply = reply_of(items)
    assert (reply.message.content, reply.message.tool_calls, reply.finish_reason) == ("fine", (), "stop")
