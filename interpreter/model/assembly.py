"""A reply assembled from streamed chunks, however a server streams them: text, reasoning, tool calls, usage.

Each chunk is the plain JSON the server sent (openai_client.streamed): a field of the wrong type counts as absent.

Servers differ (PROVIDERS.md): a tool call's fragments carry an `index`, only an `id`, or neither (Gemini, old
Ollama send whole calls); LM Studio repeats `"name": ""` on every piece; vLLM puts arguments on the finish chunk;
usage comes on any chunk, or as Groq's `x_groq.usage`; reasoning comes as its own field or a `<think>` block.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field, replace
from typing import Any, Final

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
from interpreter.model.thinking import ThinkSplitter

# Characters of one reply (answer, reasoning and tool-call arguments together). The longest replies models write
# (128,000 output tokens) are about 500,000 characters; an endless one is cut here, before memory runs out.
REPLY_CAP = 2_000_000


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
        except (ValueError, RecursionError):  # RecursionError: nested too deeply for Python's parser, as unparsed
            return False
        return True


class _Calls:
    """The tool calls of one reply, in the order they began, however a server labels their fragments.

    A fragment belongs to the call its `index` names, else to the call its `id` names, else to the call now open:
    servers send all three ways (Gemini and old Ollama send no `index`; LM Studio sends `"name": ""` on every piece).
    """

    def __init__(self) -> None:
        self.calls: list[_PartialCall] = []
        self.size = 0  # characters of arguments so far
        self._by_index: dict[int, int] = {}
        self._by_id: dict[str, int] = {}

    def add(self, fragment: Mapping[str, Any]) -> ToolCallDraft:
        """Merge one fragment into its call; the draft the screen shows, keyed by the call's position."""
        index = fragment.get("index")
        index = index if isinstance(index, int) and not isinstance(index, bool) else None
        position, first = self._place(index, _text(fragment.get("id")), _text(_function(fragment).get("name")))
        call = self.calls[position]
        piece = _add_fragment(call, fragment)
        self.size += len(piece)
        return ToolCallDraft(position, call.name, piece, first)

    def complete(self) -> bool:
        """Whether calls were made and each one's arguments are whole."""
        return bool(self.calls) and all(call.complete() for call in self.calls)

    def whole(self) -> tuple[ToolCall, ...]:
        """The calls whose arguments are whole, done: what a reply cut at the cap can run."""
        return tuple(call.done() for call in self.calls if call.complete())

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


def _text(value: object) -> str:
    """`value` if it is text, else empty (a field absent, null or of another type)."""
    return value if isinstance(value, str) else ""


def _mapping(value: object) -> Mapping[str, Any]:
    """`value` if it is a JSON object, else an empty one."""
    return value if isinstance(value, dict) else {}


def _items(value: object) -> Iterable[Any]:
    """`value` if it is a JSON array, else none."""
    return value if isinstance(value, list) else ()


def _function(fragment: Mapping[str, Any]) -> Mapping[str, Any]:
    """The `function` a tool-call fragment carries; empty when it carries none."""
    return _mapping(fragment.get("function"))


def assemble(chunks: Iterable[object], *, origin: str, cap: int = REPLY_CAP) -> Iterator[StreamItem]:
    """Turn stream chunks into TextDeltas, the usage, and one final Reply; an unfinished stream is an error.

    Tools are run whenever whole calls arrived, whatever `finish_reason` says: Gemini and old Ollama say "stop".
    A reply with tool calls is marked as `origin`'s, the api_base that sent it, to which alone its extras go back.
    A reply past `cap` characters (text, reasoning and arguments together) is cut there: see `_cut`.
    """
    content = _Content()
    calls = _Calls()
    finish_reason: str | None = None
    usage: Usage | None = None
    for sent in chunks:
        chunk = _mapping(sent)
        usage = _usage(chunk) or usage  # the last one counts: some servers send a running total on every chunk
        for choice in _items(chunk.get("choices")):
            delta = _mapping(_mapping(choice).get("delta"))
            yield from content.add(delta)
            for fragment in _items(delta.get("tool_calls")):
                if isinstance(fragment, dict):
                    yield calls.add(fragment)
            finish_reason = _text(_mapping(choice).get("finish_reason")) or finish_reason
        if content.size + calls.size > cap:
            yield from _cut(content, calls, cap, origin)
            return
    yield from content.flush()
    if finish_reason is None and not calls.complete():
        raise ApiConnectionError("the reply stream ended before the model finished")
    if usage is not None:
        yield usage
    yield _reply(content, tuple(call.done() for call in calls.calls), finish_reason, origin)


