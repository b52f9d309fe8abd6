"""The context window: sizes by model name, trimming what is sent, and the trim-and-retry on context_length_exceeded."""

from __future__ import annotations

import subprocess
from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import Any

import pytest
from fake_server import Answer, FakeServer, Fault, RecordedRequest, StatusFault, prompt_tokens
from fake_server import Reply as Scripted
from fakes import FakeAdapter, FakeChatModel, FakeClock, FakeRunner, always, call_reply, text_reply

from interpreter.conversation.storage import Conversation
from interpreter.errors import ApiStatusError, ContextTooLong, TaskTooLong
from interpreter.messages import Message, Notice, OutputChunk, RunResult, ToolCall, TurnEnded
from interpreter.model.catalogue import FALLBACK_WINDOW, Catalogue
from interpreter.model.context import ContextWindow, Trim
from interpreter.model.llm import OpenAIChatModel
from interpreter.resilience.classify import classify
from interpreter.resilience.model import ResilientModel
from interpreter.session import Session

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
    return ContextWindow(FakeAdapter(), catalogue=Catalogue(configured=tokens))


def assert_pairing_valid(messages: Sequence[Message]) -> None:
    """Every tool message answers a call made by an earlier assistant message, and every call is answered."""
    calls = {call.id for message in messages for call in message.tool_calls}
    answers = [message.tool_call_id for message in messages if message.role == "tool"]
    assert set(answers) == calls


def context_too_long(window: int | None = None) -> ContextTooLong:
    """What the resilient model raises for a 400 context_length_exceeded, naming the server's `window` or not."""
    words = f"This model's maximum context length is {window} tokens." if window else "The request is too long."
    body = {"error": {"message": words, "type": "invalid_request_error", "code": "context_length_exceeded"}}
    error = ApiStatusError(
        f"HTTP 400: {words}", status=400, code="context_length_exceeded", body=body, request_id="req_1"
    )
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
    assert Catalogue().window(model).tokens == tokens


def test_a_configured_window_beats_the_name_and_room_is_left_for_the_reply() -> None:
    assert ContextWindow(FakeAdapter("gpt-4o"), catalogue=Catalogue(configured=50_000)).tokens == 50_000
    assert ContextWindow(FakeAdapter("gpt-4o")).budget == 128_000 - 4_096
    small = ContextWindow(FakeAdapter("gpt-4o"), catalogue=Catalogue(configured=2_000))
    assert small.budget == 1_500  # at most a quarter for the reply


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


def test_an_output_shortened_for_one_request_is_the_same_message_in_the_next_and_a_new_one_is_shortened_anew() -> None:
    messages = conversation_of(1, 2, 3)
    context = window(3_800)
    first = context.fit(SYSTEM, messages)
    assert context.fit(SYSTEM, messages).messages[2] is first.messages[2]  # its wire form is kept (kept.py)
    messages[2] = Message("tool", "y" * 4_000, tool_call_id="call_1")  # as %undo and a new run would replace it
    assert context.fit(SYSTEM, messages).messages[2].content.startswith("y" * 200)


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
    messages[0] = Message("user", "a long task " + "t" * 1_000)  # the task itself is never cut
    context = window(800)
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


def test_output_sent_back_as_a_user_message_in_the_last_exchange_is_cut_too() -> None:
    fenced = [
        Message("user", "task 1"),
        Message("assistant", "```python\nprint(big)\n```"),
        Message("user", "Output of block 1 (python):\n" + "x" * 8_000 + "TAIL", kind="output"),
    ]
    trim = window(1_000).fit(SYSTEM, fenced)
    assert trim.changes == (0, 0, 1)
    sent = trim.messages[2]
    assert sent.kind == "output" and sent.content.startswith("Output of block 1 (python):\n")
    assert sent.content.endswith("TAIL") and "characters of this output were cut here" in sent.content


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


