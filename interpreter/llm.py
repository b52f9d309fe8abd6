"""The ChatModel protocol and its OpenAI adapter; SDK errors are translated to ours here and only here."""

from __future__ import annotations

import json
import logging
import threading
import uuid
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field, replace
from http import HTTPStatus
from typing import TYPE_CHECKING, Any, Protocol

from interpreter.diagnostics import LOGGER_NAME
from interpreter.errors import (
    ApiConnectionError,
    ApiError,
    ApiResponseError,
    ApiStatusError,
    ApiTimeoutError,
)
from interpreter.messages import (
    Message,
    Reply,
    ResponseHeaders,
    StreamItem,
    TextDelta,
    Thinking,
    ToolCall,
    ToolCallDraft,
    Usage,
    valid_text,
)
from interpreter.resilience.bodies import parse_body, refuses_stream_options
from interpreter.thinking import ThinkSplitter
from interpreter.wire import wire

if TYPE_CHECKING:
    import openai

_log = logging.getLogger(f"{LOGGER_NAME}.api")

CONNECT_TIMEOUT = 5.0
READ_TIMEOUT = 60.0
_STATUS_END = 600  # codes from 400 up to here inside a reply are HTTP statuses


class ChatModel(Protocol):
    """Something that streams a reply to a conversation: text deltas, then one Reply."""

    def stream(self, messages: Sequence[Message], tools: Sequence[dict[str, Any]]) -> Iterator[StreamItem]:
        """Stream the answer to `messages`; offer `tools` when not empty."""
        ...


def warm_up() -> threading.Thread:
    """Import the SDK in a background thread: it costs about a second, best spent while the person reads or types.

    Join the thread before exiting: a process that exits while the SDK's Rust extensions load can abort
    ("FATAL: exception not rethrown", exit 134).
    """
    thread = threading.Thread(target=_import_sdk, name="warm-openai", daemon=True)
    thread.start()
    return thread


def _import_sdk() -> None:
    import openai  # noqa: F401, PLC0415 - the point is to pay the import cost early, off the main thread


class OpenAIChatModel:
    """A ChatModel backed by any OpenAI-compatible server, through the openai SDK (its own retries off)."""

    def __init__(self, *, model: str, api_base: str, api_key: str, idle_timeout: float = READ_TIMEOUT) -> None:
        self.model = model
        self._api_base = api_base
        self._api_key = api_key
        self._idle_timeout = idle_timeout  # no byte for this long and the stream counts as broken
        self._client: openai.OpenAI | None = None
        self._asks_usage = True  # until the server refuses `stream_options`

    def stream(self, messages: Sequence[Message], tools: Sequence[dict[str, Any]]) -> Iterator[StreamItem]:
        """Send one streamed request and yield what arrives; any failure surfaces as an ApiError.

        Usage is asked for (`stream_options`), for the limiter; a server that refuses the field (older Azure API
        versions, strict proxies) is asked again at once without it, and never with it again.
        """
        try:
            yield from self._stream(messages, tools, usage=self._asks_usage)
        except ApiStatusError as error:
            if not (self._asks_usage and refuses_stream_options(error.status, error.body, str(error))):
                raise
            self._asks_usage = False
            _log.warning("the server refused stream_options; sending without it: %s", error)
            yield from self._stream(messages, tools, usage=False)

    def _stream(
        self, messages: Sequence[Message], tools: Sequence[dict[str, Any]], *, usage: bool
    ) -> Iterator[StreamItem]:
        """One streamed request, with or without asking for usage."""
        import httpx2  # noqa: PLC0415 - lazy, with the SDK that sits on it
        import openai  # noqa: PLC0415 - lazy: the SDK costs ~1 s to import and --help/--version never need it

        request: dict[str, Any] = {"model": self.model, "messages": wire(messages, self._api_base), "stream": True}
        if usage:
            request["stream_options"] = {"include_usage": True}
        if tools:
            request["tools"] = list(tools)
        try:
            response = self._openai().chat.completions.with_raw_response.create(**request)
            yield ResponseHeaders(dict(response.headers))
            stream = response.parse()
            try:
                yield from _assemble(stream, origin=self._api_base)
            finally:
                stream.close()
        # Raw httpx2 errors can escape a stream, and so can a JSONDecodeError from a malformed SSE data line.
        except (openai.OpenAIError, httpx2.HTTPError, json.JSONDecodeError) as exc:
            raise translate(exc, api_base=self._api_base) from exc

    def _openai(self) -> openai.OpenAI:
        """The SDK client, built on first use."""
        if self._client is None:
            import openai  # noqa: PLC0415 - see stream()

            timeout = openai.Timeout(self._idle_timeout, connect=CONNECT_TIMEOUT)
            self._client = openai.OpenAI(api_key=self._api_key, base_url=self._api_base, max_retries=0, timeout=timeout)
        return self._client


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


def _assemble(chunks: Any, *, origin: str) -> Iterator[StreamItem]:
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


def translate(exc: Exception, *, api_base: str) -> ApiError:
    """Map an SDK exception to ours, by type; the message says what to do."""
    import httpx2  # noqa: PLC0415 - only reached after the SDK was imported by a request
    import openai  # noqa: PLC0415 - as above

    if isinstance(exc, openai.APITimeoutError | httpx2.TimeoutException):
        return ApiTimeoutError(f"the API at {api_base} stopped answering (timed out)")
    if isinstance(exc, openai.APIConnectionError | httpx2.TransportError):
        return ApiConnectionError(f"cannot reach the API at {api_base}: check --api-base and your connection")
    if isinstance(exc, openai.APIStatusError):
        return _status_error(exc)
    if isinstance(exc, openai.APIError):
        return _error_inside_reply(exc)
    if isinstance(exc, json.JSONDecodeError):
        return ApiResponseError(f"the API sent a reply that is not valid JSON ({exc.msg})")
    return ApiResponseError(f"the API reply could not be used: {exc}")


def _error_inside_reply(exc: openai.APIError) -> ApiError:
    """An error sent inside a reply after HTTP 200: a status error when its code is an HTTP status, else a broken reply.

    vLLM, llama.cpp and LiteLLM give such errors the status they would have answered with (`"code": 400`), so a
    context overflow or a rate limit there is classified as it would be before the stream began.
    """
    body = parse_body(exc.body)
    words = " ".join(body.message.split()) or exc.message
    status = int(body.code) if body.code is not None and body.code.isdigit() else 0
    if not HTTPStatus.BAD_REQUEST <= status < _STATUS_END:
        return ApiResponseError(f"the API sent an error inside the reply: {words}")
    return ApiStatusError(f"HTTP {status} inside the reply: {words}", status=status, code=body.code, body=exc.body)


def _status_error(exc: openai.APIStatusError) -> ApiStatusError:
    """An ApiStatusError with the status, error code, headers and body; the resilience layer words it for the person."""
    body = parse_body(exc.body)
    # A body that is not JSON is often a proxy's HTML page: its markup says nothing the status does not.
    words = " ".join(body.message.split()) if not isinstance(exc.body, str) else ""
    return ApiStatusError(
        f"HTTP {exc.status_code}: {words or exc.message}",
        status=exc.status_code,
        code=body.code,
        headers=dict(exc.response.headers),
        body=exc.body,
        request_id=exc.response.headers.get("x-request-id"),
    )
