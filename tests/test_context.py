"""The context window: sizes by model name, trimming what is sent, and the trim-and-retry on context_length_exceeded."""

from __future__ import annotations

from collections.abc import Sequence

import pytest
from fake_server import Answer, FakeServer, Fault, RecordedRequest, prompt_tokens
from fake_server import Reply as Scripted
from fakes import FakeAdapter, FakeChatModel, FakeClock, FakeRunner, always, call_reply, text_reply

from interpreter.context import FALLBACK_WINDOW, ContextWindow, Trim, window_for
from interpreter.errors import ApiStatusError, ContextTooLong
from interpreter.llm import OpenAIChatModel
from interpreter.messages import Message, Notice, ToolCall
from interpreter.resilience.classify import classify
from interpreter.resilience.model import ResilientModel
from interpreter.session import Session
from interpreter.storage import Conversation

SYSTEM = Message("system", "SYSTEM")
BIG = "x" * 4_000  # about 1,000 tokens


def exchange(number: int, output: str = BIG) -> list[Message]:
    """A task, an answer running one cell, its output, and a final answer."""
    call = ToolCall(f"call_{number}", "execute", '{"language": "python", "code": "print(1)"}')
    return [
        Message("user", f"task {number}"),
        Message("assistant", "", tool_calls=(call,)),
        Message("tool", output, tool_call_id=call.id),
        Message("assistant", f"answer {number}"),
    ]


def conversation_of(*numbers: int) -> list[Message]:
    return [message for number in numbers for message in exchange(number)]


def window(tokens: int) -> ContextWindow:
    return ContextWindow(FakeAdapter(), configured=tokens)


def assert_pairing_valid(messages: Sequence[Message]) -> None:
    """Every tool message answers a call made by an earlier assistant message, and every call is answered."""
    calls = {call.id for message in messages for call in message.tool_calls}
    answers = [message.tool_call_id for message in messages if message.role == "tool"]
    assert set(answers) == calls


def context_too_long() -> ContextTooLong:
    """What the resilient model raises for a 400 context_length_exceeded."""
    error = ApiStatusError("HTTP 400", status=400, code="context_length_exceeded", request_id="req_1")
    verdict = classify(error)
    assert verdict.failure is ContextTooLong
    return ContextTooLong(verdict, error)


# ---- sizes ----------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("model", "tokens"),
    [
        ("gpt-4o", 128_000),
        ("gpt-4o-mini", 128_000),
        ("gpt-4.1-mini", 1_047_576),
        ("gpt-4", 8_192),
        ("gpt-4-0613", 8_192),
        ("gpt-4-turbo-preview", 128_000),
        ("gpt-3.5-turbo", 16_385),
        ("o3-mini", 200_000),
        ("llama3.1:8b", 128_000),
        ("ollama/llama3.1", 128_000),
        ("GPT-4O", 128_000),
        ("my-local-model", FALLBACK_WINDOW),
    ],
)
def test_well_known_models_have_their_window_and_others_a_small_one(model: str, tokens: int) -> None:
    assert window_for(model) == tokens


def test_a_configured_window_beats_the_name_and_room_is_left_for_the_reply() -> None:
    assert ContextWindow(FakeAdapter("gpt-4o"), configured=50_000).tokens == 50_000
    assert ContextWindow(FakeAdapter("gpt-4o")).budget == 128_000 - 4_096
    assert ContextWindow(FakeAdapter("gpt-4o"), configured=2_000).budget == 1_500  # at most a quarter for the reply


def test_the_window_follows_the_model_the_adapter_names() -> None:
    adapter = FakeAdapter("gpt-4")
    context = ContextWindow(adapter)
    adapter.model = "gpt-4o"
    assert context.tokens == 128_000


# ---- trimming -------------------------------------------------------------------------------------------------------


def test_a_conversation_that_fits_is_sent_whole() -> None:
    messages = conversation_of(1, 2)
    assert window(100_000).fit(SYSTEM, messages) == Trim(messages)


def test_the_oldest_outputs_are_shortened_first_and_the_last_exchange_is_kept_whole() -> None:
    messages = conversation_of(1, 2, 3)
    trim = window(3_800).fit(SYSTEM, messages)  # 3 big outputs do not fit; 2 do, with the reply room

    assert trim.changes == (1, 0, 0)
    first_output, second_output = trim.messages[2], trim.messages[6]
    assert first_output.content.startswith("x" * 200) and "3,800 more characters" in first_output.content
    assert second_output.content == BIG
    assert trim.messages[8:] == exchange(3)
    assert [m.role for m in trim.messages] == [m.role for m in messages]
    assert_pairing_valid(trim.messages)


def talkative(number: int, output: str = BIG) -> list[Message]:
    """An exchange whose answer is long (1,600 characters): only leaving it out makes it smaller."""
    return [*exchange(number, output)[:-1], Message("assistant", f"answer {number} " + "a" * 1_600)]


