"""A reply assembled from the Responses API's stream events (assembly.py's counterpart for Chat Completions).

Events (OpenAI's API reference, "Streaming events"): `response.output_text.delta` (answer text),
`response.reasoning_summary_text.delta` (a reasoning summary; `response.reasoning_text.delta` is the raw reasoning
vLLM and Ollama stream), `response.output_item.added` of a `function_call` then its
`response.function_call_arguments.delta`s (`.done` holds them whole: a server may send only that), and
`response.output_item.done` of each item (a `reasoning` item whole, `encrypted_content` included). Exactly one of
`response.completed`, `response.incomplete` or `response.failed` ends a stream, which has no `[DONE]`; a standalone
`error` event may come instead. A stream that ends without one of them is cut. Unknown events are ignored.

A failure inside the stream becomes the ApiStatusError the same failure gets over HTTP, so the resilience layer
treats both alike: a rate limit whose wait is named only in its words is waited out for that wait.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field, replace
from typing import Any, Final

from interpreter.errors import ApiConnectionError, ApiError, ApiResponseError, ApiStatusError
from interpreter.messages import (
    Message,
    Reply,
    StreamItem,
    TextDelta,
    Thinking,
    ToolCall,
    ToolCallDraft,
    Usage,
    valid_text,
)
from interpreter.model.assembly import REPLY_CAP

# The HTTP status each error code of a failed response has when the same failure comes before the stream (OpenAI's
# API reference, "The response object", `error.code`; rate limits and quota as RESILIENCE.md's 429s).
FAILURE_STATUS: Final[Mapping[str, int]] = {
    "rate_limit_exceeded": 429,
    "insufficient_quota": 429,
    "server_error": 500,
    "vector_store_timeout": 500,
    "context_length_exceeded": 400,
    "invalid_prompt": 400,
}
# Why a response stopped short (`incomplete_details.reason`) as Chat Completions' finish_reason names it.
_INCOMPLETE: Final[Mapping[str, str]] = {"max_output_tokens": "length", "content_filter": "content_filter"}
_THINKING: Final = frozenset({"response.reasoning_summary_text.delta", "response.reasoning_text.delta"})


@dataclass
class _Call:
    """A function call being assembled from its events."""

    call_id: str
    name: str
    arguments: list[str] = field(default_factory=list)

    def done(self) -> ToolCall:
        """The whole call."""
        return ToolCall(self.call_id, self.name, "".join(self.arguments))


class _Reply:
    """One reply as its events arrive: the answer, the calls in the order they began, the reasoning items."""

    def __init__(self) -> None:
        self.answer: list[str] = []
        self.calls: list[_Call] = []
        self.reasoning: list[dict[str, Any]] = []
        self.size = 0  # characters of answer, reasoning and arguments so far
        self._by_item: dict[str, int] = {}  # a call's key (see _key) -> its position

    def text(self, delta: str) -> TextDelta:
        """A piece of the answer."""
        self.size += len(delta)
        self.answer.append(delta)
        return TextDelta(delta)

    def open(self, item: Any, key: str) -> ToolCallDraft:
        """A function call begins (`key` names it in later events): its first draft."""
        arguments = valid_text(_field(item, "arguments") or "")
        call = _Call(_field(item, "call_id") or "", valid_text(_field(item, "name") or ""), [arguments])
        self._by_item[key] = len(self.calls)
        self.calls.append(call)
        self.size += len(arguments)
        return ToolCallDraft(len(self.calls) - 1, call.name, arguments, first=True)

    def arguments(self, key: str, delta: str, *, whole: bool = False) -> ToolCallDraft | None:
        """More arguments of the call `key` names (`whole`: all of them, taken only when no delta came)."""
        position = self._by_item.get(key)
        if position is None or (whole and "".join(self.calls[position].arguments)):
            return None
        call = self.calls[position]
        call.arguments.append(delta)
        self.size += len(delta)
        return ToolCallDraft(position, call.name, delta)

    def finish(self, item: Any, key: str) -> Iterator[StreamItem]:
        """An item is whole: a reasoning item is kept; a call no event announced (some servers) is added."""
        kind = _field(item, "type")
        if kind == "reasoning" and isinstance(item, Mapping):
            kept = dict(item)  # as the server sent it: that server alone is sent it back
            self.size += len(str(kept))
            self.reasoning.append(kept)
        elif kind == "function_call" and key not in self._by_item:
            yield self.open(item, key)

    def reply(self, finish_reason: str, origin: str) -> Reply:
        """The whole reply; one with calls or reasoning is marked as `origin`'s, to which alone its reasoning goes."""
        calls = tuple(call.done() for call in self.calls)
        message = Message("assistant", "".join(self.answer), tool_calls=calls, reasoning=tuple(self.reasoning))
        if calls or self.reasoning:
            message = replace(message, origin=origin)
        return Reply(message, "tool_calls" if calls and finish_reason == "stop" else finish_reason)


