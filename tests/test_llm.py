"""The OpenAI adapter against the loopback fake server: what it sends, servers that refuse `stream_options`, and
the replies of every server flavour (tests/flavours.py) assembled into the same calls."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest
from fake_server import (
    Answer,
    CommentsOnly,
    FakeServer,
    Fault,
    RawEvent,
    RecordedRequest,
    ScriptedCall,
    openai_error,
    prompt_tokens,
)
from fake_server import Reply as Scripted
from fakes import Ticking
from flavours import DEEPSEEK, FLAVOURS, GEMINI, GROQ, MISTRAL, SIGNATURE, THINKERS, Flavour, Frames, Turn, data, script

from interpreter.errors import ApiConnectionError, ApiResponseError, ApiStatusError, ApiTimeoutError
from interpreter.messages import Message, Reply, TextDelta, Thinking, ToolCall, ToolCallDraft, Usage
from interpreter.model.llm import OpenAIChatModel

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


TWO_CELLS = Turn(code=("x = 6*7", "print(x)"))


def reply_of(items: list[object]) -> Reply:
    reply = items[-1]
    assert isinstance(reply, Reply)
    return reply


def cells(reply: Reply) -> list[tuple[str, str]]:
    return [(call.name, call.arguments) for call in reply.message.tool_calls]


@pytest.mark.parametrize("flavour", FLAVOURS, ids=[flavour.name for flavour in FLAVOURS])
def test_every_server_flavour_gives_the_same_calls_with_ids_to_answer_them_by(
    server: FakeServer, flavour: Flavour
) -> None:
    turn = TWO_CELLS if flavour.parallel else Turn(code=("x = 6*7",))
    server.responder = script(flavour, [turn, Turn("x is 42.")])
    model = OpenAIChatModel(model="m", api_base=server.url, api_key="x")
    calls = reply_of(ask(model))
    assert cells(calls) == turn.calls()
    ids = [call.id for call in calls.message.tool_calls]
    assert all(ids) and len(set(ids)) == len(ids)
    assert reply_of(ask(model)).message.content == "x is 42."


@pytest.mark.parametrize("flavour", [GROQ, MISTRAL], ids=["groq-400", "mistral-422"])
def test_a_400_or_422_refusing_stream_options_is_asked_again_without_it_once(
    server: FakeServer, flavour: Flavour
) -> None:
    server.responder = script(flavour, [Turn("one"), Turn("two")])
    model = OpenAIChatModel(model="m", api_base=server.url, api_key="x")
    assert [reply_of(ask(model)).message.content for _ in range(2)] == ["one", "two"]
    assert ["stream_options" in (request.body or {}) for request in server.requests] == [True, False, False]


@pytest.mark.parametrize("flavour", [GROQ, MISTRAL], ids=["groq-x_groq", "mistral-unasked"])
def test_usage_is_read_wherever_the_server_puts_it(server: FakeServer, flavour: Flavour) -> None:
    server.responder = script(flavour, [Turn("one")])
    items = ask(OpenAIChatModel(model="m", api_base=server.url, api_key="x"))
    answered = server.requests[-1]
    assert [item for item in items if isinstance(item, Usage)] == [Usage(prompt_tokens(answered), 30)]


def raw(frames: Frames) -> Callable[[RecordedRequest], Answer]:
    """A responder streaming `frames` verbatim to every request."""
    return script(Flavour("raw", lambda turn, request: frames), [Turn()])


def chunk(delta: dict[str, object], finish: str | None = None) -> str:
    return data({"object": "chat.completion.chunk", "choices": [{"index": 0, "delta": delta, "finish_reason": finish}]})


def whole(name: str, arguments: str, **labels: object) -> str:
    """A whole call in one chunk, with whatever labels (`index`, `id`) a server gives it."""
    return chunk({"tool_calls": [{**labels, "function": {"name": name, "arguments": arguments}}]})


def test_whole_calls_with_no_index_and_no_id_are_told_apart_by_their_names(server: FakeServer) -> None:
    server.responder = raw([whole("execute", "{}"), whole("other", "[]"), chunk({}, "stop"), "data: [DONE]\n\n"])
    reply = reply_of(ask(OpenAIChatModel(model="m", api_base=server.url, api_key="x")))
    assert cells(reply) == [("execute", "{}"), ("other", "[]")]
    assert all(call.id for call in reply.message.tool_calls)  # made up: each answer must name its call


def test_a_new_id_on_an_index_already_used_starts_a_new_call(server: FakeServer) -> None:
    frames = [whole("execute", "{}", index=0, id="a"), whole("execute", '{"b": 1}', index=0, id="b")]
    server.responder = raw([*frames, chunk({}, "tool_calls"), "data: [DONE]\n\n"])
    reply = reply_of(ask(OpenAIChatModel(model="m", api_base=server.url, api_key="x")))
    assert [(call.id, call.arguments) for call in reply.message.tool_calls] == [("a", "{}"), ("b", '{"b": 1}')]


def test_drafts_are_numbered_by_call_whatever_the_server_labels_them_by(server: FakeServer) -> None:
    frames = [whole("execute", "{}", id="x"), whole("execute", "{}", id="y"), chunk({}, "stop")]
    server.responder = raw([*frames, "data: [DONE]\n\n"])
    items = ask(OpenAIChatModel(model="m", api_base=server.url, api_key="x"))
    drafts = [(item.index, item.first) for item in items if isinstance(item, ToolCallDraft)]
    assert drafts == [(0, True), (1, True)]


def test_whole_calls_with_no_finish_reason_are_kept(server: FakeServer) -> None:
    server.responder = raw([whole("execute", '{"code": "1"}', index=0, id="a"), "data: [DONE]\n\n"])
    reply = reply_of(ask(OpenAIChatModel(model="m", api_base=server.url, api_key="x")))
    assert cells(reply) == [("execute", '{"code": "1"}')]


def test_a_stream_that_ends_inside_a_call_is_an_error(server: FakeServer) -> None:
    server.responder = raw([whole("execute", '{"code": "pri', index=0, id="a")])
    with pytest.raises(ApiConnectionError, match="ended before the model finished"):
        ask(OpenAIChatModel(model="m", api_base=server.url, api_key="x"))


@pytest.mark.parametrize("flavour", THINKERS, ids=[flavour.name for flavour in THINKERS])
def test_reasoning_arrives_as_thinking_and_never_as_the_answer(server: FakeServer, flavour: Flavour) -> None:
    server.responder = script(flavour, [Turn("It is 42.", thought="Six times seven is 42.")])
    items = ask(OpenAIChatModel(model="m", api_base=server.url, api_key="x"))
    assert "".join(item.text for item in items if isinstance(item, Thinking)) == "Six times seven is 42."
    assert "".join(item.text for item in items if isinstance(item, TextDelta)) == "It is 42."
    assert reply_of(items).message.content == "It is 42."


def test_a_server_refusing_the_request_without_stream_options_too_is_asked_only_twice(server: FakeServer) -> None:
    refusal = MISTRAL.refuse(RecordedRequest("POST", "/", {}, {"stream_options": {}}, 0.0))
    assert refusal is not None
    server.responder = lambda request: refusal  # a strict proxy: every request refused, its words naming the field
    model = OpenAIChatModel(model="m", api_base=server.url, api_key="x")
    for _ in range(2):
        with pytest.raises(ApiStatusError):
            ask(model)
    assert ["stream_options" in (request.body or {}) for request in server.requests] == [True, False, False]


def test_what_a_server_puts_on_a_call_and_on_its_reasoning_is_kept_with_the_server_that_sent_it(
    server: FakeServer,
) -> None:
    server.responder = script(GEMINI, [Turn(code=("x = 6*7",))])
    gemini = reply_of(ask(OpenAIChatModel(model="m", api_base=server.url, api_key="x"))).message
    assert gemini.tool_calls[0].extras == {"extra_content": {"google": {"thought_signature": SIGNATURE}}}
    assert gemini.origin == server.url
    server.responder = script(DEEPSEEK, [Turn(code=("x = 6*7",), thought="Six sevens."), Turn("42", thought="Easy.")])
    model = OpenAIChatModel(model="m", api_base=server.url, api_key="x")
    assert reply_of(ask(model)).message.extras == {"reasoning_content": "Six sevens."}
    assert reply_of(ask(model)).message.extras == {}  # an answer's reasoning is asked back by no server


def test_a_call_made_elsewhere_goes_without_its_extras_under_an_id_mistral_takes(server: FakeServer) -> None:
    server.responder = script(MISTRAL, [Turn("fine")])
    signed = ToolCall("function-call-1", "execute", "{}", extras={"extra_content": {"google": {"sig": "s"}}})
    made_elsewhere = Message("assistant", "", (signed,), extras={"reasoning_content": "r"}, origin="https://gemini")
    answer = Message("tool", "42", tool_call_id="function-call-1")
    model = OpenAIChatModel(model="m", api_base=server.url, api_key="x")
    reply = reply_of(list(model.stream([Message("user", "hi"), made_elsewhere, answer], [])))
    assert reply.message.content == "fine"  # Mistral refuses foreign fields and ids (tests/flavours.py)


def test_a_stream_of_comments_only_times_out_after_ten_idle_timeouts(server: FakeServer) -> None:
    server.enqueue(CommentsOnly(every=0.01, most=500))  # would end, unfinished, after 500 comments
    model = OpenAIChatModel(model="m", api_base=server.url, api_key="x", idle_timeout=5.0, clock=Ticking(30.0))
    with pytest.raises(ApiTimeoutError, match=r"sent no reply for 60s, only keep-alive comments"):
        ask(model)


def test_comments_between_events_keep_a_slow_stream_alive(server: FakeServer) -> None:
    frames = [chunk({"content": "word "}) if n % 10 == 0 else ": keep-alive\n\n" for n in range(300)]
    server.responder = raw([*frames, chunk({"content": "end"}, "stop"), "data: [DONE]\n\n"])
    model = OpenAIChatModel(model="m", api_base=server.url, api_key="x", idle_timeout=5.0, clock=Ticking(1.0))
    assert reply_of(ask(model)).message.content == "word " * 30 + "end"  # 300 s in all, never 50 s without an event


def test_a_chunk_nested_too_deeply_is_a_broken_reply_not_a_crash(server: FakeServer) -> None:
    server.enqueue(RawEvent(Scripted.text("fine"), after=1, data=b"[" * 100_000 + b"]" * 100_000))
    with pytest.raises(ApiResponseError, match=r"not valid JSON \(nested too deeply\)"):
        ask(OpenAIChatModel(model="m", api_base=server.url, api_key="x"))


def test_an_effort_is_sent_as_reasoning_effort(server: FakeServer) -> None:
    ask(OpenAIChatModel(model="gpt-5.1", api_base=server.url, api_key="x", effort="low"))
    assert server.requests[-1].body is not None
    assert server.requests[-1].body["reasoning_effort"] == "low"


def test_no_effort_sends_no_reasoning_effort(server: FakeServer) -> None:
    ask(OpenAIChatModel(model="gpt-5.1", api_base=server.url, api_key="x"))
    assert server.requests[-1].body is not None
    assert "reasoning_effort" not in server.requests[-1].body
