"""The fake server's imitation of the Responses API, checked on the wire (raw HTTP) and through the real SDK: the
events as OpenAI's reference shapes them, one script answering both APIs, and the checks OpenAI makes on `input`."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import httpx2
import openai
import pytest
from fake_responses import REASONING_MISSING, UNANSWERED_CALL, UNASKED_OUTPUT
from fake_server import FakeServer, Fault, RateLimit, Reply, cells, stream_failure

USER = {"role": "user", "content": [{"type": "input_text", "text": "What is 6*7?"}]}


@pytest.fixture
def server() -> Iterator[FakeServer]:
    with FakeServer() as running:
        yield running


def post(server: FakeServer, body: dict[str, Any], path: str = "/responses") -> httpx2.Response:
    return httpx2.post(server.url + path, json=body, timeout=10.0)


def frames(text: str) -> list[tuple[str, dict[str, Any]]]:
    """Each SSE event of a body as (its `event:` name, its data)."""
    events = []
    for block in text.strip().split("\n\n"):
        lines = dict(line.split(": ", 1) for line in block.splitlines())
        events.append((lines["event"], json.loads(lines["data"])))
    return events


def streamed(server: FakeServer, **body: Any) -> list[tuple[str, dict[str, Any]]]:
    response = post(server, {"model": "gpt-5", "input": [USER], "stream": True, **body})
    assert response.status_code == 200 and response.headers["content-type"].startswith("text/event-stream")
    return frames(response.text)


def test_a_text_reply_streams_as_the_reference_names_its_events(server: FakeServer) -> None:
    server.enqueue(Reply.text("It is 42.", reasoning="Six sevens."))
    events = streamed(server)
    names = [name for name, _ in events]
    assert names == [
        "response.created",
        "response.in_progress",
        "response.output_item.added",
        "response.reasoning_summary_part.added",
        "response.reasoning_summary_text.delta",
        "response.reasoning_summary_text.done",
        "response.reasoning_summary_part.done",
        "response.output_item.done",
        "response.output_item.added",
        "response.content_part.added",
        "response.output_text.delta",
        "response.output_text.delta",
        "response.output_text.delta",
        "response.output_text.done",
        "response.content_part.done",
        "response.output_item.done",
        "response.completed",
    ]
    assert [data["type"] for _, data in events] == names  # each data names its type too
    assert [data["sequence_number"] for _, data in events] == list(range(len(events)))
    completed = events[-1][1]["response"]
    assert completed["status"] == "completed"
    assert set(completed["usage"]) == {
        "input_tokens",
        "input_tokens_details",
        "output_tokens",
        "output_tokens_details",
        "total_tokens",
    }
    reasoning, message = completed["output"]
    assert reasoning["type"] == "reasoning" and reasoning["encrypted_content"].startswith("gAAAAB")
    assert message["content"][0]["text"] == "It is 42."


def test_the_stream_has_no_done_line(server: FakeServer) -> None:
    response = post(server, {"model": "gpt-5", "input": [USER], "stream": True})
    assert "[DONE]" not in response.text


def test_a_call_streams_its_arguments_in_pieces_and_whole(server: FakeServer) -> None:
    server.enqueue(Reply.tool_call("python", "print(6*7)"))
    events = streamed(server)
    added = next(data for name, data in events if name == "response.output_item.added")
    assert added["item"]["type"] == "function_call" and added["item"]["arguments"] == ""
    pieces = [data["delta"] for name, data in events if name == "response.function_call_arguments.delta"]
    whole = next(data["arguments"] for name, data in events if name == "response.function_call_arguments.done")
    assert len(pieces) > 1 and "".join(pieces) == whole == json.dumps({"language": "python", "code": "print(6*7)"})


def test_a_request_without_a_stream_gets_the_response_object(server: FakeServer) -> None:
    server.enqueue(Reply.text("42"))
    answer = post(server, {"model": "gpt-5", "input": [USER]}).json()
    assert (answer["object"], answer["status"], answer["model"]) == ("response", "completed", "gpt-5")
    assert answer["output"][0]["content"][0] == {"type": "output_text", "text": "42", "annotations": []}


def test_the_sdk_reads_the_imitation(server: FakeServer) -> None:
    server.enqueue(Reply.tool_call("python", "print(1)", content="Running it.", reasoning="Easy."))
    with openai.OpenAI(api_key="x", base_url=server.url, max_retries=0) as client:
        events = list(client.responses.create(model="gpt-5", input="hi", stream=True))
    final = events[-1]
    assert final.type == "response.completed"
    assert [item.type for item in final.response.output] == ["reasoning", "message", "function_call"]
    assert final.response.output_text == "Running it."


def test_one_script_answers_both_apis(server: FakeServer) -> None:
    server.enqueue(Reply.text("on responses"), Reply.text("on chat"))
    assert streamed(server)[-1][1]["response"]["output"][0]["content"][0]["text"] == "on responses"
    chat = post(server, {"model": "gpt-4o", "messages": [{"role": "user", "content": "hi"}]}, "/chat/completions")
    assert chat.json()["choices"][0]["message"]["content"] == "on chat"


@pytest.mark.parametrize(("reason", "finish"), [("max_output_tokens", "length"), ("content_filter", "content_filter")])
def test_an_incomplete_reply_on_either_api(server: FakeServer, reason: str, finish: str) -> None:
    server.enqueue(Reply("half", incomplete=reason), Reply("half", incomplete=reason))
    last = streamed(server)[-1][1]
    assert (last["type"], last["response"]["incomplete_details"]) == ("response.incomplete", {"reason": reason})
    chat = post(server, {"model": "gpt-4o", "messages": [{"role": "user", "content": "hi"}]}, "/chat/completions")
    assert chat.json()["choices"][0]["finish_reason"] == finish


def test_a_rate_limit_inside_the_stream_fails_the_response_naming_the_wait_only_in_words(server: FakeServer) -> None:
    server.enqueue(RateLimit.in_stream("11.054s"))
    events = streamed(server)
    assert [name for name, _ in events] == ["response.created", "response.in_progress", "response.failed"]
    failed = events[-1][1]
    assert failed["sequence_number"] == 2
    error = failed["response"]["error"]
    assert error["code"] == "rate_limit_exceeded" and "Please try again in 11.054s." in error["message"]
    assert failed["response"]["status"] == "failed"


def test_a_standalone_error_event_and_its_chat_form(server: FakeServer) -> None:
    server.enqueue(
        stream_failure("server_error", "Oops.", standalone=True, after=0), stream_failure("server_error", "Oops.")
    )
    assert streamed(server) == [
        ("error", {"type": "error", "code": "server_error", "message": "Oops.", "param": None, "sequence_number": 0})
    ]
    chat = post(server, {"model": "gpt-4o", "messages": [], "stream": True}, "/chat/completions")
    assert 'data: {"error": {"type": null, "param": null, "code": "server_error", "message": "Oops."}}' in chat.text


def test_a_cut_stream_never_completes(server: FakeServer) -> None:
    server.enqueue(Fault.cut(Reply.text("one two three"), 4, clean=True))
    names = [name for name, _ in streamed(server)]
    assert len(names) == 4 and "response.completed" not in names


def test_http_faults_are_the_same_on_the_responses_path(server: FakeServer) -> None:
    server.enqueue(RateLimit.tokens(), Fault.context_length_exceeded())
    limited = post(server, {"model": "gpt-5", "input": [USER], "stream": True})
    assert limited.status_code == 429 and "Please try again in 3.708s." in limited.json()["error"]["message"]
    overflow = post(server, {"model": "gpt-5", "input": [USER], "stream": True})
    assert overflow.json()["error"]["code"] == "context_length_exceeded"


def call(call_id: str) -> dict[str, Any]:
    return {"type": "function_call", "call_id": call_id, "name": "execute", "arguments": "{}"}


def output(call_id: str) -> dict[str, Any]:
    return {"type": "function_call_output", "call_id": call_id, "output": "42"}


@pytest.mark.parametrize(
    ("items", "message"),
    [
        ([USER, output("call_1")], UNASKED_OUTPUT.format(call_id="call_1")),
        ([USER, call("call_1"), USER], UNANSWERED_CALL.format(call_id="call_1")),
    ],
    ids=["output-without-call", "call-without-output"],
)
def test_calls_and_outputs_that_do_not_pair_are_refused_as_openai_words_it(
    server: FakeServer, items: list[dict[str, Any]], message: str
) -> None:
    refused = post(server, {"model": "gpt-5", "input": items})
    assert refused.status_code == 400
    assert refused.json() == {
        "error": {"message": message, "type": "invalid_request_error", "param": "input", "code": None}
    }


def test_a_call_made_after_reasoning_sent_back_without_it_is_refused(server: FakeServer) -> None:
    server.enqueue(Reply.tool_call("python", "print(1)", reasoning="Think."), Reply.text("ok"), Reply.text("ok"))
    made = post(server, {"model": "gpt-5", "input": [USER]}).json()["output"]
    reasoning, function_call = made
    without = post(server, {"model": "gpt-5", "input": [USER, function_call, output(function_call["call_id"])]})
    assert without.status_code == 400
    expected = REASONING_MISSING.format(item=function_call["id"], rs=reasoning["id"])
    assert without.json()["error"]["message"] == expected
    items = [USER, reasoning, function_call, output(function_call["call_id"])]
    assert post(server, {"model": "gpt-5", "input": items}).status_code == 200


def test_cells_counts_the_outputs_on_either_api(server: FakeServer) -> None:
    server.responder = cells(1)
    first = post(server, {"model": "gpt-5", "input": [USER]}).json()["output"]
    assert first[0]["type"] == "function_call"
    done = post(server, {"model": "gpt-5", "input": [USER, first[0], output(first[0]["call_id"])]}).json()
    assert done["output"][0]["content"][0]["text"] == "All 1 cells ran."


def test_a_model_chat_completions_refuses_is_refused_there_every_time_and_served_on_responses() -> None:
    with FakeServer(chat_refusals={"gpt-5.1-codex": Fault.responses_only()}) as server:
        server.enqueue(Reply.text("on responses"))
        chat = {"model": "gpt-5.1-codex", "messages": [{"role": "user", "content": "hi"}]}
        for _ in range(2):
            refused = post(server, chat, "/chat/completions")
            assert refused.status_code == 404
            assert refused.json()["error"] == {
                "message": "This model is only supported in v1/responses and not in v1/chat/completions.",
                "type": "invalid_request_error",
                "param": "model",
                "code": None,
            }
        assert server.pending == 1  # the refusals took nothing scripted
        answered = post(server, {"model": "gpt-5.1-codex", "input": [USER]}).json()
        assert answered["output"][0]["content"][0]["text"] == "on responses"
        other = post(server, {"model": "gpt-4o", "messages": [{"role": "user", "content": "hi"}]}, "/chat/completions")
        assert other.status_code == 200


def test_the_refusals_of_reasoning_on_chat_completions_in_openais_words() -> None:
    with_effort = Fault.tools_with_reasoning("gpt-5.4").body
    default = Fault.tools_with_reasoning("gpt-5.6", default_effort=True).body
    assert isinstance(with_effort, dict) and isinstance(default, dict)
    assert with_effort["error"]["message"] == (
        "Function tools with reasoning_effort are not supported for gpt-5.4 in /v1/chat/completions. "
        "Please use /v1/responses instead."
    )
    assert default["error"]["message"].endswith("Please use /v1/responses or set reasoning_effort to 'none'.")
    assert with_effort["error"]["param"] == default["error"]["param"] == "reasoning_effort"
    refused = Fault.effort_unsupported("minimal").body
    assert isinstance(refused, dict) and refused["error"]["code"] == "unsupported_value"
