"""A reply assembled from streamed chunks, however a server streams them: text, reasoning, tool calls, usage.

Servers differ (PROVIDERS.md): a tool call's fragments carry an `index`, only an `id`, or neither (Gemini, old
Ollama send whole calls); LM Studio repeats `"name": ""` on every piece; vLLM puts arguments on the finish chunk;
usage comes on any chunk, or as Groq's `x_groq.usage`; reasoning comes as its own field or a `<think>` block.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from typing import Any

from interpreter.errors import ApiConnectionError
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
from interpreter.thinking import ThinkSplitter


@dataclass
class _PartialCall:
    """A tool call being assembled from stream fragments."""

    id: str = ""
    name: str = ""
    arguments: list[str] = field(default_factory=list)
    extras: dict[str, Any] = field(default_factory=dict)  # fields the server added (Gemini's `extra_content`)

    def done(self) -> ToolCall:
        """The whole call; a server that sent no id (or an empty one) gets one made up, as answers must name it."""
        call_id = self.id or f"call_{uuid.uuid4().hex[:24]}"
        return ToolCall(call_id, self.name, "".join(self.arguments), extras=self.extras)

    def complete(self) -> bool:
        """Whether the arguments so far are a whole JSON document (a call cut short mid-stream is not)."""
        try:
            json.loads("".join(self.arguments))
        except ValueError:
            return False
        return True


class _Calls:
    """The tool calls of one reply, in the order they began, however a server labels their fragments.

    A fragment belongs to the call its `index` names, else to the call its `id` names, else to the call now open:
    servers send all three ways (Gemini and old Ollama send no `index`; LM Studio sends `"name": ""` on every piece).
    """

    def __init__(self) -> None:
        self.calls: list[_PartialCall] = []
        self._by_index: dict[int, int] = {}
        self._by_id: dict[str, int] = {}

    def add(self, fragment: Any) -> ToolCallDraft:
        """Merge one fragment into its call; the draft the screen shows, keyed by the call's position."""
        position, first = self._place(fragment.index, fragment.id or "", _name(fragment))
        call = self.calls[position]
        return ToolCallDraft(position, call.name, _add_fragment(call, fragment), first)

    def complete(self) -> bool:
        """Whether calls were made and each one's arguments are whole."""
        return bool(self.calls) and all(call.complete() for call in self.calls)

    def _place(self, index: int | None, call_id: str, name: str) -> tuple[int, bool]:
        """The position of the call a fragment belongs to, and whether the fragment starts it."""
        known = self._by_index.get(index) if index is not None else self._by_id.get(call_id)
        if known is not None and not _names_another_call(self.calls[known].id, call_id):
            return known, False
        if index is None and not call_id and self.calls and not (name and self.calls[-1].name):
            return len(self.calls) - 1, False  # no label at all: the call now open, unless a new name begins one
        return self._open(index, call_id), True

    def _open(self, index: int | None, call_id: str) -> int:
        """Start a new call."""
        self.calls.append(_PartialCall(id=call_id))
        position = len(self.calls) - 1
        if index is not None:
            self._by_index[index] = position
        if call_id:
            self._by_id[call_id] = position
        return position


def _names_another_call(known_id: str, call_id: str) -> bool:
    """Whether a fragment's id names a call other than the known one (servers reuse an index for a new call)."""
    return bool(known_id and call_id and known_id != call_id)


def _name(fragment: Any) -> str:
    """The function name a fragment carries; empty when it carries none."""
    function = fragment.function
    return (function.name or "") if function is not None else ""