def make_session(
    model: FakeChatModel, tokens: int, *, runner: FakeRunner | None = None, earlier: Sequence[int] = (1, 2)
) -> Session:
    return Session(
        model=model,
        runner=runner or FakeRunner(),
        confirm=always(True),
        conversation=Conversation("c1", "2025-01-01T00:00:00+00:00", "test-model", conversation_of(*earlier)),
        save=lambda conversation: None,
        system="SYSTEM",
        window=ContextWindow(FakeAdapter(), catalogue=Catalogue(configured=tokens)),
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


class LoudRunner(FakeRunner):
    """Runs nothing, and every cell prints `output`."""

    def __init__(self, output: str) -> None:
        super().__init__()
        self.output = output

    def run(self, language: str, code: str, timeout: float | None = None) -> Iterator[OutputChunk | RunResult]:
        yield OutputChunk(self.output)
        yield RunResult(output=self.output, exit_status=0)


def test_a_refusal_naming_the_window_is_learned_and_later_requests_fit_it() -> None:
    model = FakeChatModel()
    model.enqueue(context_too_long(window=3_000), text_reply("fits now"), text_reply("still fits"))
    session = make_session(model, tokens=100_000, earlier=(1, 2, 3))

    first = list(session.send("task 4"))
    second = list(session.send("task 5"))

    assert session.window.tokens == 3_000
    assert notices(first) == [
        "the server says the conversation is too long for its 3,000-token window; trimmed to about 2,250 tokens, "
        "asking again"
    ]
    assert notices(second) == []  # the same trim as the retry: nothing new to say
    assert len(model.requests) == 3
    assert all(session.window.estimate(sent, tools) <= 2_250 for sent, tools in model.requests[1:])


@pytest.mark.parametrize("window", [4_096, None])
def test_the_current_cells_output_is_cut_to_fit_and_the_task_goes_on(window: int | None) -> None:
    output = "HEAD" + "z" * 40_000 + "TAIL"
    model = FakeChatModel()
    model.enqueue(call_reply(("python", "print(big)")), context_too_long(window), text_reply("done"))
    session = make_session(model, tokens=128_000, runner=LoudRunner(output), earlier=())

    events = list(session.send("print the big thing"))

    assert events[-1] == TurnEnded("done", 2)
    sent = model.requests[2][0][-1].content
    assert sent.startswith("HEAD") and sent.endswith("TAIL") and "characters of this output were cut here" in sent
    assert len(sent) < len(output) / 2
    assert session.conversation.messages[2].content == output  # the saved conversation keeps all of it


def test_a_task_too_long_for_the_window_the_server_names_is_one_line_and_not_retried() -> None:
    model = FakeChatModel()
    model.enqueue(context_too_long(window=4_096))
    session = make_session(model, tokens=128_000)
    with pytest.raises(TaskTooLong) as refused:
        list(session.send("t" * 20_000))
    assert len(model.requests) == 1
    assert str(refused.value).startswith("the task is too long to send: about 5,")
    assert "test-model's context window is 4,096 tokens" in str(refused.value)


# ---- the window the server names, through the SDK ---------------------------------------------------------------


def openai_error(message: str, error_type: str, code: object, **extra: object) -> dict[str, object]:
    return {"error": {"message": message, "type": error_type, "param": None, "code": code, **extra}}


VLLM = (
    "This model's maximum context length is 4096 tokens. However, you requested 5000 tokens (4000 in the messages, "
    "1000 in the completion). Please reduce the length of the messages or completion."
)
LLAMA_CPP = "request (5000 tokens) exceeds the available context size (4096 tokens), try increasing it"
LITELLM = (
    "litellm.ContextWindowExceededError: litellm.BadRequestError: ContextWindowExceededError: OpenAIException - "
    "This model's maximum context length is 8,192 tokens. However, your messages resulted in 9000 tokens."
)


@pytest.mark.parametrize(
    ("body", "window"),
    [
        # OpenAI: 400 context_length_exceeded (PROVIDERS.md, chatbot-ui#102)
        (Fault.context_length_exceeded(16_385, 20_000).body, 16_385),
        # vLLM before 0.10.1: a flat body (vllm#12886); later, the same words under "error"
        ({"object": "error", "message": VLLM, "type": "BadRequestError", "param": None, "code": 400}, 4_096),
        (openai_error(VLLM, "BadRequestError", 400), 4_096),
        # llama.cpp: exceed_context_size_error with n_ctx (server-task.cpp)
        (openai_error(LLAMA_CPP, "exceed_context_size_error", 400, n_prompt_tokens=5_000, n_ctx=4_096), 4_096),
        (openai_error(LLAMA_CPP, "exceed_context_size_error", 400), 4_096),
        # LiteLLM proxy 1.110.2, as observed
        (openai_error(LITELLM, "invalid_request_error", "400"), 8_192),
        (openai_error("the request is too long", "invalid_request_error", "context_length_exceeded"), None),
    ],
)
def test_the_window_a_server_names_is_read_from_its_answer(
    server: FakeServer, body: Mapping[str, Any] | str, window: int | None
) -> None:
    server.enqueue(Fault.status(400, body))
    adapter = OpenAIChatModel(model="gpt-4o", api_base=server.url, api_key="sk-test")
    with pytest.raises(ApiStatusError) as refused:
        list(adapter.stream([Message("user", "hi")], []))
    assert ContextTooLong(classify(refused.value), refused.value).window == window


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
        window=ContextWindow(adapter, catalogue=Catalogue(configured=tokens)),
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


# ---- the installed command -------------------------------------------------------------------------------------------


def overflowing(refusal: Callable[[int], StatusFault]) -> Callable[[RecordedRequest], Answer]:
    """A server with a 2,048-token window, refusing bigger requests with `refusal`; the cell prints a lot."""

    def answer(request: RecordedRequest) -> Answer:
        tokens = prompt_tokens(request)
        if tokens > 2_048:
            return refusal(tokens)
        if (request.body or {})["messages"][-1]["role"] == "tool":
            return Scripted.text("done: the output starts with HEAD")
        return Scripted.tool_call("python", "print('HEAD' + 'z' * 60_000 + 'TAIL')")

    return answer


def vllm_refusal(tokens: int) -> StatusFault:
    """vLLM 0.10.1 and later: its words under "error", code 400 as a number (PROVIDERS.md, fms-guardrails#511)."""
    message = f"This model's maximum context length is 2048 tokens. However, you requested {tokens} tokens."
    return Fault.status(400, openai_error(message, "BadRequestError", 400))


@pytest.mark.parametrize(
    "refusal",
    [
        pytest.param(lambda tokens: Fault.context_length_exceeded(2_048, tokens), id="openai"),
        pytest.param(vllm_refusal, id="vllm"),
    ],
)
def test_a_cell_printing_more_than_the_window_takes_still_finishes_the_task(
    run_cli: Callable[..., subprocess.CompletedProcess[str]],
    server: FakeServer,
    refusal: Callable[[int], StatusFault],
) -> None:
    server.responder = overflowing(refusal)

    result = run_cli("-c", "print a lot", "-y")

    assert result.returncode == 0, result.stderr
    assert "done: the output starts with HEAD" in result.stdout
    assert "the server says the conversation is too long for its 2,048-token window" in result.stdout + result.stderr
    chats = [request for request in server.requests if request.path.endswith("/chat/completions")]
    assert len(chats) == 3
    assert chats[2].body is not None
    sent = chats[2].body["messages"][-1]["content"]
    assert sent.startswith("HEAD") and sent.endswith("TAIL\n") and "to fit the context window" in sent
