"""A reply assembled from Responses API events (model/responses_stream.py), fed the events as plain mappings."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import pytest

from interpreter.errors import ApiConnectionError, ApiResponseError, ApiStatusError
from interpreter.messages import Reply, StreamItem, TextDelta, Thinking, ToolCall, ToolCallDraft, Usage
from interpreter.model.responses_stream import read_events

ORIGIN = "https://api.example.com/v1"
REASONING = {
    "type": "reasoning",
    "id": "rs_1",
    "summary": [{"type": "summary_text", "text": "Hm."}],
    "encrypted_content": "gAAA",
}
USAGE = {"input_tokens": 120, "input_tokens_details": {"cached_tokens": 100}, "output_tokens": 30}
COMPLETED = {"type": "response.completed", "response": {"status": "completed", "usage": USAGE}}


def call_added(item_id: str, call_id: str, name: str = "execute") -> dict[str, Any]:
    item = {"type": "function_call", "id": item_id, "call_id": call_id, "name": name, "arguments": ""}
    return {"type": "response.output_item.added", "item": item}


def arguments(item_id: str, delta: str) -> dict[str, Any]:
    return {"type": "response.function_call_arguments.delta", "item_id": item_id, "delta": delta}


def text(delta: str) -> dict[str, Any]:
    return {"type": "response.output_text.delta", "delta": delta}


def read(events: Iterable[dict[str, Any]], *, cap: int = 2_000_000) -> list[StreamItem]:
    return list(read_events(iter(events), origin=ORIGIN, cap=cap))


def final(items: list[StreamItem]) -> Reply:
    assert isinstance(items[-1], Reply)
    return items[-1]


def test_text_deltas_then_the_usage_then_the_reply() -> None:
    items = read([{"type": "response.created"}, text("Hello"), text(" there"), COMPLETED])
    assert items == [
        TextDelta("Hello"),
        TextDelta(" there"),
        Usage(prompt_tokens=120, completion_tokens=30, cached_tokens=100),  # input_tokens_details.cached_tokens
        Reply(final(items).message, "stop"),
    ]
    assert final(items).message.content == "Hello there"
    assert final(items).message.origin is None  # neither calls nor reasoning: nothing goes back to this server


def test_a_reasoning_summary_streams_as_thinking_and_the_item_is_kept_whole_for_its_server() -> None:
    summary = {"type": "response.reasoning_summary_text.delta", "item_id": "rs_1", "delta": "Hm."}
    done = {"type": "response.output_item.done", "item": REASONING}
    items = read([summary, done, text("42"), COMPLETED])
    assert items[0] == Thinking("Hm.")
    message = final(items).message
    assert message.reasoning == (REASONING,)
    assert message.origin == ORIGIN
    assert message.content == "42"


def test_calls_stream_as_drafts_by_their_order_and_end_as_tool_calls() -> None:
    events = [
        call_added("fc_a", "call_a"),
        arguments("fc_a", '{"language": '),
        call_added("fc_b", "call_b"),
        arguments("fc_b", '{"code": "2"}'),
        arguments("fc_a", '"python"}'),
        COMPLETED,
    ]
    items = read(events)
    drafts = [item for item in items if isinstance(item, ToolCallDraft)]
    assert drafts == [
        ToolCallDraft(0, "execute", "", first=True),
        ToolCallDraft(0, "execute", '{"language": '),
        ToolCallDraft(1, "execute", "", first=True),
        ToolCallDraft(1, "execute", '{"code": "2"}'),
        ToolCallDraft(0, "execute", '"python"}'),
    ]
    reply = final(items)
    assert reply.finish_reason == "tool_calls"
    assert reply.message.tool_calls == (
        ToolCall("call_a", "execute", '{"language": "python"}'),
        ToolCall("call_b", "execute", '{"code": "2"}'),
    )
    assert reply.message.origin == ORIGIN


def test_arguments_sent_only_whole_in_the_done_event_are_taken_from_it() -> None:
    done = {"type": "response.function_call_arguments.done", "item_id": "fc_a", "arguments": '{"code": "1"}'}
    items = read([call_added("fc_a", "call_a"), done, COMPLETED])
    assert final(items).message.tool_calls[0].arguments == '{"code": "1"}'


def test_the_done_event_repeats_nothing_the_deltas_already_sent() -> None:
    done = {"type": "response.function_call_arguments.done", "item_id": "fc_a", "arguments": '{"code": "1"}'}
    items = read([call_added("fc_a", "call_a"), arguments("fc_a", '{"code": "1"}'), done, COMPLETED])
    assert final(items).message.tool_calls[0].arguments == '{"code": "1"}'


def test_a_call_only_announced_when_done_is_still_a_call() -> None:
    item = {"type": "function_call", "id": "fc_a", "call_id": "call_a", "name": "execute", "arguments": "{}"}
    items = read([{"type": "response.output_item.done", "item": item}, COMPLETED])
    assert final(items).message.tool_calls == (ToolCall("call_a", "execute", "{}"),)


@pytest.mark.parametrize(("reason", "finish"), [("max_output_tokens", "length"), ("content_filter", "content_filter")])
def test_an_incomplete_response_ends_the_reply_as_chat_completions_names_it(reason: str, finish: str) -> None:
    incomplete = {"type": "response.incomplete", "response": {"incomplete_details": {"reason": reason}, "usage": USAGE}}
    items = read([text("half"), incomplete])
    assert final(items).finish_reason == finish
    assert final(items).message.content == "half"
    assert Usage(120, 30, cached_tokens=100) in items


@pytest.mark.parametrize(
    ("code", "status"),
    [
        ("rate_limit_exceeded", 429),
        ("insufficient_quota", 429),
        ("server_error", 500),
        ("context_length_exceeded", 400),
    ],
)
def test_a_failed_response_is_the_status_error_the_same_failure_gets_over_http(code: str, status: int) -> None:
    failed = {
        "type": "response.failed",
        "response": {"error": {"code": code, "message": "Please try again in 11.054s."}},
    }
    with pytest.raises(ApiStatusError) as caught:
        read([text("so far"), failed])
    assert (caught.value.status, caught.value.code) == (status, code)
    assert caught.value.body == {"message": "Please try again in 11.054s.", "type": None, "param": None, "code": code}


def test_an_error_event_is_a_failure_too() -> None:
    event = {"type": "error", "code": "server_error", "message": "The server had an error", "param": None}
    with pytest.raises(ApiStatusError) as caught:
        read([event])
    assert caught.value.status == 500
    assert str(caught.value) == "HTTP 500 inside the reply: The server had an error"


def test_a_failure_with_a_code_that_names_no_status_is_a_broken_reply() -> None:
    with pytest.raises(ApiResponseError, match="an error inside the reply: odd"):
        read([{"type": "error", "code": "something_new", "message": "odd"}])


def test_a_stream_that_ends_without_its_last_event_is_cut() -> None:
    with pytest.raises(ApiConnectionError, match="ended before the model finished"):
        read([text("half"), {"type": "response.output_text.done", "text": "half"}])


def test_unknown_events_are_ignored() -> None:
    items = read([{"type": "response.something_new", "delta": "x"}, {"no": "type"}, text("ok"), COMPLETED])
    assert [item for item in items if isinstance(item, TextDelta)] == [TextDelta("ok")]


def test_a_reply_past_the_cap_is_cut_there_keeping_only_whole_calls() -> None:
    events = [
        text("a" * 60),
        call_added("fc_a", "call_a"),
        arguments("fc_a", '{"code": "1"'),
        text("b" * 60),
        COMPLETED,
    ]
    items = read(events, cap=100)
    reply = final(items)
    assert reply.finish_reason == "length"
    assert reply.message.tool_calls == ()
    assert reply.message.content.endswith("[the reply was cut here: it passed 100 characters]")
    assert "z" not in reply.message.content  # nothing is read past the event that passed the cap


def test_text_that_is_not_valid_unicode_is_made_valid() -> None:
    items = read([text("bad \ud83d half"), COMPLETED])
    assert final(items).message.content == "bad \ufffd half"


def test_a_server_that_gives_its_items_no_ids_is_followed_by_their_place() -> None:
    item = {"type": "function_call", "call_id": "call_a", "name": "execute", "arguments": ""}
    events: list[dict[str, Any]] = [
        {"type": "response.output_item.added", "output_index": 1, "item": item},
        {"type": "response.function_call_arguments.delta", "output_index": 1, "delta": "{}"},
        {"type": "response.output_item.done", "output_index": 1, "item": {**item, "arguments": "{}"}},
        COMPLETED,
    ]
    assert final(read(events)).message.tool_calls == (ToolCall("call_a", "execute", "{}"),)


def test_usage_counts_that_are_not_numbers_count_as_none() -> None:
    completed = {"type": "response.completed", "response": {"usage": {"input_tokens": "12", "output_tokens": None}}}
    assert Usage(0, 0) in read([text("ok"), completed])
