"""A session on the Responses API: a three-step task whose reasoning goes back with every request, the conversation
saved and resumed there with its reasoning, and an overflow reported inside the stream trimmed and asked again.

The real Session, resilient model, Responses adapter, SDK and HTTP against the fake server, whose imitation refuses a
call it made after reasoning that comes back without that reasoning; only the code runner is a fake (it echoes).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from fake_server import FakeServer, RecordedRequest, stream_failure
from fake_server import Reply as Scripted
from fakes import FakeClock, FakeRunner, always

from interpreter.conversation.storage import Conversation, read, write
from interpreter.messages import Message, Notice
from interpreter.model.catalogue import Catalogue
from interpreter.model.context import ContextWindow
from interpreter.model.responses import OpenAIResponsesModel
from interpreter.resilience.model import ResilientModel
from interpreter.session import Session

MODEL = "gpt-5.1-codex"
OVERFLOW = "This model's maximum context length is 400000 tokens. However, your messages resulted in 412345 tokens."


def session(server: FakeServer, clock: FakeClock, messages: list[Message] | None = None) -> Session:
    adapter = OpenAIResponsesModel(model=MODEL, api_base=server.url, api_key="x")
    return Session(
        model=ResilientModel(adapter, clock=clock, sleep=clock.sleep, random=lambda: 0.5),
        runner=FakeRunner(),
        confirm=always(True),
        conversation=Conversation("c1", "2026-12-06T00:00:00+00:00", MODEL, messages or []),
        save=lambda conversation: None,
        system="You run code.",
        window=ContextWindow(adapter, catalogue=Catalogue(configured=400_000)),
    )


def inputs(request: RecordedRequest) -> list[dict[str, Any]]:
    assert request.body is not None
    items: list[dict[str, Any]] = request.body["input"]
    return items


def encrypted(items: list[dict[str, Any]]) -> list[str]:
    return [item["encrypted_content"] for item in items if item.get("type") == "reasoning"]


def test_a_three_step_task_sends_each_steps_reasoning_back_with_the_next_request(clock: FakeClock) -> None:
    with FakeServer(clock=clock) as server:
        server.enqueue(
            Scripted.tool_call("python", "print(1)", reasoning="First, one."),
            Scripted.tool_call("python", "print(2)", reasoning="Then two."),
            Scripted.tool_call("python", "print(3)", reasoning="Then three."),
            Scripted.text("Printed 1, 2 and 3.", reasoning="Done."),
        )
        work = session(server, clock)

        list(work.send("print 1, 2, 3, one cell each"))

        requests = server.requests
        assert [request.path for request in requests] == ["/v1/responses"] * 4
        kept = [m for m in work.conversation.messages if m.role == "assistant"]
        assert [m.content for m in kept][-1] == "Printed 1, 2 and 3."
        assert all(m.origin == server.url and len(m.reasoning) == 1 for m in kept)
        sent = [encrypted(inputs(request)) for request in requests]
        made = [m.reasoning[0]["encrypted_content"] for m in kept]
        assert sent == [[], made[:1], made[:2], made[:3]]  # each request carries every earlier step's reasoning
        assert [inputs(r)[-1]["type"] for r in requests[1:]] == ["function_call_output"] * 3


def test_a_saved_conversation_resumes_on_responses_with_its_reasoning(clock: FakeClock, tmp_path: Path) -> None:
    with FakeServer(clock=clock) as server:
        server.enqueue(Scripted.tool_call("python", "print(1)", reasoning="One."), Scripted.text("1"))
        first = session(server, clock)
        list(first.send("print 1"))
        write(first.conversation, tmp_path / "c1.json")

        loaded = read(tmp_path / "c1.json")
        assert loaded.messages == first.conversation.messages
        server.enqueue(Scripted.text("and 2"))
        list(session(server, clock, list(loaded.messages)).send("and 2?"))

        last = inputs(server.requests[-1])
        (reasoning,) = [item for item in last if item.get("type") == "reasoning"]
        assert reasoning == dict(first.conversation.messages[1].reasoning[0])


def test_an_overflow_inside_the_stream_is_trimmed_and_asked_again(clock: FakeClock) -> None:
    with FakeServer(clock=clock) as server:
        server.enqueue(stream_failure("context_length_exceeded", OVERFLOW), Scripted.text("fits now"))
        earlier = [Message("user", "old task"), Message("assistant", "x" * 40_000)]
        work = session(server, clock, earlier)

        events = list(work.send("new task"))

        assert len(server.requests) == 2
        notices = [event.text for event in events if isinstance(event, Notice)]
        assert len(notices) == 1 and notices[0].startswith("the server says the conversation is too long")
        assert work.conversation.messages[-1].content == "fits now"