def read_events(events: Any, *, origin: str, cap: int = REPLY_CAP) -> Iterator[StreamItem]:
    """Turn stream events (the plain JSON each was) into TextDeltas, Thinking, ToolCallDrafts, the usage and a Reply.

    A reply with tool calls or reasoning is marked as `origin`'s, the api_base that sent it, to which alone its
    reasoning goes back. A reply past `cap` characters is cut there, as assembly.py cuts one.
    """
    reply = _Reply()
    for event in events:
        kind = _field(event, "type")
        if kind in _ENDS:
            yield from _end(kind, event, reply, origin)
            return
        yield from _step(kind, event, reply)
        if reply.size > cap:
            yield from _cut(reply, cap, origin)
            return
    raise ApiConnectionError("the reply stream ended before the model finished")


def _step(kind: str | None, event: Any, reply: _Reply) -> Iterator[StreamItem]:
    """What one event that does not end the stream adds to the reply."""
    if kind == "response.output_text.delta":
        yield reply.text(valid_text(_field(event, "delta") or ""))
    elif kind in _THINKING:
        thought = valid_text(_field(event, "delta") or "")
        reply.size += len(thought)
        yield Thinking(thought)
    elif kind == "response.output_item.added" and _field(_field(event, "item"), "type") == "function_call":
        yield reply.open(_field(event, "item"), _key(event))
    elif kind in ("response.function_call_arguments.delta", "response.function_call_arguments.done"):
        whole = kind.endswith(".done")
        piece = valid_text(_field(event, "arguments" if whole else "delta") or "")
        draft = reply.arguments(_key(event), piece, whole=whole)
        yield from (draft,) if draft is not None else ()
    elif kind == "response.output_item.done":
        yield from reply.finish(_field(event, "item"), _key(event))


def _end(kind: str, event: Any, reply: _Reply, origin: str) -> Iterator[StreamItem]:
    """The end of the stream: the usage and the Reply, or the failure it reports raised."""
    if kind == "error":
        raise failure(event)
    response = _field(event, "response")
    if kind == "response.failed":
        raise failure(_field(response, "error"))
    yield from _usage(response)
    reason = _field(_field(response, "incomplete_details"), "reason") or ""
    yield reply.reply(_INCOMPLETE.get(reason, "length") if kind == "response.incomplete" else "stop", origin)


_ENDS: Final = frozenset({"response.completed", "response.incomplete", "response.failed", "error"})


def failure(error: Any) -> ApiError:
    """The error a failed response (or an `error` event) reports, as the same failure over HTTP would be."""
    code = _field(error, "code")
    words = " ".join(str(_field(error, "message") or "").split())
    code = str(code) if code is not None else None
    status = int(code) if code is not None and code.isdigit() else FAILURE_STATUS.get(code or "", 0)
    if not 400 <= status < 600:  # HTTP error statuses; any other code is no status
        return ApiResponseError(f"the API sent an error inside the reply: {words or code or 'no words'}")
    body = {"message": words, "type": _field(error, "type"), "param": _field(error, "param"), "code": code}
    return ApiStatusError(f"HTTP {status} inside the reply: {words}", status=status, code=code, body=body)


def _usage(response: Any) -> Iterator[Usage]:
    """The tokens a finished response reports, if it reports them."""
    usage = _field(response, "usage")
    if usage is not None:
        yield Usage(
            _count(usage, "input_tokens"),
            _count(usage, "output_tokens"),
            cached_tokens=_count(_field(usage, "input_tokens_details"), "cached_tokens"),
            reasoning_tokens=_count(_field(usage, "output_tokens_details"), "reasoning_tokens"),
        )


def _count(usage: Any, name: str) -> int:
    """One token count of the usage; 0 when missing or not a whole number."""
    value = _field(usage, name)
    return value if isinstance(value, int) and not isinstance(value, bool) and value >= 0 else 0


def _cut(reply: _Reply, cap: int, origin: str) -> Iterator[StreamItem]:
    """The end of a reply that passed `cap`: a line saying so ends the text, and only whole calls are kept."""
    gap = "\n\n" if reply.answer else ""
    yield reply.text(f"{gap}[the reply was cut here: it passed {cap:,} characters]")
    reply.calls = [call for call in reply.calls if _whole(call)]
    yield reply.reply("length", origin)


def _whole(call: _Call) -> bool:
    """Whether a call's arguments are a whole JSON document (a call cut short is not)."""
    try:
        json.loads("".join(call.arguments))
    except (ValueError, RecursionError):
        return False
    return True


def _key(event: Any) -> str:
    """What names an event's item: its id (`item_id`, or the item's own `id`), else its place in the output."""
    item_id = _field(event, "item_id") or _field(_field(event, "item"), "id")
    return str(item_id) if item_id else f"#{_field(event, 'output_index')}"


def _field(value: Any, name: str) -> Any:
    """A field of an SDK event or item, or of the plain mapping a lenient server's JSON became; None when absent."""
    if isinstance(value, Mapping):
        return value.get(name)
    return getattr(value, name, None)
