"""What a request keeps from the last one (model/kept.py): each message's wire form, made once, never stale."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path
from typing import Any

from interpreter.messages import Message, ToolCall
from interpreter.model.kept import Kept
from interpreter.model.responses_input import responses_input
from interpreter.model.wire import LastWire, Wired, wire

HERE, ELSEWHERE = "https://here/v1", "https://elsewhere/v1"
PNG_HEADER = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + (100).to_bytes(4, "big") + (50).to_bytes(4, "big")
REASONING = {"type": "reasoning", "id": "rs_1", "summary": [], "encrypted_content": "gAAAAB-secret"}


def step(number: int, origin: str) -> list[Message]:
    """One step: a call (made by the server at `origin`, with its extras and reasoning) and its answer."""
    call = ToolCall(f"call-{number}", "execute", json.dumps({"language": "python", "code": f"print({number})"}))
    made = Message("assistant", "", (call,), extras={"reasoning_content": "hm"}, origin=origin, reasoning=(REASONING,))
    return [made, Message("tool", f"{number}\n", tool_call_id=call.id)]


def test_every_request_made_with_what_was_kept_is_what_a_fresh_one_would_be() -> None:
    kept_chat: Kept[Wired] = Kept()
    kept_responses: Kept[list[dict[str, Any]]] = Kept()
    messages = [Message("system", "Be brief."), Message("user", "go"), *step(1, ELSEWHERE)]
    for number in range(2, 6):
        messages += step(number, HERE if number % 2 else ELSEWHERE)
        assert wire(messages, HERE, kept=kept_chat) == wire(messages, HERE)
        assert responses_input(messages, HERE, kept=kept_responses) == responses_input(messages, HERE)


def test_a_message_sent_before_is_not_made_again_and_one_replaced_by_undo_is_sent_as_it_is_now() -> None:
    kept: Kept[Wired] = Kept()
    messages = [Message("user", "go"), *step(1, HERE)]
    first = wire(messages, HERE, kept=kept)
    assert wire(messages, HERE, kept=kept)[1] is first[1]
    del messages[1:]  # %undo's way: the old messages gone, new ones in their place
    messages += [Message("assistant", "", (ToolCall("call-1", "execute", '{"code": "2"}'),), origin=HERE)]
    messages += [Message("tool", "2\n", tool_call_id="call-1")]
    again = wire(messages, HERE, kept=kept)
    assert again[1]["tool_calls"][0]["function"]["arguments"] == '{"code": "2"}'
    assert again[2]["content"] == "2\n"


def test_a_shortened_output_is_sent_shortened() -> None:
    kept: Kept[Wired] = Kept()
    messages = [Message("user", "go"), *step(1, HERE)]
    wire(messages, HERE, kept=kept)
    messages[2] = dataclasses.replace(messages[2], content="1 [shortened]")  # as the context window trims it
    assert wire(messages, HERE, kept=kept)[2]["content"] == "1 [shortened]"


def test_what_one_server_was_sent_is_not_sent_to_another() -> None:
    kept: Kept[Wired] = Kept()
    kept_responses: Kept[list[dict[str, Any]]] = Kept()
    messages = [Message("user", "go"), *step(1, HERE)]
    wire(messages, HERE, kept=kept)
    responses_input(messages, HERE, kept=kept_responses)
    assistant = wire(messages, ELSEWHERE, kept=kept)[1]
    assert "reasoning_content" not in assistant and assistant["tool_calls"][0]["id"] != "call-1"
    _, items = responses_input(messages, ELSEWHERE, kept=kept_responses)
    assert REASONING not in items


def test_a_figure_drawn_again_is_sent_as_it_is_now(tmp_path: Path) -> None:
    figure = tmp_path / "figure-1.png"
    figure.write_bytes(PNG_HEADER + bytes(10))
    messages = [Message("user", "show me", figures=(str(figure),))]
    kept: Kept[Wired] = Kept()
    before = wire(messages, HERE, images=tmp_path, kept=kept)
    figure.write_bytes(PNG_HEADER + bytes(20))
    assert wire(messages, HERE, images=tmp_path, kept=kept) != before
    assert wire(messages, HERE, images=tmp_path, kept=kept) == wire(messages, HERE, images=tmp_path)
    assert wire(messages, HERE, kept=kept)[0]["content"] == "show me"  # figures no more sent


def test_what_the_last_request_did_not_carry_is_let_go() -> None:
    kept: Kept[str] = Kept()
    old, new = Message("user", "old"), Message("user", "new")
    made: list[str] = []

    def make(message: Message, key: str) -> str:
        made.append(message.content)
        return message.content

    for messages in ([old, new], [new], [old, new]):
        for message in messages:
            kept.get(message, HERE, make)
        kept.request_done()
    assert made == ["old", "new", "old"]  # `new` was kept throughout; `old`, left out once, was made again


def test_a_message_size_is_its_text_calls_and_extras_and_a_changed_copy_has_its_own() -> None:
    message = step(1, HERE)[0]
    assert message.size == len(str(message.tool_calls)) + len(str(message.extras))
    longer = dataclasses.replace(message, content="x" * 50)
    assert longer.size == message.size + 50


def test_a_request_started_from_the_last_one_is_what_a_fresh_one_would_be_whatever_changed(tmp_path: Path) -> None:
    figure = tmp_path / "figure-1.png"
    figure.write_bytes(PNG_HEADER)
    kept: Kept[Wired] = Kept()
    last = LastWire()

    def same(messages: list[Message], images: Path | None = None, server: str = HERE) -> None:
        assert wire(messages, server, images=images, kept=kept, last=last) == wire(messages, server, images=images)

    grown = [Message("system", "Be brief."), Message("user", "go"), *step(1, ELSEWHERE), *step(2, HERE)]
    drew = [*grown, Message("tool", "drawn", tool_call_id="call-2", figures=(str(figure),)), *step(3, HERE)]
    same(grown[:4])
    same(grown)  # grown: started from the last request
    same(grown, tmp_path)
    same(drew)  # a figure, not sent as a picture
    drew += step(4, HERE)
    same(drew, tmp_path)  # ... and now sent: not taken from a request that did not send it
    figure.unlink()
    drew += step(5, HERE)
    same(drew, tmp_path)  # its file gone: nothing made from a file is kept
    same(grown[:2])  # %undo
    same([*grown[:2], *step(6, ELSEWHERE)])
    same([grown[0], *grown[3:]])  # the oldest left out to fit the window
    same([*grown[:3], dataclasses.replace(grown[3], content="1 [shortened]"), *grown[4:]])
    same(grown, server=ELSEWHERE)


def test_a_grown_conversation_keeps_the_wire_form_of_what_was_sent_before() -> None:
    last = LastWire()
    messages = [Message("user", "go"), *step(1, ELSEWHERE)]
    first = wire(messages, HERE, last=last)
    second = wire([*messages, *step(2, ELSEWHERE)], HERE, last=last)

    assert all(before is after for before, after in zip(first, second, strict=False))  # what body.py joins as is
    assert second[3]["tool_calls"][0]["id"] == second[4]["tool_call_id"] != "call-2"  # remapped ids still answered
