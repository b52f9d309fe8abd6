"""The loop, driven by a fake chat model and a fake runner."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from fakes import FakeAdapter, FakeChatModel, FakeRunner, always, call_reply, text_reply

from interpreter.conversation.storage import Conversation
from interpreter.errors import ApiConnectionError, TaskTooLong
from interpreter.messages import (
    CodeCell,
    CodeDeclined,
    CodeFinished,
    CodeProposed,
    CodeStarted,
    Decision,
    Message,
    Notice,
    OutputChunk,
    Reply,
    RequestStarted,
    StreamBroken,
    TextDelta,
    TurnEnded,
    Waiting,
)
from interpreter.model.context import ContextWindow
from interpreter.session import CANCELLED, DECLINED, Confirm, Session


def make_session(
    model: FakeChatModel,
    runner: FakeRunner | None = None,
    *,
    confirm: Confirm | None = None,
    save: Callable[[Conversation], None] = lambda conversation: None,
    tools: bool = True,
    max_steps: int = 20,
) -> Session:
    return Session(
        model=model,
        runner=runner or FakeRunner(),
        confirm=confirm or always(True),
        conversation=Conversation.new("test-model"),
        save=save,
        system="SYSTEM",
        window=ContextWindow(FakeAdapter()),
        tools=tools,
        max_steps=max_steps,
    )


def roles(session: Session) -> list[str]:
    return [m.role for m in session.conversation.messages]


def test_a_tool_call_runs_and_its_output_goes_back_as_the_tool_message() -> None:
    model = FakeChatModel()
    model.enqueue(call_reply(("python", "print(6*7)")), text_reply("The answer is 42."))
    session = make_session(model)

    events = list(session.send("compute 6*7"))

    assert [type(e) for e in events if not isinstance(e, TextDelta)] == [
        RequestStarted,
        CodeProposed,
        CodeStarted,
        OutputChunk,
        CodeFinished,
        RequestStarted,
        TurnEnded,
    ]
    assert events[-1] == TurnEnded("done", 2)
    assert roles(session) == ["user", "assistant", "tool", "assistant"]
    tool_message = session.conversation.messages[2]
    assert tool_message.tool_call_id == "call_0"
    assert tool_message.content == "ran print(6*7)\n"
    second_request, tools = model.requests[1]
    assert second_request[0] == Message("system", "SYSTEM")
    assert second_request[-1] == tool_message
    assert [t["function"]["name"] for t in tools] == ["execute"]


def test_every_message_is_saved_as_it_is_added() -> None:
    model = FakeChatModel()
    model.enqueue(call_reply(("python", "1")), text_reply("done"))
    saved: list[int] = []
    session = make_session(model, save=lambda conversation: saved.append(len(conversation.messages)))
    list(session.send("task"))
    assert saved == [1, 2, 3, 4]


def test_calls_run_in_order_each_answered_by_its_id() -> None:
    model = FakeChatModel()
    model.enqueue(call_reply(("python", "a"), ("shell", "b")), text_reply("ok"))
    runner = FakeRunner()
    session = make_session(model, runner)
    list(session.send("two cells"))
    assert runner.ran == [CodeCell("python", "a"), CodeCell("shell", "b")]
    answers = [(m.tool_call_id, m.content) for m in session.conversation.messages if m.role == "tool"]
    assert answers == [("call_0", "ran a\n"), ("call_1", "ran b\n")]


def test_malformed_arguments_go_back_to_the_model_as_an_error() -> None:
    model = FakeChatModel()
    model.enqueue(call_reply(("python", ""), raw='{"language": "python", "code": '), text_reply("sorry"))
    runner = FakeRunner()
    session = make_session(model, runner)
    events = list(session.send("task"))
    assert runner.ran == []
    assert any(isinstance(e, Notice) and "not valid JSON" in e.text for e in events)
    tool_message = session.conversation.messages[2]
    assert tool_message.role == "tool" and "not valid JSON" in tool_message.content
    assert events[-1] == TurnEnded("done", 2)


@pytest.mark.parametrize(
    ("language", "expected"), [("cobol", "unknown language"), ("javascript", "node is not installed")]
)
def test_a_language_that_cannot_run_is_reported_to_the_model(language: str, expected: str) -> None:
    model = FakeChatModel()
    model.enqueue(call_reply((language, "x")), text_reply("I will use python instead."))
    asked: list[CodeCell] = []

    def confirm(cell: CodeCell) -> Decision:
        asked.append(cell)
        return Decision(True, cell)

    session = make_session(model, confirm=confirm)
    events = list(session.send("task"))
    assert asked == []  # nothing to approve: it could not run anyway
    assert any(isinstance(e, Notice) and expected in e.text for e in events)
    assert expected in session.conversation.messages[2].content


def test_a_declined_run_is_reported_as_declined() -> None:
    model = FakeChatModel()
    model.enqueue(call_reply(("shell", "rm -rf build")), text_reply("Understood, not running it."))
    runner = FakeRunner()
    session = make_session(model, runner, confirm=always(False))
    events = list(session.send("clean up"))
    assert runner.ran == []
    assert any(isinstance(e, CodeDeclined) for e in events)
    assert session.conversation.messages[2].content == DECLINED


def test_edited_code_runs_and_the_model_is_told() -> None:
    model = FakeChatModel()
    model.enqueue(call_reply(("python", "print(1)")), text_reply("ok"))
    runner = FakeRunner()
    edited = CodeCell("python", "print(2)")
    session = make_session(model, runner, confirm=lambda cell: Decision(True, edited))
    events = list(session.send("task"))
    assert runner.ran == [edited]
    assert CodeStarted(edited, edited=True) in events
    assert "edited the code" in session.conversation.messages[2].content


def test_non_zero_exit_status_is_reported() -> None:
    model = FakeChatModel()
    model.enqueue(call_reply(("shell", "false")), text_reply("it failed"))
    session = make_session(model, FakeRunner(exit_status=2))
    list(session.send("task"))
    assert "[exit status 2]" in session.conversation.messages[2].content


def test_max_steps_stops_the_loop() -> None:
    model = FakeChatModel()
    model.enqueue(*[call_reply(("python", str(i))) for i in range(3)])
    session = make_session(model, max_steps=3)
    events = list(session.send("loop forever"))
    assert events[-1] == TurnEnded("max_steps", 3)
    assert len(model.requests) == 3


def test_no_tools_mode_runs_fenced_blocks_and_answers_with_a_user_message() -> None:
    model = FakeChatModel()
    answer = "Let me check.\n```python\nprint(6*7)\n```\nand\n```text\nnot code\n```"
    model.enqueue(Message("assistant", answer), text_reply("It is 42."))
    runner = FakeRunner()
    session = make_session(model, runner, tools=False)
    events = list(session.send("compute"))
    assert runner.ran == [CodeCell("python", "print(6*7)")]
    assert CodeProposed(CodeCell("python", "print(6*7)"), in_text=True) in events
    assert model.requests[0][1] == []  # no tools offered
    feedback = session.conversation.messages[2]
    assert feedback.role == "user" and "ran print(6*7)" in feedback.content


def test_ctrl_c_during_a_run_keeps_the_conversation_valid() -> None:
    model = FakeChatModel()
    model.enqueue(call_reply(("python", "loop"), ("python", "after")))
    session = make_session(model, FakeRunner(interrupt_on="loop"))
    with pytest.raises(KeyboardInterrupt):
        list(session.send("task"))
    tool_messages = [m for m in session.conversation.messages if m.role == "tool"]
    assert [m.tool_call_id for m in tool_messages] == ["call_0", "call_1"]
    assert "interrupted" in tool_messages[0].content and "ran loop" in tool_messages[0].content
    assert tool_messages[1].content == CANCELLED


def test_ctrl_c_during_the_stream_keeps_the_text_that_arrived() -> None:
    model = FakeChatModel()
    model.enqueue(text_reply("a long answer"))
    session = make_session(model)
    events = session.send("task")
    for event in events:
        if isinstance(event, TextDelta):
            with pytest.raises(KeyboardInterrupt):
                events.throw(KeyboardInterrupt)
            break
    last = session.conversation.messages[-1]
    assert last.role == "assistant" and last.content.startswith("a ") and "interrupted" in last.content


def test_the_second_task_continues_the_same_conversation() -> None:
    model = FakeChatModel()
    model.enqueue(text_reply("first"), text_reply("second"))
    session = make_session(model)
    list(session.send("one"))
    list(session.send("two"))
    assert [m.content for m in model.requests[1][0]][1:] == ["one", "first", "two"]


def test_waits_pass_through_and_a_broken_stream_keeps_its_text_once() -> None:
    model = FakeChatModel()
    wait = Waiting("server error 503", until=5.0, attempt=2, attempts=6)
    broken = StreamBroken("Half an ans", "connection reset")
    final = Message("assistant", "A whole answer.")
    model.enqueue([wait, TextDelta("Half an ans"), broken, TextDelta("A whole answer."), Reply(final, "stop")])
    session = make_session(model)
    events = list(session.send("task"))
    assert wait in events
    assert any(isinstance(e, Notice) and "broke off" in e.text for e in events)
    kept = [m.content for m in session.conversation.messages if m.role == "assistant"]
    assert kept == ["Half an ans\n\n[this answer broke off here: connection reset]", "A whole answer."]


def test_a_reply_that_fails_after_text_keeps_the_text() -> None:
    model = FakeChatModel()
    model.enqueue([TextDelta("Part of it"), ApiConnectionError("gone")])
    session = make_session(model)
    with pytest.raises(ApiConnectionError):
        list(session.send("task"))
    assert session.conversation.messages[-1] == Message("assistant", "Part of it\n\n[the reply broke off]")


def test_undo_drops_the_last_task_with_its_code_output_and_answers() -> None:
    model = FakeChatModel()
    model.enqueue(text_reply("first answer"), text_reply("```python\nprint(1)\n```"), text_reply("it printed 1"))
    session = make_session(model, tools=False)
    list(session.send("first task"))
    list(session.send("second task"))
    assert roles(session) == ["user", "assistant", "user", "assistant", "user", "assistant"]

    dropped = session.undo()

    assert dropped[0].content == "second task"  # the output message after it is not a task
    assert len(dropped) == 4
    assert [m.content for m in session.conversation.messages] == ["first task", "first answer"]
    assert session.undo()[0].content == "first task"
    assert session.undo() == []


def test_a_task_typed_like_an_output_heading_is_still_the_task_undo_drops() -> None:
    model = FakeChatModel()
    model.enqueue(text_reply("first answer"), text_reply("second answer"))
    session = make_session(model, tools=False)
    list(session.send("first task"))
    list(session.send("Output of block 1 (python): hi"))

    dropped = session.undo()

    assert [m.content for m in dropped] == ["Output of block 1 (python): hi", "second answer"]
    assert [m.content for m in session.conversation.messages] == ["first task", "first answer"]


def test_code_output_sent_back_as_text_is_marked_as_output_not_as_a_task() -> None:
    model = FakeChatModel()
    model.enqueue(text_reply("```python\nprint(1)\n```"), text_reply("it printed 1"))
    session = make_session(model, tools=False)
    list(session.send("run it"))
    assert [m.is_task for m in session.conversation.messages] == [True, False, False, False]
    assert session.conversation.messages[2].kind == "output"


def test_a_task_too_long_for_the_context_window_is_one_line_and_neither_sent_nor_saved() -> None:
    model = FakeChatModel()
    saves: list[Conversation] = []
    session = make_session(model, save=saves.append)  # the test model's window: 8,192 tokens

    with pytest.raises(TaskTooLong) as refused:
        list(session.send("x" * 1_000_000))

    assert str(refused.value).startswith("the task is too long to send: about ")
    assert "test-model's context window is 8,192 tokens" in str(refused.value)
    assert str(refused.value).endswith("shorten it, or save it to a file and ask the model to read that file")
    assert model.requests == [] and saves == [] and session.conversation.messages == []


def test_a_task_that_is_not_utf8_is_sent_and_saved_with_replacement_characters() -> None:
    model = FakeChatModel()
    model.enqueue(text_reply("ok"))
    session = make_session(model)
    list(session.send("caf\udce9"))  # how Python hands over the argument bytes b"caf\xe9"
    assert session.conversation.messages[0].content == "caf\ufffd"
    assert model.requests[0][0][1].content == "caf\ufffd"
