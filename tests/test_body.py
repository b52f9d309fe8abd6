"""A request's body as the JSON bytes sent: the SDK's encoding, each item's text kept while the item is the same."""

from __future__ import annotations

import json
from typing import Any

from openai._utils._json import openapi_dumps

from interpreter.model.body import BodyText


def _request(messages: list[dict[str, Any]]) -> dict[str, Any]:
    return {"model": "gpt-4o", "stream": True, "tools": [{"type": "function"}], "messages": messages}


def test_the_body_is_the_bytes_the_sdk_would_send() -> None:
    messages = [{"role": "user", "content": "café ⟨\u2028⟩ 日本"}, {"role": "assistant", "content": 'say "hi"'}]
    request = _request(messages)

    assert BodyText().encode(request, "messages") == openapi_dumps(request)  # the list last, as here


def test_the_list_may_stand_anywhere_and_alone() -> None:
    request = {"input": [{"type": "message"}], "model": "gpt-5.1", "store": False}

    assert json.loads(BodyText().encode(request, "input")) == request
    assert BodyText().encode({"input": []}, "input") == b'{"input":[]}'


def test_a_long_conversation_is_sent_whole_each_time_with_the_new_messages() -> None:
    body = BodyText()
    messages = [{"role": "user", "content": f"task {number}"} for number in range(400)]
    first = json.loads(body.encode(_request(messages), "messages"))
    messages.append({"role": "assistant", "content": "done"})
    second = json.loads(body.encode(_request(messages), "messages"))

    assert first["messages"] == messages[:400]
    assert second["messages"] == messages


def test_another_item_in_the_same_place_is_sent_as_it_is_never_the_text_kept_for_the_last() -> None:
    body = BodyText()
    body.encode(_request([{"role": "user", "content": "first"}]), "messages")
    replaced = [{"role": "user", "content": "replaced by %undo"}]

    assert json.loads(body.encode(_request(replaced), "messages"))["messages"] == replaced


def test_each_body_is_the_sdk_s_whatever_became_of_the_list_since_the_last() -> None:
    body = BodyText()
    messages = [{"role": "user", "content": f"task {number}"} for number in range(6)]
    grown = [*messages, {"role": "assistant", "content": "done"}]
    undone = messages[:3]  # %undo: a shorter list
    trimmed = messages[2:]  # the oldest left out to fit the context window
    replaced = [*messages[:2], {"role": "user", "content": "edited"}, *messages[3:]]

    for conversation in (messages, grown, grown, undone, trimmed, replaced, [], grown):
        assert body.encode(_request(conversation), "messages") == openapi_dumps(_request(conversation))