def test_whole_exchanges_are_left_out_before_the_last_exchanges_output_is_cut() -> None:
    messages = [*talkative(1, "1" * 1_600), *talkative(2, "2" * 1_600), *exchange(3, "3" * 1_600)]
    trim = window(1_334).fit(SYSTEM, messages)  # a budget of 1,001 tokens: the last exchange takes about half

    assert trim.changes == (2, 1, 0)
    assert trim.messages[0] == Message("user", "task 2")
    assert trim.messages[4:] == exchange(3, "3" * 1_600)  # this task's output is sent whole
    assert trim.describe() == "2 older code outputs shortened, 1 earlier exchange left out"


def test_a_last_output_over_half_the_budget_is_cut_before_earlier_exchanges_are_left_out() -> None:
    huge = "START" + "y" * 40_000 + "END"
    messages = [*conversation_of(1, 2), *exchange(3, huge)]
    context = window(4_000)
    trim = context.fit(SYSTEM, messages)

    assert trim.changes == (2, 0, 1)  # the earlier exchanges go on, their outputs shortened
    assert [m.content for m in trim.messages[:8] if not m.is_output] == [
        m.content for m in conversation_of(1, 2) if not m.is_output
    ]
    output = trim.messages[10].content
    assert output.startswith("START") and output.endswith("END")
    assert "characters of this output were cut here to fit the context window" in output
    assert context.estimate([SYSTEM, *trim.messages]) <= context.budget
    assert trim.describe() == "2 older code outputs shortened, 1 code output of this task cut to its start and end"


def test_the_last_exchange_alone_too_long_has_its_output_cut_to_its_start_and_end() -> None:
    messages = exchange(1, "START" + "x" * 4_000 + "END")
    context = window(500)
    trim = context.fit(SYSTEM, messages)

    assert trim.changes == (0, 0, 1)
    assert [trim.messages[index] for index in (0, 1, 3)] == [messages[index] for index in (0, 1, 3)]
    output = trim.messages[2].content
    assert output.startswith("START") and output.endswith("END") and len(output) < 2_000
    cut = len(messages[2].content) - len(output.split("\n[... ")[0]) - len(output.split("...]\n")[1])
    assert f"[... {cut:,} characters of this output were cut here to fit the context window ...]" in output
    assert context.estimate([SYSTEM, *trim.messages]) <= context.budget
    assert_pairing_valid(trim.messages)


def test_the_earlier_outputs_of_this_task_are_cut_before_the_latest_one() -> None:
    first, second = exchange(1, "1" * 3_000), exchange(2, "2" * 3_000)
    messages = [*first[:3], *second[1:3]]  # one task, two cells: the latest output the model has not read yet
    trim = window(2_000).fit(SYSTEM, messages)

    assert trim.changes == (0, 0, 1)
    assert "characters of this output were cut here" in trim.messages[2].content
    assert trim.messages[4] == messages[4]
    assert trim.messages[0] == Message("user", "task 1")


def test_the_task_and_answers_of_the_last_exchange_are_never_cut() -> None:
    messages = [Message("user", "a long task " + "t" * 8_000), Message("assistant", "an answer " + "a" * 8_000)]
    assert window(500).fit(SYSTEM, messages).messages == messages


def test_output_sent_back_as_a_user_message_counts_as_output_not_as_a_task() -> None:
    fenced = [
        Message("user", "task 1"),
        Message("assistant", "```python\nprint(1)\n```"),
        Message("user", "Output of block 1 (python):\n" + BIG, kind="output"),
        Message("assistant", "answer 1"),
        Message("user", "task 2"),
        Message("assistant", "answer 2"),
    ]
    assert fenced[2].is_output and not fenced[0].is_output
    trim = window(1_200).fit(SYSTEM, fenced)
    assert trim.changes == (1, 0, 0)
    assert trim.messages[2].content.startswith("Output of block 1 (python):\n")


def test_a_task_typed_like_an_output_heading_is_still_a_task_when_trimming() -> None:
    typed = [
        Message("user", "Output of block 1 (python): hi " + BIG),
        Message("assistant", "answer 1"),
        Message("user", "task 2"),
        Message("assistant", "answer 2"),
    ]
    trim = window(1_200).fit(SYSTEM, typed)
    assert trim.changes == (0, 1, 0)  # the first exchange is left out whole, the task is never cut like an output
    assert trim.messages == typed[2:]


# ---- the session ----------------------------------------------------------------------------------------------------


def make_session(model: FakeChatModel, tokens: int) -> Session:
    return Session(
        model=model,
        runner=FakeRunner(),
        confirm=always(True),
        conversation=Conversation("c1", "2025-01-01T00:00:00+00:00", "test-model", conversation_of(1, 2)),
        save=lambda conversation: None,
        system="SYSTEM",
        window=ContextWindow(FakeAdapter(), configured=tokens),
    )


def notices(events: Sequence[object]) -> list[str]:
    return [event.text for event in events if isinstance(event, Notice)]


