"""The Responses API's wire shapes for the fake server (tests/fake_server.py): events, the response object, checks.

Built from OpenAI's API reference: "Create a model response" (POST /v1/responses, the request and `input` items),
"The response object" (`output`, `usage`, `error`, `incomplete_details`) and "Streaming events" (each event's fields:
every one has `type` and `sequence_number`; an `event:` line names the type; there is no `[DONE]`). The error wordings
are OpenAI's as quoted in the issues named beside them. Stdlib only, as fake_server.py.
"""

from __future__ import annotations

import json
import re
import time
import uuid
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

ARGUMENT_PIECE = 8  # characters of arguments per delta event, as fake_server sends them on Chat Completions
REASONING_PIECE = 12  # characters of a reasoning summary per delta event

# 400s, `invalid_request_error`, `param: "input"`, `code: null`: a function_call_output whose call is not in the input
# (continuedev/continue#10092), a function_call with no output after it (tjardoo/openai-client#124), and a
# function_call sent without the reasoning item that came before it (cline/cline#12242, continuedev/continue#10018).
UNASKED_OUTPUT = "No tool call found for function call output with call_id {call_id}."
UNANSWERED_CALL = "No tool output found for function call {call_id}."
REASONING_MISSING = "Item '{item}' of type 'function_call' was provided without its required 'reasoning' item: '{rs}'."


def new_id(prefix: str) -> str:
    """An item id in OpenAI's form: a prefix (`resp`, `msg`, `rs`, `fc`), an underscore, 48 hex digits."""
    return f"{prefix}_{uuid.uuid4().hex}{uuid.uuid4().hex[:16]}"


@dataclass(frozen=True)
class Call:
    """One function call of a reply: its item id, call id, name and arguments text."""

    item_id: str
    call_id: str
    name: str
    arguments: str

    def item(self, status: str = "completed", *, arguments: str | None = None) -> dict[str, Any]:
        """The `function_call` output item."""
        text = self.arguments if arguments is None else arguments
        return {
            "type": "function_call",
            "id": self.item_id,
            "call_id": self.call_id,
            "name": self.name,
            "arguments": text,
            "status": status,
        }


@dataclass(frozen=True)
class Reasoning:
    """The reasoning item a reply opens with: its summary, and the encrypted reasoning the client must send back."""

    item_id: str
    summary: str
    encrypted_content: str

    def item(self, summary: str | None = None) -> dict[str, Any]:
        """The `reasoning` output item (summary as given, all of it by default)."""
        text = self.summary if summary is None else summary
        parts = [{"type": "summary_text", "text": text}] if text else []
        return {"type": "reasoning", "id": self.item_id, "summary": parts, "encrypted_content": self.encrypted_content}


@dataclass(frozen=True)
class Output:
    """What one reply says, in the Responses API's terms."""

    text: str
    calls: tuple[Call, ...]
    reasoning: Reasoning | None
    message_id: str

    def items(self) -> list[dict[str, Any]]:
        """The `output` list of the finished response."""
        items = [self.reasoning.item()] if self.reasoning is not None else []
        if self.text:
            items.append(self.message_item(self.text, "completed"))
        return items + [call.item() for call in self.calls]

    def message_item(self, text: str, status: str) -> dict[str, Any]:
        """The assistant `message` output item holding `text`."""
        content = [{"type": "output_text", "text": text, "annotations": []}] if text else []
        return {"type": "message", "id": self.message_id, "status": status, "role": "assistant", "content": content}


def response(
    model: str, output: Output, *, status: str = "completed", usage: Mapping[str, Any] | None = None, **fields: Any
) -> dict[str, Any]:
    """The response object ("The response object"): `status` completed, in_progress, incomplete or failed."""
    finished = status != "in_progress"
    return {
        "id": fields.pop("response_id", new_id("resp")),
        "object": "response",
        "created_at": int(time.time()),
        "status": status,
        "model": model,
        "output": output.items() if finished else [],
        "parallel_tool_calls": True,
        "store": False,
        "error": fields.pop("error", None),
        "incomplete_details": fields.pop("incomplete_details", None),
        "usage": usage if finished else None,
        **fields,
    }


def usage(input_tokens: int, output_tokens: int, reasoning_tokens: int) -> dict[str, Any]:
    """The `usage` object of a finished response."""
    return {
        "input_tokens": input_tokens,
        "input_tokens_details": {"cached_tokens": 0},
        "output_tokens": output_tokens,
        "output_tokens_details": {"reasoning_tokens": reasoning_tokens},
        "total_tokens": input_tokens + output_tokens,
    }


def stream(model: str, output: Output, end: Mapping[str, Any]) -> list[dict[str, Any]]:
    """Every event of a streamed reply, numbered: created, in_progress, each item's events, then `end` (the last
    event, e.g. `ending("response.completed", ...)`)."""
    response_id = end["response"]["id"] if "response" in end else new_id("resp")
    opening = response(model, output, status="in_progress", response_id=response_id)
    events = [{"type": "response.created", "response": opening}, {"type": "response.in_progress", "response": opening}]
    events += list(_item_events(output))
    return [{**event, "sequence_number": number} for number, event in enumerate([*events, dict(end)])]