def assemble(chunks: Any, *, origin: str) -> Iterator[StreamItem]:
    """Turn SDK stream chunks into TextDeltas, the usage, and one final Reply; an unfinished stream is an error.

    Tools are run whenever whole calls arrived, whatever `finish_reason` says: Gemini and old Ollama say "stop".
    A reply with tool calls is marked as `origin`'s, the api_base that sent it, to which alone its extras go back.
    """
    content = _Content()
    calls = _Calls()
    finish_reason: str | None = None
    usage: Usage | None = None
    for chunk in chunks:
        usage = _usage(chunk) or usage  # the last one counts: some servers send a running total on every chunk
        for choice in chunk.choices or ():
            delta = choice.delta
            if delta is not None:
                yield from content.add(delta)
            for fragment in (delta.tool_calls if delta is not None else None) or ():
                yield calls.add(fragment)
            finish_reason = choice.finish_reason or finish_reason
    yield from content.flush()
    if finish_reason is None and not calls.complete():
        raise ApiConnectionError("the reply stream ended before the model finished")
    if usage is not None:
        yield usage
    tool_calls = tuple(call.done() for call in calls.calls)
    message = Message("assistant", content.answer(), tool_calls=tool_calls)
    if tool_calls:  # DeepSeek asks back the reasoning of a message with tool calls only; an answer's goes to no one
        message = replace(message, extras=content.reasoning(), origin=origin)
    yield Reply(message, finish_reason)


class _Content:
    """A reply's text as it streams: the answer, and the reasoning kept apart from it.

    Reasoning comes as `delta.reasoning_content` (DeepSeek, llama.cpp, vLLM before 0.11), `delta.reasoning`
    (Ollama, vLLM 0.11 on, OpenRouter), or a `<think>` block opening the content (LM Studio, Ollama).
    """

    def __init__(self) -> None:
        self._answer: list[str] = []
        self._reasoning: dict[str, list[str]] = {}  # by the field it came in, to be sent back in that field
        self._splitter = ThinkSplitter()

    def add(self, delta: Any) -> Iterator[StreamItem]:
        """The reasoning and answer text one delta carries."""
        extra = delta.model_extra or {}
        for name in _REASONING_FIELDS:
            thought = extra.get(name)
            if isinstance(thought, str) and thought:
                self._reasoning.setdefault(name, []).append(valid_text(thought))
                yield Thinking(valid_text(thought))
                break
        if delta.content:
            # JSON can escape half a surrogate pair alone ("\\ud83d"); no encoder takes it: made valid here.
            yield from self._pieces(self._splitter.feed(valid_text(delta.content)))

    def flush(self) -> Iterator[StreamItem]:
        """What the content held back until the stream ended."""
        yield from self._pieces(self._splitter.flush())

    def answer(self) -> str:
        """The answer text, reasoning left out."""
        return "".join(self._answer)

    def reasoning(self) -> dict[str, str]:
        """The reasoning that came in its own field, whole, by that field's name (a `<think>` block is not kept)."""
        return {name: "".join(pieces) for name, pieces in self._reasoning.items()}

    def _pieces(self, pieces: list[tuple[bool, str]]) -> Iterator[StreamItem]:
        """Each piece as Thinking or as answer text (which is kept)."""
        for reasoning, text in pieces:
            if reasoning:
                yield Thinking(text)
            else:
                self._answer.append(text)
                yield TextDelta(text)


_REASONING_FIELDS = ("reasoning_content", "reasoning")


def _usage(chunk: Any) -> Usage | None:
    """The tokens a chunk reports: in `usage`, or in Groq's `x_groq.usage`; None when it reports none."""
    if chunk.usage is not None:
        return Usage(chunk.usage.prompt_tokens or 0, chunk.usage.completion_tokens or 0)
    groq = (chunk.model_extra or {}).get("x_groq")
    counts = groq.get("usage") if isinstance(groq, dict) else None
    if not isinstance(counts, dict):
        return None
    return Usage(_count(counts, "prompt_tokens"), _count(counts, "completion_tokens"))


def _count(counts: dict[str, Any], name: str) -> int:
    """One token count of a usage object sent as plain JSON; 0 when missing or not a number."""
    value = counts.get(name)
    return value if isinstance(value, int) and not isinstance(value, bool) else 0


def _add_fragment(call: _PartialCall, fragment: Any) -> str:
    """Merge one fragment into its call; the piece of arguments it added. None, absent and "" change nothing."""
    call.id = call.id or (fragment.id or "")
    call.extras.update(fragment.model_extra or {})
    function = fragment.function
    if function is None:
        return ""
    call.name = call.name or valid_text(function.name or "")
    piece = valid_text(function.arguments or "")
    if piece:
        call.arguments.append(piece)
    return piece
