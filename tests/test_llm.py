"""The OpenAI adapter against the loopback fake server: what it sends, and servers that refuse `stream_options`."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest
from fake_server import Answer, FakeServer, Fault, RecordedRequest, ScriptedCall, openai_error
from fake_server import Reply as Scripted

from interpreter.errors import ApiStatusError
from interpreter.llm import OpenAIChatModel
from interpreter.messages import Message, Reply, Usage

AZURE_REFUSAL = Fault.status(
    400, {"error": {"code": None, "message": "Unrecognized request argument supplied: stream_options", "param": None}}
)
NAMED_REFUSAL = Fault.status(
    400,
    openai_error(
        "Unknown parameter: 'stream_options'.", "invalid_request_error", "unknown_parameter", "stream_options"
    ),
)


def refusing(refusal: Answer) -> Callable[[RecordedRequest], Answer]:
    """A responder for a server that answers `refusal` to any request carrying `stream_options`."""

    def respond(request: RecordedRequest) -> Answer:
        return refusal if "stream_options" in (request.body or {}) else Scripted.text("fine")

    return respond


@pytest.fixture
def server() -> Iterator[FakeServer]:
    with FakeServer() as running:
        yield running


def ask(model: OpenAIChatModel) -> list[object]:
    return list(model.stream([Message("user", "hi")], []))


def test_usage_is_asked_for_and_reported(server: FakeServer) -> None:
    server.enqueue(Scripted.text("fine"))
    items = ask(OpenAIChatModel(model="gpt-4o", api_base=server.url, api_key="x"))
    assert server.requests[-1].body is not None
    assert server.requests[-1].body["stream_options"] == {"include_usage": True}
    assert any(isinstance(item, Usage) for item in items)


@pytest.mark.parametrize("refusal", [AZURE_REFUSAL, NAMED_REFUSAL], ids=["in-the-message", "as-the-param"])
def test_a_server_refusing_stream_options_is_asked_again_without_it_and_never_with_it_again(
    server: FakeServer, refusal: Answer
) -> None:
    server.responder = refusing(refusal)
    model = OpenAIChatModel(model="gpt-4o", api_base=server.url, api_key="x")
    first, second = ask(model), ask(model)
    for items in (first, second):
        assert isinstance(items[-1], Reply) and items[-1].message.content == "fine"
    sent = [request.body or {} for request in server.requests]
    assert ["stream_options" in body for body in sent] == [True, False, False]


def test_any_other_bad_request_is_not_retried(server: FakeServer) -> None:
    server.enqueue(Fault.context_length_exceeded())
    with pytest.raises(ApiStatusError):
        ask(OpenAIChatModel(model="gpt-4o", api_base=server.url, api_key="x"))
    assert len(server.requests) == 1


def test_a_lone_surrogate_from_the_model_becomes_a_replacement_character_and_can_be_sent_back(
    server: FakeServer,
) -> None:
    # JSON can carry "\ud83d" alone; decoded, it is a str no encoder accepts, so the next request would fail.
    server.enqueue(Scripted("a\ud83db", (ScriptedCall("execute", '{"language": "python", "code": "#\ud83d"}'),)))
    server.enqueue(Scripted.text("fine"))
    model = OpenAIChatModel(model="gpt-4o", api_base=server.url, api_key="x")
    reply = ask(model)[-1]
    assert isinstance(reply, Reply)
    assert reply.message.content == "a\ufffdb"
    assert reply.message.tool_calls[0].arguments == '{"language": "python", "code": "#\ufffd"}'
    answered = Message("tool", "ok", tool_call_id=reply.message.tool_calls[0].id)
    answer = list(model.stream([Message("user", "hi"), reply.message, answered], []))[-1]
    assert isinstance(answer, Reply) and answer.message.content == "fine"