def _item_events(output: Output) -> Iterator[dict[str, Any]]:
    """The events of each output item, in order, with its `output_index`."""
    index = 0
    if output.reasoning is not None:
        yield from _reasoning_events(output.reasoning, index)
        index += 1
    if output.text:
        yield from _message_events(output, index)
        index += 1
    for call in output.calls:
        yield from _call_events(call, index)
        index += 1


def _reasoning_events(reasoning: Reasoning, index: int) -> Iterator[dict[str, Any]]:
    where = {"item_id": reasoning.item_id, "output_index": index, "summary_index": 0}
    yield {"type": "response.output_item.added", "output_index": index, "item": reasoning.item("")}
    yield {"type": "response.reasoning_summary_part.added", **where, "part": {"type": "summary_text", "text": ""}}
    for piece in _pieces(reasoning.summary, REASONING_PIECE):
        yield {"type": "response.reasoning_summary_text.delta", **where, "delta": piece}
    yield {"type": "response.reasoning_summary_text.done", **where, "text": reasoning.summary}
    part = {"type": "summary_text", "text": reasoning.summary}
    yield {"type": "response.reasoning_summary_part.done", **where, "part": part}
    yield {"type": "response.output_item.done", "output_index": index, "item": reasoning.item()}


def _message_events(output: Output, index: int) -> Iterator[dict[str, Any]]:
    where = {"item_id": output.message_id, "output_index": index, "content_index": 0}
    yield {"type": "response.output_item.added", "output_index": index, "item": output.message_item("", "in_progress")}
    part = {"type": "output_text", "text": "", "annotations": []}
    yield {"type": "response.content_part.added", **where, "part": part}
    for word in re.findall(r"\s*\S+|\s+", output.text):
        yield {"type": "response.output_text.delta", **where, "delta": word, "logprobs": []}
    yield {"type": "response.output_text.done", **where, "text": output.text, "logprobs": []}
    yield {"type": "response.content_part.done", **where, "part": {**part, "text": output.text}}
    yield {
        "type": "response.output_item.done",
        "output_index": index,
        "item": output.message_item(output.text, "completed"),
    }


def _call_events(call: Call, index: int) -> Iterator[dict[str, Any]]:
    where = {"item_id": call.item_id, "output_index": index}
    yield {"type": "response.output_item.added", "output_index": index, "item": call.item("in_progress", arguments="")}
    for piece in _pieces(call.arguments, ARGUMENT_PIECE):
        yield {"type": "response.function_call_arguments.delta", **where, "delta": piece}
    yield {"type": "response.function_call_arguments.done", **where, "arguments": call.arguments}
    yield {"type": "response.output_item.done", "output_index": index, "item": call.item()}


def _pieces(text: str, size: int) -> list[str]:
    return [text[start : start + size] for start in range(0, len(text), size)]


def ending(kind: str, model: str, output: Output, **fields: Any) -> dict[str, Any]:
    """The event that ends a stream: `response.completed`, `.incomplete` or `.failed`, carrying the response."""
    status = kind.removeprefix("response.")
    return {"type": kind, "response": response(model, output, status=status, **fields)}


def error_event(code: str | None, message: str, param: str | None = None) -> dict[str, Any]:
    """A standalone `error` event ("Streaming events", `error`): code, message, param."""
    return {"type": "error", "code": code, "message": message, "param": param}


def frame(event: Mapping[str, Any]) -> str:
    """One server-sent event as the Responses API sends it: an `event:` line naming its type, then its data."""
    return f"event: {event['type']}\ndata: {json.dumps(event)}\n\n"


# ---- checks on a request's input ------------------------------------------------------------------------------


def pairing_problem(items: Sequence[Any]) -> str | None:
    """OpenAI's words when function calls and their outputs in `items` do not pair up; None when they do."""
    calls = [item.get("call_id") for item in _typed(items, "function_call")]
    for item in _typed(items, "function_call_output"):
        if item.get("call_id") not in calls:
            return UNASKED_OUTPUT.format(call_id=item.get("call_id"))
    answered = {item.get("call_id") for item in _typed(items, "function_call_output")}
    unanswered = [call_id for call_id in calls if call_id not in answered]
    return UNANSWERED_CALL.format(call_id=unanswered[0]) if unanswered else None


def reasoning_problem(items: Sequence[Any], made: Mapping[str, tuple[Call, Reasoning]]) -> str | None:
    """OpenAI's words for a call this server made after reasoning, sent back without that reasoning item before it.

    Stricter than OpenAI, which checks only calls sent with their item ids: a test sees reasoning dropped at once.
    """
    sent: set[str] = set()
    for item in items:
        if not isinstance(item, dict):
            continue
        if item.get("type") == "reasoning":
            sent.add(str(item.get("encrypted_content")))
        known = made.get(str(item.get("call_id"))) if item.get("type") == "function_call" else None
        if known is not None and known[1].encrypted_content not in sent:
            return REASONING_MISSING.format(item=known[0].item_id, rs=known[1].item_id)
    return None


def _typed(items: Sequence[Any], kind: str) -> list[dict[str, Any]]:
    return [item for item in items if isinstance(item, dict) and item.get("type") == kind]


def outputs_sent(body: Mapping[str, Any]) -> int:
    """How many function call outputs a request's input carries (the tool messages of Chat Completions)."""
    items = body.get("input")
    return len(_typed(items, "function_call_output")) if isinstance(items, list) else 0
