"""The Responses API adapter against the fake server: what it sends, reasoning carried to the next request, and the
parts a server refuses left out once and for the rest of the session."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from fake_server import Answer, CommentsOnly, FakeServer, Fault, RawEvent, RecordedRequest, openai_error
from fake_server import Reply as Scripted
from fakes import Ticking

from interpreter.errors import ApiStatusError, ApiTimeoutError
from interpreter.messages import Message, Reply, ResponseHeaders, StreamItem, Thinking
from interpreter.model.responses import OpenAIResponsesModel, reasoning_model
from interpreter.model.tool import schema

ENCRYPTED_REFUSED = Fault.status(
    400, openai_error("Encrypted content is not supported with this model.", "invalid_request_error", None, "include")
)
SUMMARY_REFUSED = Fault.status(
    400,
    openai_error(
        "Your organization must be verified to generate reasoning summaries. Please go to: "
        "https://platform.openai.com/settings/organization/general and click on Verify Organization.",
        "invalid_request_error",
        "unsupported_value",
        "reasoning.summary",
    ),
)
EFFORT_REFUSED = Fault.status(
    400,
    openai_error(
        "Unsupported value: 'reasoning.effort' does not support 'minimal' with this model. Supported values are: "
        "'none', 'low', 'medium', and 'high'.",
        "invalid_request_error",
        "unsupported_value",
        "reasoning.effort",
    ),
)
PNG_HEADER = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + (640).to_bytes(4, "big") + (480).to_bytes(4, "big")


@pytest.fixture
def server() -> Iterator[FakeServer]:
    with FakeServer() as running:
        yield running


def adapter(server: FakeServer, model: str = "gpt-5.1-codex", **options: Any) -> OpenAIResponsesModel:
    return OpenAIResponsesModel(model=model, api_base=server.url, api_key="x", **options)


def ask(model: OpenAIResponsesModel, messages: list[Message] | None = None) -> list[StreamItem]:
    return list(model.stream(messages or [Message("system", "Be brief."), Message("user", "hi")], [schema(["python"])]))


def body(request: RecordedRequest) -> dict[str, Any]:
    assert request.body is not None
    return request.body


def test_a_reasoning_model_is_sent_the_responses_request(server: FakeServer) -> None:
    ask(adapter(server, effort="high"))
    (request,) = server.requests
    assert (request.method, request.path) == ("POST", "/v1/responses")
    sent = body(request)
    assert sent["model"] == "gpt-5.1-codex"
    assert sent["instructions"] == "Be brief."
    assert sent["input"] == [{"role": "user", "content": [{"type": "input_text", "text": "hi"}]}]
    assert sent["tools"] == [{"type": "function", **schema(["python"])["function"]}]
    assert (sent["stream"], sent["store"]) == (True, False)
    assert sent["reasoning"] == {"summary": "auto", "effort": "high"}
    assert sent["include"] == ["reasoning.encrypted_content"]
    assert "messages" not in sent and "stream_options" not in sent


def test_a_model_that_does_not_reason_is_asked_for_no_reasoning(server: FakeServer) -> None:
    ask(adapter(server, "gpt-4.1"))
    sent = body(server.requests[0])
    assert "reasoning" not in sent and "include" not in sent


def test_an_effort_asked_of_any_model_is_sent_with_reasoning(server: FakeServer) -> None:
    ask(adapter(server, "qwen3-coder", effort="low"))
    sent = body(server.requests[0])
    assert sent["reasoning"] == {"summary": "auto", "effort": "low"}
    assert sent["include"] == ["reasoning.encrypted_content"]


@pytest.mark.parametrize(
    ("name", "reasons"),
    [
        ("gpt-5", True),
        ("gpt-5.1-codex-mini", True),
        ("gpt-5.4", True),
        ("openai/gpt-5-pro", True),
        ("o1", True),
        ("o3-pro", True),
        ("o4-mini", True),
        ("codex-mini-latest", True),
        ("gpt-4o", False),
        ("gpt-4.1-mini", False),
        ("o10-fake", False),
        ("llama3.1", False),
    ],
)
def test_which_models_reason(name: str, reasons: bool) -> None:
    assert reasoning_model(name) is reasons


def test_the_headers_come_first_then_the_summary_as_thinking_then_the_reply(server: FakeServer) -> None:
    server.enqueue(Scripted.text("42", reasoning="Six sevens."))
    items = ask(adapter(server))
    assert isinstance(items[0], ResponseHeaders)
    assert items[0].headers["x-ratelimit-remaining-tokens"] == "29000"
    assert "".join(item.text for item in items if isinstance(item, Thinking)) == "Six sevens."
    reply = items[-1]
    assert isinstance(reply, Reply) and reply.message.content == "42"
    (kept,) = reply.message.reasoning
    assert kept["type"] == "reasoning" and kept["encrypted_content"].startswith("gAAAAB")


def test_the_reasoning_before_a_call_goes_back_with_it_in_the_next_request(server: FakeServer) -> None:
    server.enqueue(Scripted.tool_call("python", "print(6*7)", reasoning="Compute it."), Scripted.text("42"))
    model = adapter(server)
    first = ask(model)[-1]
    assert isinstance(first, Reply)
    (call,) = first.message.tool_calls
    conversation = [Message("user", "hi"), first.message, Message("tool", "42\n", tool_call_id=call.id)]

    second = ask(model, conversation)[-1]  # the server refuses a call sent back without its reasoning item

    assert isinstance(second, Reply) and second.message.content == "42"
    items = body(server.requests[1])["input"]
    assert [item.get("type") for item in items] == [None, "reasoning", "function_call", "function_call_output"]
    assert items[1] == first.message.reasoning[0]


def refusing(refusal: Answer, field: Callable[[dict[str, Any]], bool]) -> Callable[[RecordedRequest], Answer]:
    """A responder that answers `refusal` to any request whose body has `field`."""
    return lambda request: refusal if field(request.body or {}) else Scripted.text("fine")


def test_a_server_refusing_encrypted_reasoning_is_asked_again_without_it_and_never_with_it_again(
    server: FakeServer,
) -> None:
    server.responder = refusing(ENCRYPTED_REFUSED, lambda sent: "include" in sent)
    model = adapter(server)
    for items in (ask(model), ask(model)):
        assert isinstance(items[-1], Reply) and items[-1].message.content == "fine"
    assert ["include" in body(request) for request in server.requests] == [True, False, False]
    assert all(body(request)["reasoning"] == {"summary": "auto"} for request in server.requests)


def test_an_organisation_without_reasoning_summaries_is_asked_again_without_them_keeping_the_effort(
    server: FakeServer,
) -> None:
    server.responder = refusing(SUMMARY_REFUSED, lambda sent: "summary" in sent.get("reasoning", {}))
    model = adapter(server, effort="high")
    for items in (ask(model), ask(model)):
        assert isinstance(items[-1], Reply)
    assert [body(request)["reasoning"] for request in server.requests] == [
        {"summary": "auto", "effort": "high"},
        {"effort": "high"},
        {"effort": "high"},
    ]


def test_a_refused_effort_is_the_persons_to_hear_about_after_one_request(server: FakeServer) -> None:
    server.enqueue(EFFORT_REFUSED)
    with pytest.raises(ApiStatusError) as caught:
        ask(adapter(server, effort="minimal"))
    assert len(server.requests) == 1
    assert "Supported values are: 'none', 'low', 'medium', and 'high'." in str(caught.value)


def test_a_server_refusing_pictures_is_asked_again_without_them(server: FakeServer, tmp_path: Path) -> None:
    figure = tmp_path / "figure-1.png"
    figure.write_bytes(PNG_HEADER + bytes(100))
    refusal = Fault.status(
        400, openai_error("Invalid content type. image_url is only supported by certain models.", "x")
    )
    server.responder = refusing(refusal, lambda sent: "input_image" in str(sent))
    model = adapter(server, "gpt-5", figures=tmp_path)
    assert model.sends_images
    output = Message("user", f"[figure 1: {figure}]", kind="output", figures=(str(figure),))

    items = ask(model, [output])

    assert isinstance(items[-1], Reply) and not model.sends_images
    assert ["input_image" in str(body(request)) for request in server.requests] == [True, False]


def test_the_stream_is_read_through_the_guard_a_stream_of_comments_alone_times_out(server: FakeServer) -> None:
    server.enqueue(CommentsOnly(every=0.01, most=500))  # would end, unfinished, after 500 comments
    model = adapter(server, idle_timeout=5.0, clock=Ticking(30.0))
    with pytest.raises(ApiTimeoutError, match=r"sent no reply for 60s, only keep-alive comments"):
        ask(model)


def test_bytes_that_are_not_utf8_in_an_event_are_repaired(server: FakeServer) -> None:
    delta = b'{"type": "response.output_text.delta", "delta": "caf\xc3 ok", "sequence_number": 9}'
    server.enqueue(RawEvent(Scripted.text("hello"), 3, delta))
    reply = ask(adapter(server))[-1]
    assert isinstance(reply, Reply) and reply.message.content == "caf\ufffd okhello"
