"""A fake OpenAI-compatible API on 127.0.0.1 (Chat Completions and the Responses API), scripted per test.

    with FakeServer() as server:
        server.enqueue(Reply.tool_call("python", "print(6*7)"), Reply.text("It printed 42."))
        client = openai.OpenAI(api_key="x", base_url=server.url, max_retries=0)
        ...
        assert server.requests[0].body["stream"] is True

Each `POST /v1/chat/completions` takes the next scripted item, first in first out. An item is any `Answer`
(an object with `answer(exchange)`): a `Reply` streams as SSE when the request asks for a stream and is
one JSON completion otherwise; a `Fault` misbehaves (error status, cut stream, slow first byte). With
nothing scripted the server asks its `responder`, by default a fixed text reply, so nothing ever hangs.
New faults are new `Answer`s written with the few `Exchange` primitives; the server needs no change.

`POST /v1/responses` takes the same script: each `Reply` and fault answers in the wire form of the path it was asked
on (tests/fake_responses.py holds the Responses API's shapes: `event:` lines, no `[DONE]`, the response object), so
one scenario runs on both APIs. A `Reply` with `reasoning` opens with a reasoning item there, and the server refuses a
call it made after reasoning that comes back without that reasoning item, as OpenAI words it. `stream_failure` and
`RateLimit.in_stream` report a failure inside a 200 stream (`response.failed`, an `error` event; on Chat an error
mid-stream).

Every fault scenario of shared/RESILIENCE.md has a constructor: `RateLimit.*` for 429s exactly as OpenAI words
them, `Fault.*` for other statuses and broken connections and streams, `Fault.times(n, item)` to repeat one, and
`closed_port()` for a refused connection. `FakeServer(limits=TokenLimits(...))` enforces a real tokens- and
requests-per-minute budget (continuous refill, injectable clock), answering 429s as OpenAI does.

`server.routes` answers further paths (what another server reports of its models: tests/flavours.py `reports`); the
questions the model catalogue asks in the background of a session are kept in `server.asked`, apart from
`server.requests`, so that what a test counts there is what the session sent.

Streams are HTTP/1.1 chunked bodies, one SSE event per chunk, so a cut stream (closed before the
terminating chunk) is a protocol error the client can see, unlike a clean end without `[DONE]`.

Stdlib only, no pytest: bench/ imports it too. `python tests/fake_server.py` serves a demo by hand.
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import json
import math
import re
import socket
import struct
import sys
import threading
import time
import uuid
from collections import deque
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from email.message import Message as HeaderMessage
from email.utils import format_datetime, formatdate
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any, Literal, Protocol, Self, TypeVar

import fake_responses
from fake_responses import Call, Output, Reasoning

MODELS = ("gpt-4o-mini", "gpt-4o")
FALLBACK_TEXT = "(fake server: no scripted reply)"
# What OpenAI sends on every response; `FakeServer.headers` starts as a copy, items may override.
DEFAULT_HEADERS: Mapping[str, str] = {
    "x-ratelimit-limit-requests": "500",
    "x-ratelimit-limit-tokens": "30000",
    "x-ratelimit-remaining-requests": "499",
    "x-ratelimit-remaining-tokens": "29000",
    "x-ratelimit-reset-requests": "120ms",
    "x-ratelimit-reset-tokens": "2s",
}
SSE_CONTENT_TYPE = "text/event-stream; charset=utf-8"
ORGANIZATION = "org-abc"
RATE_LIMITS_URL = "https://platform.openai.com/account/rate-limits"
# The completion tokens a request is assumed to need when it names no max_tokens / max_completion_tokens.
COMPLETION_ESTIMATE = 256
# A header value of None in any item's headers removes that header (e.g. a server default) from the answer.
Headers = Mapping[str, str | None]
_ARGUMENT_PIECE = 8  # characters of tool-call arguments per stream chunk: several chunks, as real servers do


@dataclass(frozen=True)
class RecordedRequest:
    """One request as it arrived; header names are lower-case, `at` is `time.monotonic()` on arrival."""

    method: str
    path: str
    headers: Mapping[str, str]
    body: dict[str, Any] | None
    at: float

    @property
    def streaming(self) -> bool:
        """Whether the client asked for a stream."""
        return self.body is not None and self.body.get("stream") is True

    @property
    def wire(self) -> Literal["chat", "responses"]:
        """Which API the request was sent to: Chat Completions, or the Responses API (`/v1/responses`)."""
        return "responses" if self.path.split("?", 1)[0].endswith("/responses") else "chat"

    @property
    def model(self) -> str:
        """The model the client asked for (the first known model if it named none)."""
        model = (self.body or {}).get("model")
        return model if isinstance(model, str) else MODELS[0]


class Answer(Protocol):
    """Anything the server can answer a request with: a Reply, a Fault, a future fault."""

    def answer(self, exchange: Exchange) -> None:
        """Write the whole answer (or the lack of one) to `exchange`."""


class Exchange:
    """One request being answered: the request, and the primitives every Answer writes with."""

    def __init__(
        self,
        handler: BaseHTTPRequestHandler,
        request: RecordedRequest,
        headers: Headers,
        sleep: Callable[[float], object],
        made: dict[str, tuple[Call, Reasoning]] | None = None,
    ) -> None:
        self.request = request
        self.sleep = sleep
        # The calls this server made after reasoning, by call id: sent back, they must come after that reasoning.
        self.made: dict[str, tuple[Call, Reasoning]] = {} if made is None else made
        self._handler = handler
        self._headers = headers
        self._chunked = False

    def start(
        self,
        status: int,
        *,
        content_type: str,
        length: int | None = None,
        headers: Headers | None = None,
    ) -> None:
        """Send the status line and headers; `length=None` makes the body chunked. A None value drops a header."""
        self._handler.send_response(status)
        merged: dict[str, str | None] = {
            **self._headers,
            "x-request-id": f"req_{uuid.uuid4().hex}",
            "content-type": content_type,
            **(headers or {}),
        }
        for name, value in merged.items():
            if value is not None:
                self._handler.send_header(name, value)
        self._chunked = length is None
        if self._chunked:
            self._handler.send_header("transfer-encoding", "chunked")
        else:
            self._handler.send_header("content-length", str(length))
        self._handler.end_headers()

    def write(self, data: bytes) -> None:
        """Send body bytes (as one HTTP chunk when the body is chunked)."""
        if self._chunked:
            data = b"%x\r\n%b\r\n" % (len(data), data)
        self._handler.wfile.write(data)

    def finish(self) -> None:
        """End the body properly; the connection stays open for the next request."""
        if self._chunked:
            self._handler.wfile.write(b"0\r\n\r\n")

    def drop(self) -> None:
        """Close the connection now, whatever has been sent so far."""
        self._handler.close_connection = True
        self._handler.wfile.flush()
        self._handler.connection.shutdown(socket.SHUT_RDWR)

    def reset(self) -> None:
        """Abort the connection with a TCP RST (SO_LINGER 0, no FIN), whatever has been sent so far."""
        handler = self._handler
        handler.close_connection = True
        handler.wfile.flush()
        connection = handler.connection
        connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        handler.rfile.close()  # the last other reference to the descriptor: close() below really closes it
        connection.close()

    def send_json(self, status: int, body: object, *, headers: Headers | None = None) -> None:
        """Send a whole JSON answer."""
        data = json.dumps(body).encode()
        self.start(status, content_type="application/json", length=len(data), headers=headers)
        self.write(data)

    def start_stream(self, *, headers: Headers | None = None) -> None:
        """Start a 200 SSE answer."""
        self.start(200, content_type=SSE_CONTENT_TYPE, headers={"cache-control": "no-cache", **(headers or {})})

    def send_event(self, data: str) -> None:
        """Send one SSE `data:` event; on the Responses API with the `event:` line naming its type before it."""
        if self.request.wire == "responses" and data.startswith("{"):
            self.write(fake_responses.frame(json.loads(data)).encode())
            return
        self.write(f"data: {data}\n\n".encode())

    def send_raw(self, text: str) -> None:
        """Send `text` verbatim as one body chunk (a malformed line, a hand-written event)."""
        self.write(text.encode())


# ---- successful answers -----------------------------------------------------------------------------


def _call_id() -> str:
    return f"call_{uuid.uuid4().hex[:24]}"


@dataclass(frozen=True)
class ScriptedCall:
    """One tool call a Reply makes; `arguments` goes out verbatim, valid JSON or not."""

    name: str
    arguments: str
    id: str = field(default_factory=_call_id)


@dataclass(frozen=True)
class Reply:
    """A successful answer: text and/or tool calls, streamed or whole as the request asks, on either API.

    `reasoning` is a summary the Responses API streams before the answer, with an encrypted reasoning item the client
    must send back before these calls (Chat Completions leaves it out). `incomplete` ends the reply short:
    "max_output_tokens" or "content_filter" (`response.incomplete`; finish_reason "length" / "content_filter").
    """

    content: str = ""
    calls: tuple[ScriptedCall, ...] = ()
    chunk_delay: float = 0.0  # seconds between stream chunks, e.g. to press Ctrl-C mid-stream
    headers: Headers = field(default_factory=dict)
    reasoning: str = ""
    incomplete: str | None = None

    @classmethod
    def text(cls, content: str, *, chunk_delay: float = 0.0, reasoning: str = "") -> Reply:
        """A plain text answer."""
        return cls(content, chunk_delay=chunk_delay, reasoning=reasoning)

    @classmethod
    def tool_call(
        cls, language: str, code: str, *, content: str = "", chunk_delay: float = 0.0, reasoning: str = ""
    ) -> Reply:
        """One `execute` call running `code` in `language`."""
        return cls.tool_calls([(language, code)], content=content, chunk_delay=chunk_delay, reasoning=reasoning)

    @classmethod
    def tool_calls(
        cls, calls: Iterable[tuple[str, str]], *, content: str = "", chunk_delay: float = 0.0, reasoning: str = ""
    ) -> Reply:
        """Several `execute` calls, one per (language, code) pair."""
        scripted = tuple(
            ScriptedCall("execute", json.dumps({"language": language, "code": code})) for language, code in calls
        )
        return cls(content, scripted, chunk_delay=chunk_delay, reasoning=reasoning)

    @classmethod
    def raw_arguments(cls, arguments: str, *, name: str = "execute", chunk_delay: float = 0.0) -> Reply:
        """One call whose arguments text is sent as given (e.g. malformed JSON)."""
        return cls(calls=(ScriptedCall(name, arguments),), chunk_delay=chunk_delay)

    def with_headers(self, headers: Headers) -> Reply:
        """This reply with extra (or, with None, fewer) headers, e.g. `RateLimit.headers(remaining_tokens=50)`."""
        return dataclasses.replace(self, headers={**self.headers, **headers})

    @property
    def finish_reason(self) -> str:
        """What the final chunk (or the completion) reports."""
        if self.incomplete is not None:
            return "length" if self.incomplete == "max_output_tokens" else self.incomplete
        return "tool_calls" if self.calls else "stop"

    def answer(self, exchange: Exchange) -> None:
        """Stream every event, or send the whole completion."""
        if not exchange.request.streaming:
            exchange.send_json(200, self.completion(exchange.request, exchange.made), headers=self.headers)
            return
        exchange.start_stream(headers=self.headers)
        for index, event in enumerate(self.events(exchange.request, exchange.made)):
            if index and self.chunk_delay:
                exchange.sleep(self.chunk_delay)
            exchange.send_event(event)
        exchange.finish()

    def completion(
        self, request: RecordedRequest, made: dict[str, tuple[Call, Reasoning]] | None = None
    ) -> dict[str, Any]:
        """The non-streamed body: a `chat.completion`, or the Responses API's response object."""
        if request.wire == "responses":
            body: dict[str, Any] = self._ending(request, self.output(made))["response"]
            return body
        message: dict[str, Any] = {"role": "assistant", "content": self.content or None, "refusal": None}
        if self.calls:
            message["tool_calls"] = [
                {
                    "id": call.id,
                    "type": "function",
                    "function": {"name": call.name, "arguments": call.arguments},
                }
                for call in self.calls
            ]
        choice = {"index": 0, "message": message, "logprobs": None, "finish_reason": self.finish_reason}
        return {**_envelope(request, "chat.completion"), "choices": [choice], "usage": self._usage(request)}

    def events(self, request: RecordedRequest, made: dict[str, tuple[Call, Reasoning]] | None = None) -> list[str]:
        """The SSE `data:` payloads of the stream: on Chat Completions `[DONE]` last; on the Responses API the
        events, the one ending it (`response.completed`) last."""
        if request.wire == "responses":
            output = self.output(made)
            return [
                json.dumps(event)
                for event in fake_responses.stream(request.model, output, self._ending(request, output))
            ]
        envelope = _envelope(request, "chat.completion.chunk")
        with_usage = _wants_usage(request)
        extra: dict[str, Any] = {"usage": None} if with_usage else {}
        chunks = [
            {
                **envelope,
                "choices": [{"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish}],
                **extra,
            }
            for delta, finish in self._deltas()
        ]
        if with_usage:
            chunks.append({**envelope, "choices": [], "usage": self._usage(request)})
        return [*(json.dumps(chunk) for chunk in chunks), "[DONE]"]

    def output(self, made: dict[str, tuple[Call, Reasoning]] | None = None) -> Output:
        """This reply in the Responses API's terms, with new item ids; its calls made after reasoning go in `made`."""
        calls = tuple(Call(fake_responses.new_id("fc"), call.id, call.name, call.arguments) for call in self.calls)
        reasoning = None
        if self.reasoning:
            encrypted = f"gAAAAB{uuid.uuid4().hex}{uuid.uuid4().hex}"  # Fernet-like, as OpenAI's tokens look
            reasoning = Reasoning(fake_responses.new_id("rs"), self.reasoning, encrypted)
            if made is not None:
                made.update({call.call_id: (call, reasoning) for call in calls})
        return Output(self.content, calls, reasoning, fake_responses.new_id("msg"))

    def _ending(self, request: RecordedRequest, output: Output) -> dict[str, Any]:
        """The `response.completed` event, or `response.incomplete` for a reply cut short."""
        prompt = prompt_tokens(request)
        thought = math.ceil(len(self.reasoning) / 4)
        usage = fake_responses.usage(prompt, self._completion_tokens() + thought, thought)
        if self.incomplete is None:
            return fake_responses.ending("response.completed", request.model, output, usage=usage)
        details = {"reason": self.incomplete}
        return fake_responses.ending(
            "response.incomplete", request.model, output, usage=usage, incomplete_details=details
        )

    def _deltas(self) -> list[tuple[dict[str, Any], str | None]]:
        """(delta, finish_reason) per chunk: role, words, call fragments, then the finish."""
        deltas: list[dict[str, Any]] = [{"role": "assistant", "content": "" if self.content else None}]
        deltas += [{"content": word} for word in re.findall(r"\s*\S+|\s+", self.content)]
        for index, call in enumerate(self.calls):
            function = {"name": call.name, "arguments": ""}
            deltas.append({"tool_calls": [{"index": index, "id": call.id, "type": "function", "function": function}]})
            for start in range(0, len(call.arguments), _ARGUMENT_PIECE):
                piece = call.arguments[start : start + _ARGUMENT_PIECE]
                deltas.append({"tool_calls": [{"index": index, "function": {"arguments": piece}}]})
        return [*((delta, None) for delta in deltas), ({}, self.finish_reason)]

    def _completion_tokens(self) -> int:
        written = len(self.content) + sum(len(call.arguments) for call in self.calls)
        return max(1, math.ceil(written / 4))

    def _usage(self, request: RecordedRequest) -> dict[str, int]:
        # Roughly four characters a token, the same estimate the enforcing mode charges: calibration converges.
        prompt = prompt_tokens(request)
        completion = self._completion_tokens()
        return {"prompt_tokens": prompt, "completion_tokens": completion, "total_tokens": prompt + completion}


def _envelope(request: RecordedRequest, kind: str) -> dict[str, Any]:
    return {
        "id": f"chatcmpl-{uuid.uuid4().hex[:24]}",
        "object": kind,
        "created": int(time.time()),
        "model": request.model,
        "system_fingerprint": "fp_fake",
    }


def _wants_usage(request: RecordedRequest) -> bool:
    options = (request.body or {}).get("stream_options")
    return isinstance(options, dict) and options.get("include_usage") is True


def _characters(value: object) -> int:
    """Characters of every string inside `value` (message text, roles, tool names and arguments)."""
    if isinstance(value, str):
        return len(value)
    if isinstance(value, dict):
        return sum(_characters(item) for item in value.values())
    if isinstance(value, list):
        return sum(_characters(item) for item in value)
    return 0


def prompt_tokens(request: RecordedRequest) -> int:
    """The prompt's tokens as this server counts them: characters of all messages (on the Responses API, of the
    instructions and input) / 4, rounded up, at least 1."""
    body = request.body or {}
    return max(1, math.ceil(_characters([body.get(key) for key in ("messages", "instructions", "input")]) / 4))


def requested_tokens(request: RecordedRequest, completion_estimate: int = COMPLETION_ESTIMATE) -> int:
    """What a request is charged, as OpenAI does: prompt tokens plus the completion it may need.

    The completion is `max_completion_tokens`, `max_tokens` or `max_output_tokens` when the request names one, else
    `completion_estimate`.
    """
    body = request.body or {}
    for key in ("max_completion_tokens", "max_tokens", "max_output_tokens"):
        value = body.get(key)
        if isinstance(value, int) and not isinstance(value, bool):
            return prompt_tokens(request) + value
    return prompt_tokens(request) + completion_estimate


def go_duration(seconds: float) -> str:
    """`seconds` as OpenAI's reset headers write it (Go's time.Duration, to the millisecond, rounded up).

    20ms, 1s, 3.708s, 1m2.6s, 6m0s, 2h3m0s.
    """
    millis = max(0, math.ceil(seconds * 1000 - 1e-6))
    if millis < 1000:
        return f"{millis}ms" if millis else "0s"
    hours, rest = divmod(millis, 3_600_000)
    minutes, rest = divmod(rest, 60_000)
    secs = f"{rest // 1000}.{rest % 1000:03d}".rstrip("0").rstrip(".")
    return (f"{hours}h" if hours else "") + (f"{minutes}m" if hours or minutes else "") + f"{secs}s"


# ---- faults -----------------------------------------------------------------------------------------


def openai_error(message: str, error_type: str, code: str | None = None, param: str | None = None) -> dict[str, Any]:
    """An error body in OpenAI's shape: `{"error": {"message", "type", "param", "code"}}`."""
    return {"error": {"message": message, "type": error_type, "param": param, "code": code}}


@dataclass(frozen=True)
class StatusFault:
    """An error answer: a status with its headers and body, as a real server or proxy sends it."""

    status: int
    body: Mapping[str, Any] | str
    headers: Headers = field(default_factory=dict)
    content_type: str = "application/json"

    def with_headers(self, headers: Headers) -> StatusFault:
        """This fault with extra (or, with None, fewer) headers, e.g. `{"x-should-retry": "false"}`."""
        return dataclasses.replace(self, headers={**self.headers, **headers})

    def answer(self, exchange: Exchange) -> None:
        """Send the status, headers and body."""
        data = self.body.encode() if isinstance(self.body, str) else json.dumps(self.body).encode()
        exchange.start(self.status, content_type=self.content_type, length=len(data), headers=self.headers)
        exchange.write(data)


@dataclass(frozen=True)
class CutStream:
    """A reply whose connection closes after `after` stream chunks, never reaching `[DONE]`.

    `clean=True` ends the chunked body properly instead (a stream that just stops). A non-streamed
    request gets its headers and half its body, then the close.
    """

    reply: Reply
    after: int
    clean: bool = False

    def answer(self, exchange: Exchange) -> None:
        """Send the first chunks, then close."""
        request = exchange.request
        if not request.streaming:
            data = json.dumps(self.reply.completion(request)).encode()
            exchange.start(200, content_type="application/json", length=len(data), headers=self.reply.headers)
            exchange.write(data[: len(data) // 2])
            exchange.drop()
            return
        exchange.start_stream(headers=self.reply.headers)
        chunks = self.reply.events(request)[:-1]  # everything but [DONE]
        for index, event in enumerate(chunks[: self.after]):
            if index and self.reply.chunk_delay:
                exchange.sleep(self.reply.chunk_delay)
            exchange.send_event(event)
        if self.clean:
            exchange.finish()
        exchange.drop()


@dataclass(frozen=True)
class Delayed:
    """Another answer, after `seconds` of silence before the first byte."""

    seconds: float
    item: Answer

    def answer(self, exchange: Exchange) -> None:
        """Wait, then answer as `item`."""
        exchange.sleep(self.seconds)
        self.item.answer(exchange)


@dataclass(frozen=True)
class Reset:
    """The request is read, then the connection is aborted with a TCP RST before any byte of an answer."""

    def answer(self, exchange: Exchange) -> None:
        """Reset the connection."""
        exchange.reset()


# How a BrokenStream ends: the remaining chunks and [DONE] after all; a proper end of the body without
# them; a close mid-body (the chunked body never terminated); a TCP RST.
StreamEnd = Literal["rest", "finish", "cut", "reset"]


@dataclass(frozen=True)
class BrokenStream:
    """`reply`'s first `after` chunks, then `insert` sent verbatim, `stall` seconds of silence with the socket
    open, and the `end`.

    A non-streamed request gets half its JSON body in place of the chunks, no insert, the stall, then the end
    ("rest" sends the other half; "finish" and "cut" close, since a sized body cannot end early).
    """

    reply: Reply
    after: int
    insert: str = ""
    stall: float = 0.0
    end: StreamEnd = "rest"

    def answer(self, exchange: Exchange) -> None:
        """Send the chunks, the insert, the silence, the end."""
        request = exchange.request
        if not request.streaming:
            data = json.dumps(self.reply.completion(request)).encode()
            exchange.start(200, content_type="application/json", length=len(data), headers=self.reply.headers)
            exchange.write(data[: len(data) // 2])
            self._pause(exchange)
            if self.end == "rest":
                exchange.write(data[len(data) // 2 :])
            elif self.end == "reset":
                exchange.reset()
            else:
                exchange.drop()
            return
        events = self.reply.events(request)
        exchange.start_stream(headers=self.reply.headers)
        self._send(exchange, events[: self.after])
        if self.insert:
            exchange.send_raw(self.insert)
        self._pause(exchange)
        if self.end == "rest":
            self._send(exchange, events[self.after :])
            exchange.finish()
        elif self.end == "finish":
            exchange.finish()
        elif self.end == "cut":
            exchange.drop()
        else:
            exchange.reset()

    def _send(self, exchange: Exchange, events: Sequence[str]) -> None:
        for index, event in enumerate(events):
            if index and self.reply.chunk_delay:
                exchange.sleep(self.reply.chunk_delay)
            exchange.send_event(event)

    def _pause(self, exchange: Exchange) -> None:
        if self.stall:
            exchange.sleep(self.stall)


@dataclass(frozen=True)
class StreamFailure:
    """`reply`'s first `after` events, then `error` (`{"code", "message"}`) reported inside the stream, then the end.

    On the Responses API as `response.failed` carrying it in `response.error` ("Streaming events",
    `response.failed`), or with `standalone` as an `error` event (`code`, `message`, `param`); on Chat Completions as
    OpenAI sends an error mid-stream, `data: {"error": {...}}`. Either way the body then ends.
    """

    reply: Reply
    after: int
    error: Mapping[str, Any]
    standalone: bool = False

    def answer(self, exchange: Exchange) -> None:
        """Send the first events, the failure, the end."""
        request = exchange.request
        exchange.start_stream(headers=self.reply.headers)
        for event in self.reply.events(request)[: self.after]:
            exchange.send_event(event)
        exchange.send_event(json.dumps(self._failure(request)))
        exchange.finish()

    def _failure(self, request: RecordedRequest) -> dict[str, Any]:
        if request.wire == "chat":
            return {"error": {"type": None, "param": None, **self.error}}
        code, message = self.error.get("code"), str(self.error.get("message", ""))
        if self.standalone:
            event = fake_responses.error_event(code, message, self.error.get("param"))
        else:
            nothing = Output("", (), None, fake_responses.new_id("msg"))
            error = {"code": code, "message": message}
            event = fake_responses.ending("response.failed", request.model, nothing, error=error)
        return {**event, "sequence_number": self.after}


# ---- hostile streams (each an attack, or a real server's fault pushed to its end) ---------------------


@dataclass(frozen=True)
class RawEvent:
    """`reply`'s first `after` chunks, one event sent as the given bytes (not UTF-8, say), then the rest.

    Imitates a server that cuts a multi-byte character between two tokens and sends each half as it is (llama.cpp
    servers have streamed such halves), or an attacker's byte.
    """

    reply: Reply
    after: int
    data: bytes

    def answer(self, exchange: Exchange) -> None:
        """Send the first chunks, the raw event, the rest and [DONE]."""
        events = self.reply.events(exchange.request)
        exchange.start_stream(headers=self.reply.headers)
        for event in events[: self.after]:
            exchange.send_event(event)
        exchange.write(b"data: " + self.data + b"\n\n")
        for event in events[self.after :]:
            exchange.send_event(event)
        exchange.finish()


@dataclass(frozen=True)
class CommentsOnly:
    """A 200 stream that sends only `: keep-alive` comments, one every `every` seconds, until the client leaves.

    OpenRouter sends `: OPENROUTER PROCESSING` comments while a request waits for a model; one that never ends is
    an attack (each comment comes well within the client's read timeout). `most` comments at most, so no test hangs.
    """

    every: float
    most: int = 100_000

    def answer(self, exchange: Exchange) -> None:
        """Send comments until the client hangs up (a write fails), or `most` were sent."""
        exchange.start_stream()
        for _ in range(self.most):
            exchange.send_raw(": keep-alive\n\n")
            exchange.sleep(self.every)
        exchange.finish()


@dataclass(frozen=True)
class EndlessReply:
    """A text reply that never ends: chunks of `piece` characters until the client hangs up (`most` at most).

    A model caught in a repetition loop writes until max_tokens; with no max_tokens, or from an attacker, it goes on.
    """

    piece: int = 65_536
    most: int = 100_000

    def answer(self, exchange: Exchange) -> None:
        """Send text chunks until a write fails, or `most` were sent."""
        envelope = _envelope(exchange.request, "chat.completion.chunk")
        text = ("all work and no play " * (self.piece // 21 + 1))[: self.piece]
        chunk = {**envelope, "choices": [{"index": 0, "delta": {"content": text}, "finish_reason": None}]}
        exchange.start_stream()
        event = json.dumps(chunk)
        for _ in range(self.most):
            exchange.send_event(event)
        exchange.finish()


_A = TypeVar("_A", bound=Answer)

_SERVER_ERRORS: Mapping[int, tuple[str, str]] = {
    500: ("The server had an error while processing your request. Sorry about that!", "server_error"),
    503: ("The engine is currently overloaded, please try again later.", "server_error"),
}
# Cloudflare's pages, as they arrive from in front of api.openai.com (CRLF line ends and all).
_HTML_PAGES: Mapping[int, str] = {
    502: "502 Bad Gateway",
    504: "504 Gateway Time-out",
}
_STREAM_ERROR = openai_error("The server had an error while processing your request. Sorry about that!", "server_error")


def html_page(status: int) -> str:
    """The HTML error page a proxy (Cloudflare) sends for `status`."""
    title = _HTML_PAGES.get(status, f"{status} {HTTPStatus(status).phrase}")
    lines = ["<html>", f"<head><title>{title}</title></head>", "<body>", f"<center><h1>{title}</h1></center>"]
    return "\r\n".join([*lines, "<hr><center>cloudflare</center>", "</body>", "</html>", ""])


class Fault:
    """Factories for the scripted failures (429s are on `RateLimit`)."""

    @staticmethod
    def status(
        status: int,
        body: Mapping[str, Any] | str | None = None,
        *,
        headers: Headers | None = None,
        content_type: str = "application/json",
    ) -> StatusFault:
        """An error status; the body defaults to an OpenAI-style error naming the status."""
        if body is None:
            error = {"message": HTTPStatus(status).phrase, "type": "fake_error", "param": None, "code": None}
            body = {"error": error}
        return StatusFault(status, body, dict(headers or {}), content_type)

    @staticmethod
    def cut(reply: Reply, after: int, *, clean: bool = False) -> CutStream:
        """`reply`, with the connection closed after `after` chunks and no `[DONE]`."""
        return CutStream(reply, after, clean)

    @staticmethod
    def delay(seconds: float, item: Answer) -> Delayed:
        """`item`, after `seconds` before the first byte."""
        return Delayed(seconds, item)

    @staticmethod
    def times(n: int, item: _A) -> tuple[_A, ...]:
        """`item` n times, to enqueue: `server.enqueue(*Fault.times(3, RateLimit.tokens()), Reply.text("ok"))`."""
        return (item,) * n

    @staticmethod
    def always(item: Answer) -> Callable[[RecordedRequest], Answer]:
        """A responder answering every unscripted request with `item` (e.g. a 429 that never ends)."""
        return lambda request: item

    @staticmethod
    def no_retry(fault: StatusFault) -> StatusFault:
        """`fault` with `x-should-retry: false`, the header that tells the client not to retry."""
        return fault.with_headers({"x-should-retry": "false"})

    @staticmethod
    def server_error(status: int = 500) -> StatusFault:
        """A 5xx as it arrives: OpenAI's JSON for 500 and 503, Cloudflare's HTML page for 502 and 504."""
        if status in _HTML_PAGES:
            return Fault.html(status)
        message, error_type = _SERVER_ERRORS.get(status, (HTTPStatus(status).phrase, "server_error"))
        return StatusFault(status, openai_error(message, error_type))

    @staticmethod
    def html(status: int = 502) -> StatusFault:
        """A proxy's HTML error page instead of JSON."""
        return StatusFault(status, html_page(status), content_type="text/html")

    @staticmethod
    def context_length_exceeded(limit: int = 128_000, requested: int = 130_532) -> StatusFault:
        """400 `context_length_exceeded`, OpenAI's wording."""
        message = (
            f"This model's maximum context length is {limit} tokens. However, your messages resulted in "
            f"{requested} tokens. Please reduce the length of the messages."
        )
        return StatusFault(400, openai_error(message, "invalid_request_error", "context_length_exceeded", "messages"))

    @staticmethod
    def invalid_api_key(shown: str = "sk-abc***xyz") -> StatusFault:
        """401 `invalid_api_key`, OpenAI's wording (`shown` is the key as OpenAI masks it)."""
        message = (
            f"Incorrect API key provided: {shown}. You can find your API key at "
            "https://platform.openai.com/account/api-keys."
        )
        return StatusFault(401, openai_error(message, "invalid_request_error", "invalid_api_key"))

    @staticmethod
    def forbidden() -> StatusFault:
        """403, as OpenAI refuses an unsupported region."""
        error = openai_error(
            "Country, region, or territory not supported", "request_forbidden", "unsupported_country_region_territory"
        )
        return StatusFault(403, error)

    @staticmethod
    def model_not_found(model: str = "gpt-5-turbo") -> StatusFault:
        """404 `model_not_found`, OpenAI's wording."""
        message = f"The model `{model}` does not exist or you do not have access to it."
        return StatusFault(404, openai_error(message, "invalid_request_error", "model_not_found"))

    @staticmethod
    def responses_only() -> StatusFault:
        """404 for a Responses-only model on Chat Completions, OpenAI's wording (openai/codex#1306,
        alvinunreal/tmuxai#82): codex-mini-latest, gpt-5(.1)-codex(-mini), o1-pro, o3-pro, gpt-5(.x)-pro."""
        message = "This model is only supported in v1/responses and not in v1/chat/completions."
        return StatusFault(404, openai_error(message, "invalid_request_error", None, "model"))

    @staticmethod
    def azure_responses_only(model: str = "gpt-5.1-codex") -> StatusFault:
        """400 `OperationNotSupported`, Azure's wording for the same (langchain-ai/langchain-azure#228)."""
        message = (
            f"The chatCompletion operation does not work with the specified model, {model}. Please choose different "
            "model and try again. You can learn more about which models can be used with each operation here: "
            "https://go.microsoft.com/fwlink/?linkid=2197993."
        )
        return StatusFault(400, {"error": {"code": "OperationNotSupported", "message": message}})

    @staticmethod
    def tools_with_reasoning(model: str = "gpt-5.4", *, default_effort: bool = False) -> StatusFault:
        """400 for function tools with reasoning on Chat Completions, `param: reasoning_effort`: gpt-5.4 when an
        effort is sent (pipecat-ai/pipecat#4043), the gpt-5.6 family with none, its default effort (`default_effort`,
        langflow-ai/langflow#14361)."""
        instead = "/v1/responses or set reasoning_effort to 'none'" if default_effort else "/v1/responses instead"
        message = (
            f"Function tools with reasoning_effort are not supported for {model} in /v1/chat/completions. "
            f"Please use {instead}."
        )
        return StatusFault(400, openai_error(message, "invalid_request_error", None, "reasoning_effort"))

    @staticmethod
    def effort_unsupported(value: str = "minimal", *, responses: bool = False) -> StatusFault:
        """400 `unsupported_value` for an effort the model does not take (immersive-translate#3529); `responses`
        names the parameter as the Responses API has it, `reasoning.effort`."""
        param = "reasoning.effort" if responses else "reasoning_effort"
        message = (
            f"Unsupported value: '{param}' does not support '{value}' with this model. Supported values are: "
            "'none', 'low', 'medium', and 'high'."
        )
        return StatusFault(400, openai_error(message, "invalid_request_error", "unsupported_value", param))

    @staticmethod
    def tools_unsupported(model: str = "gemma:2b") -> StatusFault:
        """400 for a request that offers tools to a model without tool calling, as Ollama words it."""
        message = f"registry.ollama.ai/library/{model} does not support tools"
        return StatusFault(400, openai_error(message, "api_error"))

    @staticmethod
    def unprocessable() -> StatusFault:
        """422, an OpenAI-shaped body."""
        message = "The request was well-formed but could not be processed."
        return StatusFault(422, openai_error(message, "invalid_request_error"))

    @staticmethod
    def reset() -> Reset:
        """Read the request, then a TCP RST before any response byte."""
        return Reset()

    @staticmethod
    def reset_mid_stream(reply: Reply, after: int, *, settle: float = 0.1) -> BrokenStream:
        """`after` chunks of `reply`, `settle` seconds for the client to read them (an RST discards unread
        data), then a TCP RST."""
        return BrokenStream(reply, after, stall=settle, end="reset")

    @staticmethod
    def stall(reply: Reply, after: int, seconds: float, *, then: StreamEnd = "rest") -> BrokenStream:
        """`after` chunks of `reply`, then `seconds` of silence with the socket open, then `then`."""
        return BrokenStream(reply, after, stall=seconds, end=then)

    @staticmethod
    def error_event(reply: Reply, after: int, error: Mapping[str, Any] | None = None) -> BrokenStream:
        """`after` chunks of `reply`, then `data: {"error": {...}}` as OpenAI sends it mid-stream, then the end of
        the body (no `[DONE]`)."""
        body = _STREAM_ERROR if error is None else error
        return BrokenStream(reply, after, insert=f"data: {json.dumps(body)}\n\n", end="finish")

    @staticmethod
    def malformed_json(
        reply: Reply, after: int, data: str = '{"id": "chatcmpl-broken", "object": "chat.completion.chunk", "choi'
    ) -> BrokenStream:
        """`after` chunks of `reply`, one `data:` event whose JSON is broken, then the rest of the stream."""
        return BrokenStream(reply, after, insert=f"data: {data}\n\n")

    @staticmethod
    def malformed_sse(
        reply: Reply, after: int, line: str = '{"object": "chat.completion.chunk", "note": "no data: prefix"}'
    ) -> BrokenStream:
        """`after` chunks of `reply`, one line that is not a `data:` field, then the rest of the stream."""
        return BrokenStream(reply, after, insert=f"{line}\n\n")


def stream_failure(
    code: str | None, message: str, *, reply: Reply | None = None, after: int = 2, standalone: bool = False
) -> StreamFailure:
    """`reply` (an empty one by default) cut after `after` events by a failure with `code` and `message` reported
    inside the stream: `response.failed`, or with `standalone` an `error` event (a mid-stream error on Chat)."""
    return StreamFailure(reply or Reply(), after, {"code": code, "message": message}, standalone)


def closed_port() -> int:
    """A loopback port nothing listens on (bound once, then released), for "connection refused".

    `FakeServer(port=closed_port_value)` later brings the API "back" on the same port.
    """
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


# ---- rate limits ------------------------------------------------------------------------------------

RateKind = Literal["tokens", "requests"]
_UNITS: Mapping[RateKind, str] = {"tokens": "tokens per min (TPM)", "requests": "requests per min (RPM)"}
_QUOTA_MESSAGE = (
    "You exceeded your current quota, please check your plan and billing details. For more information on this "
    "error, read the docs: https://platform.openai.com/docs/guides/error-codes/api-errors."
)
RetryAfter = int | float | str | datetime


def _retry_after_value(value: RetryAfter) -> str:
    if isinstance(value, datetime):
        return format_datetime(value, usegmt=True)  # needs an aware UTC datetime, as HTTP-dates are GMT
    return str(value)


def rate_limit_message(
    kind: RateKind,
    *,
    limit: int,
    used: int,
    requested: int,
    hint: str | None,
    model: str = "gpt-4o",
    organization: str = ORGANIZATION,
) -> str:
    """OpenAI's 429 text; `hint` (e.g. "3.708s", "~3s") makes the "Please try again in" sentence."""
    again = f" Please try again in {hint}." if hint is not None else ""
    return (
        f"Rate limit reached for {model} in organization {organization} on {_UNITS[kind]}: "
        f"Limit {limit}, Used {used}, Requested {requested}.{again} Visit {RATE_LIMITS_URL} to learn more."
    )


def too_large_message(limit: int, requested: int, *, model: str = "gpt-4o", organization: str = ORGANIZATION) -> str:
    """OpenAI's 429 text for a request larger than the whole tokens-per-minute limit."""
    return (
        f"Request too large for {model} in organization {organization} on {_UNITS['tokens']}: Limit {limit}, "
        f"Requested {requested}. The input or output tokens must be reduced in order to run successfully. "
        f"Visit {RATE_LIMITS_URL} to learn more."
    )


@dataclass(frozen=True)
class RetryAfterDate:
    """`fault` with `retry-after` as an HTTP-date `seconds` from when it is sent (rounded up to the second)."""

    seconds: float
    fault: StatusFault
    wall_clock: Callable[[], float] = time.time

    def answer(self, exchange: Exchange) -> None:
        """Date the header now, then send the fault."""
        date = formatdate(math.ceil(self.wall_clock() + self.seconds), usegmt=True)
        self.fault.with_headers({"retry-after": date}).answer(exchange)


class RateLimit:
    """429s (and rate-limit headers) exactly as OpenAI sends them."""

    @staticmethod
    def tokens(
        limit: int = 10_000,
        used: int = 6_353,
        requested: int = 4_265,
        *,
        hint: str | bool = True,
        retry_after: RetryAfter | None = None,
        retry_after_ms: int | str | None = None,
        model: str = "gpt-4o",
        organization: str = ORGANIZATION,
    ) -> StatusFault:
        """A tokens-per-minute 429 (type "tokens", code "rate_limit_exceeded").

        `hint=True` writes "Please try again in" with the wait the numbers imply, (requested - (limit - used)) at
        limit/60 tokens a second: 3.708s for the defaults; a string is written as given ("20ms", "1m2.6s", "6m0s",
        "2h3m", "~3s"); False leaves the sentence out. The x-ratelimit-*-tokens headers match the numbers
        (remaining limit - used, reset when full again); `retry-after` / `retry-after-ms` go out only when given.
        """
        remaining = max(0, limit - used)
        rate = limit / 60
        text = hint if isinstance(hint, str) else go_duration((requested - remaining) / rate) if hint else None
        message = rate_limit_message(
            "tokens", limit=limit, used=used, requested=requested, hint=text, model=model, organization=organization
        )
        headers: dict[str, str | None] = {
            "x-ratelimit-limit-tokens": str(limit),
            "x-ratelimit-remaining-tokens": str(remaining),
            "x-ratelimit-reset-tokens": go_duration(min(used, limit) / rate),
        }
        if retry_after is not None:
            headers["retry-after"] = _retry_after_value(retry_after)
        if retry_after_ms is not None:
            headers["retry-after-ms"] = str(retry_after_ms)
        return StatusFault(429, openai_error(message, "tokens", "rate_limit_exceeded"), headers)

    @staticmethod
    def requests(
        limit: int = 500,
        used: int = 500,
        *,
        hint: str | bool = False,
        reset: str | None = None,
        model: str = "gpt-4o",
        organization: str = ORGANIZATION,
    ) -> StatusFault:
        """A requests-per-minute 429 (type "requests", "(RPM)") whose only hint is `x-ratelimit-reset-requests`.

        By default no "try again in" sentence and no `x-ratelimit-reset-tokens` header. `reset` defaults to
        the truth: the time until the bucket is full again (used at limit/60 a second: `1m0s` when all is used).
        `hint` works as in `tokens` (True: the time until one request fits).
        """
        remaining = max(0, limit - used)
        rate = limit / 60
        text = hint if isinstance(hint, str) else go_duration((1 - remaining) / rate) if hint else None
        message = rate_limit_message(
            "requests", limit=limit, used=used, requested=1, hint=text, model=model, organization=organization
        )
        headers: dict[str, str | None] = {
            "x-ratelimit-limit-requests": str(limit),
            "x-ratelimit-remaining-requests": str(remaining),
            "x-ratelimit-reset-requests": reset if reset is not None else go_duration(min(used, limit) / rate),
            "x-ratelimit-reset-tokens": None,
        }
        return StatusFault(429, openai_error(message, "requests", "rate_limit_exceeded"), headers)

    @staticmethod
    def retry_after_ms(milliseconds: int | str = 3708) -> StatusFault:
        """A TPM 429 hinting by `retry-after-ms` only (no "try again in" text)."""
        return RateLimit.tokens(hint=False, retry_after_ms=milliseconds)

    @staticmethod
    def retry_after(value: RetryAfter = 4) -> StatusFault:
        """A TPM 429 hinting by `retry-after` only: seconds (`4`, `1.5`, `3600`), any text, or an aware datetime
        (sent as an HTTP-date)."""
        return RateLimit.tokens(hint=False, retry_after=value)

    @staticmethod
    def retry_after_date(seconds: float = 5.0, *, wall_clock: Callable[[], float] = time.time) -> RetryAfterDate:
        """A TPM 429 hinting by `retry-after: <HTTP-date>` dated `seconds` after it is sent."""
        return RetryAfterDate(seconds, RateLimit.tokens(hint=False), wall_clock)

    @staticmethod
    def too_large(
        limit: int = 10_000, requested: int = 12_000, *, model: str = "gpt-4o", organization: str = ORGANIZATION
    ) -> StatusFault:
        """The 429 for a request larger than the whole limit (Requested > Limit): no wait can make it fit."""
        message = too_large_message(limit, requested, model=model, organization=organization)
        headers = {"x-ratelimit-limit-tokens": str(limit), "x-ratelimit-remaining-tokens": str(limit)}
        return StatusFault(429, openai_error(message, "tokens", "rate_limit_exceeded"), headers)

    @staticmethod
    def in_stream(hint: str = "11.054s", *, after: int = 2, standalone: bool = False) -> StreamFailure:
        """A TPM rate limit reported inside a 200 stream, its wait named only in its words ("Please try again in
        11.054s."): `response.failed` with code `rate_limit_exceeded` (or with `standalone` an `error` event)."""
        message = rate_limit_message("tokens", limit=30_000, used=29_500, requested=4_265, hint=hint)
        return stream_failure("rate_limit_exceeded", message, after=after, standalone=standalone)

    @staticmethod
    def quota_in_stream() -> StreamFailure:
        """The billing failure (`insufficient_quota`) reported inside a 200 stream."""
        return stream_failure("insufficient_quota", _QUOTA_MESSAGE)

    @staticmethod
    def insufficient_quota() -> StatusFault:
        """The billing 429 (type and code "insufficient_quota"): no wait fixes it."""
        return StatusFault(429, openai_error(_QUOTA_MESSAGE, "insufficient_quota", "insufficient_quota"))

    @staticmethod
    def headers(
        *,
        limit_tokens: int = 30_000,
        remaining_tokens: int | None = None,
        limit_requests: int = 500,
        remaining_requests: int | None = None,
    ) -> dict[str, str]:
        """The six x-ratelimit-* headers, resets computed truthfully (time until full at limit/60 a second).

        Remaining defaults: every token, and all requests but this one. For a normal reply with little left:
        `Reply.text("ok").with_headers(RateLimit.headers(limit_tokens=10_000, remaining_tokens=50))`.
        """
        tokens = limit_tokens if remaining_tokens is None else remaining_tokens
        requests = limit_requests - 1 if remaining_requests is None else remaining_requests
        return {
            "x-ratelimit-limit-requests": str(limit_requests),
            "x-ratelimit-limit-tokens": str(limit_tokens),
            "x-ratelimit-remaining-requests": str(requests),
            "x-ratelimit-remaining-tokens": str(tokens),
            "x-ratelimit-reset-requests": go_duration((limit_requests - requests) * 60 / limit_requests),
            "x-ratelimit-reset-tokens": go_duration((limit_tokens - tokens) * 60 / limit_tokens),
        }

    @staticmethod
    def unknown_headers(value: str = "-1") -> dict[str, str]:
        """All six x-ratelimit-* headers set to `value` ("-1" or "0"), as gateways say "unknown"."""
        names = ("limit", "remaining", "reset")
        return {f"x-ratelimit-{name}-{kind}": value for name in names for kind in ("requests", "tokens")}


# ---- the enforcing mode -----------------------------------------------------------------------------

_SLACK = 1e-3  # tokens: waiting exactly a hint (rounded to the ms) must be enough despite float rounding


@dataclass(frozen=True)
class TokenLimits:
    """A budget the server enforces as OpenAI does: `FakeServer(limits=TokenLimits(tokens_per_minute=10_000))`.

    Buckets start full and refill continuously at limit/60 a second. A request is charged its prompt
    (characters of all messages / 4) plus `max_completion_tokens` / `max_tokens`, else `completion_estimate`.
    A request that does not fit gets OpenAI's 429 and is charged nothing.
    """

    tokens_per_minute: int = 10_000
    requests_per_minute: int = 500
    completion_estimate: int = COMPLETION_ESTIMATE
    retry_after: bool = False  # also send retry-after-ms and retry-after (whole seconds, rounded up) on a 429
    organization: str = ORGANIZATION


class _Bucket:
    """A continuously refilling bucket, full at the start."""

    def __init__(self, capacity: int, now: float) -> None:
        self.capacity = capacity
        self.rate = capacity / 60
        self.level = float(capacity)
        self._updated = now

    def refill(self, now: float) -> None:
        self.level = min(float(self.capacity), self.level + max(0.0, now - self._updated) * self.rate)
        self._updated = now

    def wait(self, amount: float) -> float:
        """Seconds until `amount` fits (0 if it fits now)."""
        return 0.0 if self.level + _SLACK >= amount else (amount - self.level) / self.rate

    @property
    def remaining(self) -> int:
        return max(0, math.floor(self.level + _SLACK))

    @property
    def until_full(self) -> float:
        return (self.capacity - self.level) / self.rate


class RateLimiter:
    """The enforcing mode's state. Read `admitted` (requests served), `rejected` (429s sent), `tokens_charged`."""

    def __init__(self, limits: TokenLimits, clock: Callable[[], float]) -> None:
        self.limits = limits
        self.admitted = 0
        self.rejected = 0
        self.tokens_charged = 0
        self._clock = clock
        now = clock()
        self._tokens = _Bucket(limits.tokens_per_minute, now)
        self._requests = _Bucket(limits.requests_per_minute, now)
        self._lock = threading.Lock()

    def admit(self, request: RecordedRequest) -> tuple[StatusFault | None, dict[str, str]]:
        """Charge `request` if it fits and return (None, headers); else (OpenAI's 429, headers). The headers are
        the truthful x-ratelimit-* after the decision."""
        limits = self.limits
        tokens = requested_tokens(request, limits.completion_estimate)
        with self._lock:
            now = self._clock()
            self._tokens.refill(now)
            self._requests.refill(now)
            refusal = self._refusal(request, tokens)
            if refusal is None:
                self._tokens.level -= tokens
                self._requests.level -= 1
                self.admitted += 1
                self.tokens_charged += tokens
            else:
                self.rejected += 1
            return refusal, self._headers()

    def _refusal(self, request: RecordedRequest, tokens: int) -> StatusFault | None:
        limits = self.limits
        model = request.model
        if tokens > limits.tokens_per_minute:
            message = too_large_message(limits.tokens_per_minute, tokens, model=model, organization=limits.organization)
            return StatusFault(429, openai_error(message, "tokens", "rate_limit_exceeded"))
        token_wait, request_wait = self._tokens.wait(tokens), self._requests.wait(1)
        if not token_wait and not request_wait:
            return None
        kind: RateKind = "tokens" if token_wait >= request_wait else "requests"
        bucket, requested, wait = (
            (self._tokens, tokens, token_wait) if kind == "tokens" else (self._requests, 1, request_wait)
        )
        message = rate_limit_message(
            kind,
            limit=bucket.capacity,
            used=bucket.capacity - bucket.remaining,
            requested=requested,
            hint=go_duration(wait),
            model=model,
            organization=limits.organization,
        )
        headers: dict[str, str | None] = {}
        if limits.retry_after:
            headers = {"retry-after-ms": str(math.ceil(wait * 1000)), "retry-after": str(math.ceil(wait))}
        return StatusFault(429, openai_error(message, kind, "rate_limit_exceeded"), headers)

    def _headers(self) -> dict[str, str]:
        return {
            "x-ratelimit-limit-requests": str(self._requests.capacity),
            "x-ratelimit-limit-tokens": str(self._tokens.capacity),
            "x-ratelimit-remaining-requests": str(self._requests.remaining),
            "x-ratelimit-remaining-tokens": str(self._tokens.remaining),
            "x-ratelimit-reset-requests": go_duration(self._requests.until_full),
            "x-ratelimit-reset-tokens": go_duration(self._tokens.until_full),
        }


# ---- the pairing check --------------------------------------------------------------------------------
# OpenAI refuses a conversation whose tool calls and tool messages do not pair up, with a 400
# `invalid_request_error`, `code` null and `param` naming the message; the wording below is OpenAI's as
# reported in https://github.com/sdcb/chats/pull/132 (both errors, with their `param`) and
# https://github.com/aliasrobotics/cai/issues/111 (the ids listed after "The following tool_call_ids").
UNANSWERED_CALLS = (
    "An assistant message with 'tool_calls' must be followed by tool messages responding to each 'tool_call_id'. "
    "The following tool_call_ids did not have response messages: {ids}"
)
UNASKED_ANSWER = (  # "preceeding" [sic]
    "Invalid parameter: messages with role 'tool' must be a response to a preceeding message with 'tool_calls'."
)


def pairing_error(
    request: RecordedRequest, made: Mapping[str, tuple[Call, Reasoning]] | None = None
) -> StatusFault | None:
    """OpenAI's 400 when tool calls and the tool messages right after them do not pair up (on the Responses API: calls
    and their outputs, and a call `made` after reasoning sent without it); None when they do."""
    if request.wire == "responses":
        items = (request.body or {}).get("input")
        items = items if isinstance(items, list) else []
        problem = fake_responses.pairing_problem(items) or fake_responses.reasoning_problem(items, made or {})
        return StatusFault(400, openai_error(problem, "invalid_request_error", None, "input")) if problem else None
    messages = (request.body or {}).get("messages")
    asked: list[str] = []  # the calls of the latest assistant message
    waiting: list[str] = []  # those of them no tool message answered yet
    asker = 0
    for index, item in enumerate([*messages, {}] if isinstance(messages, list) else ()):
        message = item if isinstance(item, dict) else {}
        if message.get("role") == "tool":
            if message.get("tool_call_id") not in asked:
                return _invalid(UNASKED_ANSWER, index)
            waiting = [call_id for call_id in waiting if call_id != message["tool_call_id"]]
            continue
        if waiting:
            return _invalid(UNANSWERED_CALLS.format(ids=", ".join(waiting)), asker)
        asked = [str(call.get("id")) for call in message.get("tool_calls") or () if isinstance(call, dict)]
        waiting, asker = list(asked), index
    return None


def _invalid(message: str, index: int) -> StatusFault:
    return StatusFault(400, openai_error(message, "invalid_request_error", None, f"messages.[{index}].role"))


# ---- the server -------------------------------------------------------------------------------------


CATALOGUE_AGENT = "(model catalogue)"  # in the user agent of interpreter/model/server_reports.py's questions


def fallback(request: RecordedRequest) -> Answer:
    """What an unscripted chat request gets: a fixed text reply."""
    return Reply.text(FALLBACK_TEXT)


@dataclass(frozen=True)
class _ModelList:
    def answer(self, exchange: Exchange) -> None:
        models = [{"id": name, "object": "model", "created": 1_700_000_000, "owned_by": "fake"} for name in MODELS]
        exchange.send_json(200, {"object": "list", "data": models})


class FakeServer:
    """The fake API, serving on 127.0.0.1 from a daemon thread from construction until `stop()`.

    `limits` turns on the enforcing mode (see `TokenLimits`; its state and counters are `limiter`). With
    `api_key`, every request that does not carry that key is refused with OpenAI's 401, `/v1/models` too. `clock`
    (default `time.monotonic`) times the buckets and the recorded requests; `sleep` is every wait an answer
    makes. `responder` answers what nothing scripted answers; it may be replaced at any time. `chat_refusals` makes
    models Responses-only: `FakeServer(chat_refusals={"gpt-5.1-codex": Fault.responses_only()})`.
    """

    def __init__(
        self,
        *,
        port: int = 0,
        responder: Callable[[RecordedRequest], Answer] = fallback,
        sleep: Callable[[float], object] | None = None,
        limits: TokenLimits | None = None,
        clock: Callable[[], float] = time.monotonic,
        verbose: bool = False,
        api_key: str | None = None,
        chat_refusals: Mapping[str, Answer] | None = None,
    ) -> None:
        self.headers: dict[str, str] = dict(DEFAULT_HEADERS)
        self.api_key = api_key  # when set, a request without `Authorization: Bearer <api_key>` gets a 401
        # Models Chat Completions refuses, each with its refusal (e.g. `Fault.responses_only()`), every time and before
        # the script: as OpenAI answers them today. Their requests on the Responses API are answered as any other.
        self.chat_refusals: dict[str, Answer] = dict(chat_refusals or {})
        self.verbose = verbose
        self.responder = responder
        self.clock = clock
        self.limiter = RateLimiter(limits, clock) if limits is not None else None
        # Further paths the server answers, as (method, path) -> answer: what another server reports of its models
        # (tests/flavours.py `reports`). They are answered before `/v1/models`, which they may replace.
        self.routes: dict[tuple[str, str], Answer] = {}
        self._asked: list[RecordedRequest] = []  # the model catalogue's questions, kept apart from `requests`
        self._script: deque[Answer] = deque()
        self._by_model: dict[str, deque[Answer]] = {}  # answers for the requests naming one model, before the rest
        self._requests: list[RecordedRequest] = []
        self._made: dict[str, tuple[Call, Reasoning]] = {}  # see Exchange.made
        self._lock = threading.Lock()
        self._stopped = threading.Event()
        # The default sleep wakes on stop(), so a delayed answer never holds the server up.
        self._sleep: Callable[[float], object] = sleep or self._stopped.wait
        self._httpd = _HTTPServer(("127.0.0.1", port), self)
        self._thread = threading.Thread(
            target=self._httpd.serve_forever, kwargs={"poll_interval": 0.02}, name="fake-openai", daemon=True
        )
        self._thread.start()

    @property
    def port(self) -> int:
        """The port actually bound."""
        return int(self._httpd.server_address[1])

    @property
    def url(self) -> str:
        """The base URL to give the SDK, `http://127.0.0.1:PORT/v1`."""
        return f"http://127.0.0.1:{self.port}/v1"

    @property
    def requests(self) -> list[RecordedRequest]:
        """Every request so far, in arrival order (a copy)."""
        with self._lock:
            return list(self._requests)

    @property
    def asked(self) -> list[RecordedRequest]:
        """The questions the model catalogue asked (its user agent names it), in arrival order (a copy).

        Kept apart from `requests` so that what a test counts there is what the session sent, whenever in the run
        the catalogue's questions (asked in the background of the first request) arrive.
        """
        with self._lock:
            return list(self._asked)

    @property
    def pending(self) -> int:
        """How many scripted items no request has taken yet."""
        with self._lock:
            return len(self._script) + sum(len(script) for script in self._by_model.values())

    def enqueue(self, *items: Answer, model: str | None = None) -> None:
        """Script the answers to the next chat requests, in order; with `model`, to the next ones naming it only."""
        if self._stopped.is_set():
            raise RuntimeError("the fake server is stopped")
        with self._lock:
            (self._script if model is None else self._by_model.setdefault(model, deque())).extend(items)

    def stop(self) -> None:
        """Stop serving and close every open connection; safe to call twice."""
        if self._stopped.is_set():
            return
        self._stopped.set()
        self._httpd.shutdown()
        self._httpd.server_close()
        self._httpd.close_connections()
        self._thread.join()

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()

    def _record(self, method: str, path: str, headers: HeaderMessage, raw: bytes) -> RecordedRequest:
        at = self.clock()  # before the body is parsed: what a client's request costs the server is not its time
        request = RecordedRequest(
            method, path, {name.lower(): value for name, value in headers.items()}, _json_object(raw), at
        )
        asked = CATALOGUE_AGENT in request.headers.get("user-agent", "")
        with self._lock:
            (self._asked if asked else self._requests).append(request)
        return request

    def _route(self, request: RecordedRequest) -> tuple[Answer, dict[str, str]]:
        """The answer to `request` and the headers every answer starts from."""
        headers = dict(self.headers)
        path = request.path.split("?", 1)[0]
        if self.api_key is not None and request.headers.get("authorization") != f"Bearer {self.api_key}":
            return Fault.invalid_api_key(), headers
        if (route := self.routes.get((request.method, path))) is not None:
            return route, headers
        if request.method == "POST" and path in ("/v1/chat/completions", "/v1/responses"):
            return self._answer(request, headers), headers
        if (request.method, path) == ("GET", "/v1/models"):
            return _ModelList(), headers
        return Fault.status(404, openai_error(f"Unknown path {path}", "invalid_request_error")), headers

    def _answer(self, request: RecordedRequest, headers: dict[str, str]) -> Answer:
        """The answer to a chat or responses request: a refusal of its model or its input, a 429 of the enforcing
        mode (its headers added to `headers`), else the script's next item or the responder's."""
        refusal = self.chat_refusals.get(request.model) if request.wire == "chat" else None
        refusal = refusal or pairing_error(request, self._made)
        if refusal is None and self.limiter is not None:
            refusal, limit_headers = self.limiter.admit(request)
            headers.update(limit_headers)
        if refusal is not None:
            return refusal
        with self._lock:
            script = self._by_model.get(request.model) or self._script
            scripted = script.popleft() if script else None
        return scripted or self.responder(request)

    def _exchange(self, handler: BaseHTTPRequestHandler, request: RecordedRequest, headers: Headers) -> Exchange:
        return Exchange(handler, request, headers, self._sleep, self._made)


def _json_object(raw: bytes) -> dict[str, Any] | None:
    try:
        body = json.loads(raw)
    except ValueError:
        return None
    return body if isinstance(body, dict) else None


class _HTTPServer(ThreadingHTTPServer):
    """The stdlib server, knowing its FakeServer and its open connections."""

    def __init__(self, address: tuple[str, int], fake: FakeServer) -> None:
        self.fake = fake
        self._connections: set[socket.socket] = set()
        self._connections_lock = threading.Lock()
        super().__init__(address, _Handler)

    def finish_request(self, request: Any, client_address: Any) -> None:
        with self._connections_lock:
            self._connections.add(request)
        try:
            super().finish_request(request, client_address)
        finally:
            with self._connections_lock:
                self._connections.discard(request)

    def handle_error(self, request: Any, client_address: Any) -> None:
        if not isinstance(sys.exc_info()[1], OSError):  # a client hanging up is routine here, not an error
            super().handle_error(request, client_address)

    def close_connections(self) -> None:
        """Shut every open connection (keep-alive ones included), ending their threads."""
        with self._connections_lock:
            connections = list(self._connections)
        for connection in connections:
            with contextlib.suppress(OSError):  # already closed by the peer
                connection.shutdown(socket.SHUT_RDWR)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive and chunked streams, as the SDK's pool expects
    disable_nagle_algorithm = True  # headers and body go out as separate writes: no 40 ms delayed-ACK stall
    server: _HTTPServer

    def do_GET(self) -> None:
        self._serve()

    def do_POST(self) -> None:
        self._serve()

    def _serve(self) -> None:
        fake = self.server.fake
        raw = self.rfile.read(int(self.headers.get("content-length") or 0))
        request = fake._record(self.command, self.path, self.headers, raw)
        try:
            answer, headers = fake._route(request)
            answer.answer(fake._exchange(self, request, headers))
        except OSError:
            self.close_connection = True  # the client went away (e.g. Ctrl-C mid-stream) or stop() closed it

    def log_message(self, format: str, *args: Any) -> None:
        if self.server.fake.verbose:
            super().log_message(format, *args)


# ---- by hand ----------------------------------------------------------------------------------------


def demo(request: RecordedRequest) -> Answer:
    """The standalone script: run `print(6*7)`, then explain once the tool output comes back."""
    messages = (request.body or {}).get("messages")
    last = messages[-1] if isinstance(messages, list) and messages else None
    if isinstance(last, dict) and last.get("role") == "tool":
        return Reply.text("The code printed 42, so the answer is 42.", chunk_delay=0.05)
    return Reply.tool_call("python", "print(6*7)", content="Let me compute that.", chunk_delay=0.05)


def cells(count: int) -> Callable[[RecordedRequest], Answer]:
    """A responder for a task of `count` python cells: one cell a request until `count` have run, then an answer."""

    def respond(request: RecordedRequest) -> Answer:
        body = request.body or {}
        messages = body.get("messages") or []
        tools = sum(1 for message in messages if isinstance(message, dict) and message.get("role") == "tool")
        ran = tools + fake_responses.outputs_sent(body)
        if ran < count:
            return Reply.tool_call("python", f"print({ran + 1})")
        return Reply.text(f"All {count} cells ran.")

    return respond


def main(argv: Sequence[str] | None = None) -> None:
    """Serve the demo until Ctrl-C, printing the base URL first."""
    parser = argparse.ArgumentParser(description="A fake OpenAI-compatible API for trying the CLI by hand.")
    parser.add_argument("--port", type=int, default=0, help="port to bind on 127.0.0.1 (0: any free port)")
    args = parser.parse_args(argv)
    with FakeServer(port=args.port, responder=demo, verbose=True) as server:
        print(server.url, flush=True)
        print(f"try: OPENAI_API_KEY=x OPENAI_BASE_URL={server.url} interpreter", flush=True)
        with contextlib.suppress(KeyboardInterrupt):
            threading.Event().wait()


if __name__ == "__main__":
    main()