def _cut(content: _Content, calls: _Calls, cap: int, origin: str) -> Iterator[StreamItem]:
    """The end of a reply that passed `cap`: the rest is not read (the caller closes the stream), a line saying so
    ends the text (the person sees it, and the model is told with the answer), and only whole calls are kept.

    It ends as a reply cut by `max_tokens` does ("length"): with no whole call to run, the task is done.
    """
    yield from content.flush()
    gap = "\n\n" if content.answer() else ""
    yield from content.note(f"{gap}[the reply was cut here: it passed {cap:,} characters]")
    yield _reply(content, calls.whole(), "length", origin)


def _reply(content: _Content, tool_calls: tuple[ToolCall, ...], finish_reason: str | None, origin: str) -> Reply:
    """The final Reply: the answer and its calls; a reply with calls carries its reasoning and `origin`."""
    message = Message("assistant", content.answer(), tool_calls=tool_calls)
    if tool_calls:  # DeepSeek asks back the reasoning of a message with tool calls only; an answer's goes to no one
        message = replace(message, extras=content.reasoning(), origin=origin)
    return Reply(message, finish_reason)


class _Content:
    """A reply's text as it streams: the answer, and the reasoning kept apart from it.

    Reasoning comes as `delta.reasoning_content` (DeepSeek, llama.cpp, vLLM before 0.11), `delta.reasoning`
    (Ollama, vLLM 0.11 on, OpenRouter), or a `<think>` block opening the content (LM Studio, Ollama).
    """

    def __init__(self) -> None:
        self.size = 0  # characters of answer and reasoning so far
        self._answer: list[str] = []
        self._reasoning: dict[str, list[str]] = {}  # by the field it came in, to be sent back in that field
        self._splitter = ThinkSplitter()

    def add(self, delta: Mapping[str, Any]) -> Iterator[StreamItem]:
        """The reasoning and answer text one delta carries."""
        for name in _REASONING_FIELDS:
            thought = _text(delta.get(name))
            if thought:
                self.size += len(thought)
                self._reasoning.setdefault(name, []).append(valid_text(thought))
                yield Thinking(valid_text(thought))
                break
        text = _text(delta.get("content"))
        if text:
            self.size += len(text)
            # JSON can escape half a surrogate pair alone ("\\ud83d"); no encoder takes it: made valid here.
            yield from self._pieces(self._splitter.feed(valid_text(text)))

    def flush(self) -> Iterator[StreamItem]:
        """What the content held back until the stream ended."""
        yield from self._pieces(self._splitter.flush())

    def note(self, text: str) -> Iterator[StreamItem]:
        """Our own words at the end of the answer, kept with it."""
        yield from self._pieces([(False, text)])

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


def _usage(chunk: Mapping[str, Any]) -> Usage | None:
    """The tokens a chunk reports: in `usage`, or in Groq's `x_groq.usage`; None when it reports none."""
    counts = chunk.get("usage")
    if not isinstance(counts, dict):
        counts = _mapping(chunk.get("x_groq")).get("usage")
    return _counted(counts) if isinstance(counts, dict) else None


def _counted(counts: Mapping[str, Any]) -> Usage:
    """A usage object's counts, under every server's names.

    Cached input: `prompt_tokens_details.cached_tokens` (OpenAI, OpenRouter, vLLM, llama.cpp), else DeepSeek's
    `prompt_cache_hit_tokens`; reasoning: `completion_tokens_details.reasoning_tokens`.
    """
    cached = _count(counts.get("prompt_tokens_details"), "cached_tokens")
    return Usage(
        _count(counts, "prompt_tokens"),
        _count(counts, "completion_tokens"),
        cached_tokens=cached or _count(counts, "prompt_cache_hit_tokens"),
        reasoning_tokens=_count(counts.get("completion_tokens_details"), "reasoning_tokens"),
    )


def _count(counts: object, name: str) -> int:
    """One token count of a usage object; 0 when missing or not a whole number."""
    value = _mapping(counts).get(name)
    return value if isinstance(value, int) and not isinstance(value, bool) and value >= 0 else 0


# A tool-call fragment's own fields (Chat Completions' `ChoiceDeltaToolCall`); any other is the server's (`extras`).
_CALL_FIELDS: Final = frozenset({"index", "id", "type", "function"})


def _add_fragment(call: _PartialCall, fragment: Mapping[str, Any]) -> str:
    """Merge one fragment into its call; the piece of arguments it added. None, absent and "" change nothing."""
    call.id = call.id or _text(fragment.get("id"))
    call.extras.update((key, value) for key, value in fragment.items() if key not in _CALL_FIELDS)
    function = _function(fragment)
    call.name = call.name or valid_text(_text(function.get("name")))
    piece = valid_text(_text(function.get("arguments")))
    if piece:
        call.arguments.append(piece)
    return piece
