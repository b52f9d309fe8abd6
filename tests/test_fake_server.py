"""The fake OpenAI server, checked through the real openai SDK (the path the CLI takes)."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import openai
import pytest
from fake_server import FALLBACK_TEXT, FakeServer, Fault, RecordedRequest, Reply, demo
from openai.types.chat import ChatCompletionChunk, ChatCompletionMessageParam

MESSAGES: list[ChatCompletionMessageParam] = [{"role": "user", "content": "What is 6*7?"}]
RATE_LIMITED = {
    "error": {
        "message": "Rate limit reached for gpt-4o-mini on tokens per min (TPM). Please try again in 3.708s.",
        "type": "tokens",
        "param": None,
        "code": "rate_limit_exceeded",
    }
}


@pytest.fixture
def client(server: FakeServer) -> Iterator[openai.OpenAI]:
    with openai.OpenAI(api_key="x", base_url=server.url, max_retries=0, timeout=10.0) as client:
        yield client


def stream(client: openai.OpenAI, *, include_usage: bool = False) -> list[ChatCompletionChunk]:
    return list(
        client.chat.completions.create(
            model="gpt-4o-mini",
            messages=MESSAGES,
            stream=True,
            stream_options={"include_usage": True} if include_usage else openai.omit,
        )
    )


def text_of(chunks: list[ChatCompletionChunk]) -> str:
    return "".join(chunk.choices[0].delta.content or "" for chunk in chunks if chunk.choices)


def finish_reasons(chunks: list[ChatCompletionChunk]) -> list[str]:
    return [chunk.choices[0].finish_reason for chunk in chunks if chunk.choices and chunk.choices[0].finish_reason]


def assembled_calls(chunks: list[ChatCompletionChunk]) -> dict[int, dict[str, str]]:
    """Tool calls put together from their fragments, as a client must: by index."""
    calls: dict[int, dict[str, str]] = {}
    for chunk in chunks:
        for fragment in (chunk.choices[0].delta.tool_calls or []) if chunk.choices else []:
            call = calls.setdefault(fragment.index, {"id": "", "name": "", "arguments": ""})
            call["id"] += fragment.id or ""
            if fragment.function:
                call["name"] += fragment.function.name or ""
                call["arguments"] += fragment.function.arguments or ""
    return calls


# ---- replies ----------------------------------------------------------------------------------------


def test_streamed_text_arrives_in_several_deltas_and_assembles_to_the_script(
    server: FakeServer, client: openai.OpenAI
) -> None:
    server.enqueue(Reply.text("The answer is 42."))

    chunks = stream(client)

    assert text_of(chunks) == "The answer is 42."
    assert sum(1 for chunk in chunks if chunk.choices[0].delta.content) > 1
    assert chunks[0].choices[0].delta.role == "assistant"
    assert finish_reasons(chunks) == ["stop"]


def test_streamed_tool_call_fragments_assemble_to_the_scripted_call(server: FakeServer, client: openai.OpenAI) -> None:
    reply = Reply.tool_call("python", "print(6*7)")
    server.enqueue(reply)

    chunks = stream(client)

    calls = assembled_calls(chunks)
    assert list(calls) == [0]
    assert (calls[0]["id"], calls[0]["name"]) == (reply.calls[0].id, "execute")
    assert json.loads(calls[0]["arguments"]) == {"language": "python", "code": "print(6*7)"}
    argument_chunks = [c for c in chunks if c.choices[0].delta.tool_calls and not c.choices[0].delta.tool_calls[0].id]
    assert len(argument_chunks) > 2
    assert finish_reasons(chunks) == ["tool_calls"]


def test_several_tool_calls_stream_apart_by_index(server: FakeServer, client: openai.OpenAI) -> None:
    server.enqueue(Reply.tool_calls([("python", "x = 1"), ("shell", "echo hi")]))

    calls = assembled_calls(stream(client))

    assert [json.loads(calls[i]["arguments"]) for i in sorted(calls)] == [
        {"language": "python", "code": "x = 1"},
        {"language": "shell", "code": "echo hi"},
    ]
    assert calls[0]["id"] != calls[1]["id"]


def test_raw_arguments_arrive_verbatim_even_malformed(server: FakeServer, client: openai.OpenAI) -> None:
    server.enqueue(Reply.raw_arguments('{"language": "python", "code": '))

    arguments = assembled_calls(stream(client))[0]["arguments"]

    assert arguments == '{"language": "python", "code": '
    with pytest.raises(json.JSONDecodeError):
        json.loads(arguments)


def test_non_streamed_reply_is_one_completion_with_usage(server: FakeServer, client: openai.OpenAI) -> None:
    reply = Reply.tool_call("python", "print(6*7)", content="Let me compute that.")
    server.enqueue(reply)

    completion = client.chat.completions.create(model="gpt-4o", messages=MESSAGES)

    choice = completion.choices[0]
    assert choice.message.content == "Let me compute that."
    assert choice.finish_reason == "tool_calls"
    assert choice.message.tool_calls is not None
    call = choice.message.tool_calls[0]
    assert call.type == "function"
    assert (call.id, call.function.name, call.function.arguments) == (
        reply.calls[0].id,
        "execute",
        '{"language": "python", "code": "print(6*7)"}',
    )
    assert completion.model == "gpt-4o"
    assert completion.usage is not None
    assert completion.usage.total_tokens == completion.usage.prompt_tokens + completion.usage.completion_tokens > 0


def test_usage_chunk_comes_last_when_asked_for(server: FakeServer, client: openai.OpenAI) -> None:
    server.enqueue(Reply.text("The answer is 42."))

    chunks = stream(client, include_usage=True)

    assert chunks[-1].choices == []
    assert chunks[-1].usage is not None
    assert chunks[-1].usage.completion_tokens > 0
    assert all(chunk.usage is None for chunk in chunks[:-1])


def test_chunk_delay_sleeps_between_chunks_only() -> None:
    waits: list[float] = []
    with FakeServer(sleep=waits.append) as server:
        server.enqueue(Reply.text("one two three", chunk_delay=0.5))
        with openai.OpenAI(api_key="x", base_url=server.url, max_retries=0) as slow_client:
            chunks = stream(slow_client)

    assert waits == [0.5] * len(chunks)  # between every pair of events, [DONE] included


def test_empty_queue_answers_the_fallback_text(client: openai.OpenAI) -> None:
    completion = client.chat.completions.create(model="gpt-4o-mini", messages=MESSAGES)

    assert completion.choices[0].message.content == FALLBACK_TEXT
    assert text_of(stream(client)) == FALLBACK_TEXT


def test_scripted_items_are_taken_first_in_first_out(server: FakeServer, client: openai.OpenAI) -> None:
    server.enqueue(Reply.text("first"), Reply.text("second"))
    assert server.pending == 2

    answers = [text_of(stream(client)) for _ in range(3)]

    assert answers == ["first", "second", FALLBACK_TEXT]
    assert server.pending == 0


def test_items_scripted_for_one_model_answer_only_the_requests_naming_it(
    server: FakeServer, client: openai.OpenAI
) -> None:
    server.enqueue(Reply.text("for gpt-4"), model="gpt-4")
    server.enqueue(Reply.text("for anyone"))
    assert server.pending == 2

    def ask(model: str) -> str | None:
        return client.chat.completions.create(model=model, messages=MESSAGES).choices[0].message.content

    assert [ask("gpt-4o-mini"), ask("gpt-4"), ask("gpt-4")] == ["for anyone", "for gpt-4", FALLBACK_TEXT]
    assert server.pending == 0


def test_models_are_listed(client: openai.OpenAI) -> None:
    assert [model.id for model in client.models.list()] == ["gpt-4o-mini", "gpt-4o"]


def test_unknown_paths_answer_404(client: openai.OpenAI) -> None:
    with pytest.raises(openai.NotFoundError):
        client.files.list()


# ---- recording and headers --------------------------------------------------------------------------


def test_every_request_is_recorded_with_its_body_and_headers(server: FakeServer, client: openai.OpenAI) -> None:
    stream(client)
    client.models.list()

    first, second = server.requests
    assert (first.method, first.path, second.method, second.path) == (
        "POST",
        "/v1/chat/completions",
        "GET",
        "/v1/models",
    )
    assert first.body is not None
    assert first.body["messages"] == MESSAGES
    assert first.streaming
    assert first.headers["authorization"] == "Bearer x"
    assert second.body is None
    assert first.at <= second.at


def test_every_response_carries_a_request_id_and_rate_limit_headers(server: FakeServer, client: openai.OpenAI) -> None:
    server.headers["x-ratelimit-remaining-tokens"] = "12"

    responses = [client.chat.completions.with_raw_response.create(model="m", messages=MESSAGES) for _ in range(2)]

    ids = {response.headers["x-request-id"] for response in responses}
    assert len(ids) == 2
    assert all(request_id.startswith("req_") for request_id in ids)
    headers = responses[0].headers
    assert headers["x-ratelimit-limit-requests"] == "500"
    assert headers["x-ratelimit-remaining-tokens"] == "12"
    assert headers["x-ratelimit-reset-tokens"] == "2s"


# ---- faults -----------------------------------------------------------------------------------------


def test_429_surfaces_as_rate_limit_error_with_headers_and_body(server: FakeServer, client: openai.OpenAI) -> None:
    server.enqueue(Fault.status(429, RATE_LIMITED, headers={"retry-after": "4", "retry-after-ms": "3708"}))

    with pytest.raises(openai.RateLimitError) as caught:
        client.chat.completions.create(model="gpt-4o-mini", messages=MESSAGES, stream=True)

    error = caught.value
    assert error.status_code == 429
    assert error.code == "rate_limit_exceeded"
    assert "try again in 3.708s" in error.message
    assert error.response.headers["retry-after"] == "4"
    assert error.response.headers["retry-after-ms"] == "3708"
    assert error.response.headers["x-ratelimit-remaining-requests"] == "499"
    assert error.request_id == error.response.headers["x-request-id"]
    assert len(server.requests) == 1


def test_status_fault_can_send_an_html_proxy_page(server: FakeServer, client: openai.OpenAI) -> None:
    server.enqueue(Fault.status(502, "<html><body>Bad Gateway</body></html>", content_type="text/html"))

    with pytest.raises(openai.InternalServerError) as caught:
        client.chat.completions.create(model="gpt-4o-mini", messages=MESSAGES)

    assert caught.value.status_code == 502
    assert "Bad Gateway" in caught.value.response.text


def test_cut_stream_delivers_its_first_chunks_then_raises_connection_error(
    server: FakeServer, client: openai.OpenAI
) -> None:
    server.enqueue(Fault.cut(Reply.text("one two three four"), after=3))
    received: list[ChatCompletionChunk] = []

    # Observed with openai 3.x: a chunked body closed early is httpx2's RemoteProtocolError, which the
    # SDK re-raises as APIConnectionError once the chunks before the cut have been yielded.
    with pytest.raises(openai.APIConnectionError):
        for chunk in client.chat.completions.create(model="gpt-4o-mini", messages=MESSAGES, stream=True):
            received.append(chunk)

    assert text_of(received) == "one two"
    assert finish_reasons(received) == []


def test_clean_cut_stream_just_ends_without_a_finish_reason(server: FakeServer, client: openai.OpenAI) -> None:
    server.enqueue(Fault.cut(Reply.text("one two three four"), after=3, clean=True))

    chunks = stream(client)  # observed: no exception at all, so the caller must notice the missing finish

    assert text_of(chunks) == "one two"
    assert finish_reasons(chunks) == []


def test_cut_non_streamed_reply_raises_connection_error(server: FakeServer, client: openai.OpenAI) -> None:
    server.enqueue(Fault.cut(Reply.text("The answer is 42."), after=0))

    with pytest.raises(openai.APIConnectionError):
        client.chat.completions.create(model="gpt-4o-mini", messages=MESSAGES)


def test_delay_waits_before_answering_as_its_item() -> None:
    waits: list[float] = []
    with FakeServer(sleep=waits.append) as server:
        server.enqueue(Fault.delay(2.5, Reply.text("late")))
        with openai.OpenAI(api_key="x", base_url=server.url, max_retries=0) as client:
            assert text_of(stream(client)) == "late"

    assert waits == [2.5]


def test_slow_first_byte_trips_the_client_read_timeout(server: FakeServer) -> None:
    # The delay is far beyond the timeout; stop() wakes the sleeping handler, so the test stays fast.
    server.enqueue(Fault.delay(60, Reply.text("too late")))
    with (
        openai.OpenAI(api_key="x", base_url=server.url, max_retries=0, timeout=0.2) as client,
        pytest.raises(openai.APITimeoutError),
    ):
        client.chat.completions.create(model="gpt-4o-mini", messages=MESSAGES, stream=True)


# ---- lifecycle --------------------------------------------------------------------------------------


def test_server_keeps_serving_after_a_client_walks_out_mid_stream(server: FakeServer, client: openai.OpenAI) -> None:
    server.enqueue(Reply.text("a long answer that the user interrupts " * 5, chunk_delay=0.01))
    with client.chat.completions.create(model="gpt-4o-mini", messages=MESSAGES, stream=True) as interrupted:
        next(iter(interrupted))

    server.enqueue(Reply.text("still here"))
    assert text_of(stream(client)) == "still here"


def test_stopped_server_refuses_connections_and_scripts(server: FakeServer, client: openai.OpenAI) -> None:
    stream(client)  # leaves a keep-alive connection in the client's pool
    server.stop()

    with pytest.raises(openai.APIConnectionError):
        client.chat.completions.create(model="gpt-4o-mini", messages=MESSAGES)
    with pytest.raises(RuntimeError):
        server.enqueue(Reply.text("too late"))
    server.stop()  # twice is fine


def test_demo_runs_code_then_explains_the_output() -> None:
    def request(*messages: dict[str, str]) -> RecordedRequest:
        return RecordedRequest("POST", "/v1/chat/completions", {}, {"messages": list(messages)}, 0.0)

    first = demo(request({"role": "user", "content": "hi"}))
    after_tool = demo(request({"role": "user", "content": "hi"}, {"role": "tool", "content": "42\n"}))

    assert isinstance(first, Reply)
    assert json.loads(first.calls[0].arguments) == {"language": "python", "code": "print(6*7)"}
    assert isinstance(after_tool, Reply)
    assert "42" in after_tool.content
    assert not after_tool.calls


def test_standalone_script_prints_its_url_serves_the_demo_and_stops_on_ctrl_c() -> None:
    script = Path(__file__).with_name("fake_server.py")
    process = subprocess.Popen(
        [sys.executable, str(script), "--port", "0"],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    try:
        assert process.stdout is not None
        url = process.stdout.readline().strip()
        assert url.startswith("http://127.0.0.1:")
        assert url.endswith("/v1")
        with openai.OpenAI(api_key="x", base_url=url, max_retries=0, timeout=10.0) as client:
            completion = client.chat.completions.create(model="gpt-4o-mini", messages=MESSAGES)
        assert completion.choices[0].message.tool_calls is not None
        process.send_signal(signal.SIGINT)
        assert process.wait(timeout=10) == 0
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()


def call_message(*ids: str) -> ChatCompletionMessageParam:
    calls = [{"id": i, "type": "function", "function": {"name": "execute", "arguments": "{}"}} for i in ids]
    return {"role": "assistant", "content": None, "tool_calls": calls}  # type: ignore[typeddict-item] # built as JSON


def tool_message(call_id: str) -> ChatCompletionMessageParam:
    return {"role": "tool", "content": "ok", "tool_call_id": call_id}


@pytest.mark.parametrize(
    ("messages", "message", "param"),
    [
        (
            [*MESSAGES, call_message("c1", "c2"), tool_message("c1"), {"role": "user", "content": "go on"}],
            "An assistant message with 'tool_calls' must be followed by tool messages responding to each "
            "'tool_call_id'. The following tool_call_ids did not have response messages: c2",
            "messages.[1].role",
        ),
        (
            [*MESSAGES, call_message("c1")],
            "The following tool_call_ids did not have response messages: c1",
            "messages.[1].role",
        ),
        (
            [*MESSAGES, tool_message("c9")],
            "Invalid parameter: messages with role 'tool' must be a response to a preceeding message with "
            "'tool_calls'.",
            "messages.[1].role",
        ),
    ],
)
def test_tool_calls_and_tool_messages_that_do_not_pair_up_are_refused_as_openai_does(
    client: openai.OpenAI, messages: list[ChatCompletionMessageParam], message: str, param: str
) -> None:
    with pytest.raises(openai.BadRequestError) as refused:
        client.chat.completions.create(model="gpt-4o-mini", messages=messages)
    error = refused.value.body
    assert isinstance(error, dict)
    assert message in error["message"] and error["type"] == "invalid_request_error"
    assert (error["param"], error["code"]) == (param, None)


def test_tool_calls_each_answered_are_accepted(client: openai.OpenAI) -> None:
    messages = [*MESSAGES, call_message("c1", "c2"), tool_message("c2"), tool_message("c1")]
    completion = client.chat.completions.create(model="gpt-4o-mini", messages=messages)
    assert completion.choices[0].message.content == FALLBACK_TEXT