def test_the_session_sends_a_trimmed_request_says_so_once_and_keeps_everything() -> None:
    model = FakeChatModel()
    model.enqueue(call_reply(("python", "1")), text_reply("first"), text_reply("second"))
    session = make_session(model, tokens=2_500)

    first = list(session.send("task 3"))
    second = list(session.send("task 4"))

    assert notices(first) == [
        "trimmed what is sent to fit test-model's 2,500-token window: 1 older code output shortened "
        "(the saved conversation keeps all)"
    ]
    assert notices(second) == []  # the same trim again: nothing new to say
    sent, _ = model.requests[0]
    assert sent[0] == SYSTEM
    assert "more characters of this output were left out" in sent[3].content
    assert session.conversation.messages[2].content == BIG  # the stored conversation keeps everything
    assert session.conversation.messages[6].content == BIG


def test_context_length_exceeded_is_answered_with_one_visible_retry_at_half_the_size() -> None:
    model = FakeChatModel()
    model.enqueue(context_too_long(), text_reply("fits now"))
    session = make_session(model, tokens=100_000)

    events = list(session.send("task 3"))

    assert len(model.requests) == 2
    (refused, tools), (retried, _) = model.requests
    half = session.window.estimate(refused, tools) // 2
    assert notices(events) == [
        f"the server says the conversation is too long; trimmed to about {half:,} tokens, asking again"
    ]
    assert len("".join(m.content for m in retried)) < len("".join(m.content for m in refused)) / 2
    assert_pairing_valid(retried)
    assert session.conversation.messages[-1] == Message("assistant", "fits now")


def test_after_a_refusal_the_lower_budget_holds_for_that_model() -> None:
    model = FakeChatModel()
    model.enqueue(context_too_long(), text_reply("fits now"), text_reply("still fits"))
    session = make_session(model, tokens=100_000)
    list(session.send("task 3"))
    events = list(session.send("task 4"))
    assert len(model.requests) == 3  # no second refusal
    assert notices(events) == []


def test_a_second_context_length_exceeded_is_one_failure() -> None:
    model = FakeChatModel()
    model.enqueue(context_too_long(), context_too_long())
    session = make_session(model, tokens=100_000)
    with pytest.raises(ContextTooLong) as failure:
        list(session.send("task 3"))
    assert len(model.requests) == 2
    assert str(failure.value).startswith("the conversation no longer fits the model's context window")


def test_nothing_left_to_trim_fails_at_once_without_a_pointless_retry() -> None:
    model = FakeChatModel()
    model.enqueue(context_too_long())
    session = make_session(model, tokens=100_000)
    session.conversation.messages.clear()
    with pytest.raises(ContextTooLong):
        list(session.send("a task far too long for the model"))
    assert len(model.requests) == 1


# ---- through the SDK, against the fake server --------------------------------------------------------------------


def real_session(server: FakeServer, messages: list[Message], *, tokens: int) -> Session:
    clock = FakeClock()
    adapter = OpenAIChatModel(model="gpt-4o", api_base=server.url, api_key="sk-test")
    return Session(
        model=ResilientModel(adapter, clock=clock, sleep=clock.sleep),
        runner=FakeRunner(),
        confirm=always(True),
        conversation=Conversation("c1", "2025-01-01T00:00:00+00:00", "gpt-4o", messages),
        save=lambda conversation: None,
        system="SYSTEM",
        window=ContextWindow(adapter, configured=tokens),
    )


def test_a_server_with_a_smaller_window_than_configured_gets_one_trimmed_retry(server: FakeServer) -> None:
    def small_window(request: RecordedRequest) -> Answer:
        tokens = prompt_tokens(request)
        return Fault.context_length_exceeded(2_500, tokens) if tokens > 2_500 else Scripted.text("done")

    server.responder = small_window
    session = real_session(server, conversation_of(1, 2, 3), tokens=128_000)

    events = list(session.send("task 4"))

    chats = [request for request in server.requests if request.path.endswith("/chat/completions")]
    assert len(chats) == 2
    assert prompt_tokens(chats[1]) <= 2_500 < prompt_tokens(chats[0])
    assert len(notices(events)) == 1 and notices(events)[0].startswith("the server says the conversation is too long")
    assert session.conversation.messages[-1] == Message("assistant", "done")
    body = chats[1].body
    assert body is not None
    ids = {call["id"] for m in body["messages"] for call in m.get("tool_calls", [])}
    assert {m["tool_call_id"] for m in body["messages"] if m["role"] == "tool"} == ids


def test_two_context_length_answers_from_the_server_are_one_line(server: FakeServer) -> None:
    server.enqueue(Fault.context_length_exceeded(), Fault.context_length_exceeded())
    session = real_session(server, conversation_of(1, 2), tokens=128_000)
    with pytest.raises(ContextTooLong) as failure:
        list(session.send("task 3"))
    assert len(server.requests) == 2
    line = str(failure.value)
    assert "\n" not in line
    assert line.startswith("the conversation no longer fits the model's context window") and "HTTP 400" in line
