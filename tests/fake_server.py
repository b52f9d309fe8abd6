"""A fake OpenAI-compatible chat API on 127.0.0.1, scripted per test.

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

Streams are HTTP/1.1 chunked bodies, one SSE event per chunk, so a cut stream (closed before the
terminating chunk) is a protocol error the client can see, unlike a clean end without `[DONE]`.

Stdlib only, no pytest: bench/ imports it too. `python tests/fake_server.py` serves a demo by hand.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import re
import socket
import sys
import threading
import time
import uuid
from collections import deque
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from email.message import Message as HeaderMessage
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any, Protocol, Self

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
        headers: Mapping[str, str],
        sleep: Callable[[float], object],
    ) -> None:
        self.request = request
        self.sleep = sleep
        self._handler = handler
        self._headers = headers
        self._chunked = False

    def start(
        self,
        status: int,
        *,
        content_type: str,
        length: int | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        """Send the status line and headers; `length=None` makes the body chunked."""
        self._handler.send_response(status)
        merged = {
            **self._headers,
            "x-request-id": f"req_{uuid.uuid4().hex}",
            "content-type": content_type,
            **(headers or {}),
        }
        for name, value in merged.items():
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

    def send_json(self, status: int, body: object, *, headers: Mapping[str, str] | None = None) -> None:
        """Send a whole JSON answer."""
        data = json.dumps(body).encode()
        self.start(status, content_type="application/json", length=len(data), headers=headers)
        self.write(data)

    def start_stream(self, *, headers: Mapping[str, str] | None = None) -> None:
        """Start a 200 SSE answer."""
        self.start(200, content_type=SSE_CONTENT_TYPE, headers={"cache-control": "no-cache", **(headers or {})})

    def send_event(self, data: str) -> None:
        """Send one SSE `data:` event."""
        self.write(f"data: {data}\n\n".encode())


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
    """A successful answer: text and/or tool calls, streamed or whole as the request asks."""

    content: str = ""
    calls: tuple[ScriptedCall, ...] = ()
    chunk_delay: float = 0.0  # seconds between stream chunks, e.g. to press Ctrl-C mid-stream
    headers: Mapping[str, str] = field(default_factory=dict)

    @classmethod
    def text(cls, content: str, *, chunk_delay: float = 0.0) -> Reply:
        """A plain text answer."""
        return cls(content, chunk_delay=chunk_delay)

    @classmethod
    def tool_call(cls, language: str, code: str, *, content: str = "", chunk_delay: float = 0.0) -> Reply:
        """One `execute` call running `code` in `language`."""
        return cls.tool_calls([(language, code)], content=content, chunk_delay=chunk_delay)

    @classmethod
    def tool_calls(cls, calls: Iterable[tuple[str, str]], *, content: str = "", chunk_delay: float = 0.0) -> Reply:
        """Several `execute` calls, one per (language, code) pair."""
        scripted = tuple(
            ScriptedCall("execute", json.dumps({"language": language, "code": code})) for language, code in calls
        )
        return cls(content, scripted, chunk_delay=chunk_delay)

    @classmethod
    def raw_arguments(cls, arguments: str, *, name: str = "execute", chunk_delay: float = 0.0) -> Reply:
        """One call whose arguments text is sent as given (e.g. malformed JSON)."""
        return cls(calls=(ScriptedCall(name, arguments),), chunk_delay=chunk_delay)

    @property
    def finish_reason(self) -> str:
        """What the final chunk (or the completion) reports."""
        return "tool_calls" if self.calls else "stop"

    def answer(self, exchange: Exchange) -> None:
        """Stream every event, or send the whole completion."""
        if not exchange.request.streaming:
            exchange.send_json(200, self.completion(exchange.request), headers=self.headers)
            return
        exchange.start_stream(headers=self.headers)
        for index, event in enumerate(self.events(exchange.request)):
            if index and self.chunk_delay:
                exchange.sleep(self.chunk_delay)
            exchange.send_event(event)
        exchange.finish()

    def completion(self, request: RecordedRequest) -> dict[str, Any]:
        """The non-streamed `chat.completion` body."""
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

    def events(self, request: RecordedRequest) -> list[str]:
        """The SSE `data:` payloads of the stream, `[DONE]` last."""
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

    def _usage(self, request: RecordedRequest) -> dict[str, int]:
        # Roughly four characters a token; enough for code that calibrates its own estimates.
        prompt = max(1, len(json.dumps((request.body or {}).get("messages", []))) // 4)
        written = len(self.content) + sum(len(call.arguments) for call in self.calls)
        completion = max(1, written // 4)
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


# ---- faults -----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class StatusFault:
    """An error answer: a status with its headers and body, as a real server or proxy sends it."""

    status: int
    body: Mapping[str, Any] | str
    headers: Mapping[str, str] = field(default_factory=dict)
    content_type: str = "application/json"

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


class Fault:
    """Factories for the scripted failures."""

    @staticmethod
    def status(
        status: int,
        body: Mapping[str, Any] | str | None = None,
        *,
        headers: Mapping[str, str] | None = None,
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


# ---- the server -------------------------------------------------------------------------------------


def fallback(request: RecordedRequest) -> Answer:
    """What an unscripted chat request gets: a fixed text reply."""
    return Reply.text(FALLBACK_TEXT)


@dataclass(frozen=True)
class _ModelList:
    def answer(self, exchange: Exchange) -> None:
        models = [{"id": name, "object": "model", "created": 1_700_000_000, "owned_by": "fake"} for name in MODELS]
        exchange.send_json(200, {"object": "list", "data": models})


class FakeServer:
    """The fake API, serving on 127.0.0.1 from a daemon thread from construction until `stop()`."""

    def __init__(
        self,
        *,
        port: int = 0,
        responder: Callable[[RecordedRequest], Answer] = fallback,
        sleep: Callable[[float], object] | None = None,
        verbose: bool = False,
    ) -> None:
        self.headers: dict[str, str] = dict(DEFAULT_HEADERS)
        self.verbose = verbose
        self._responder = responder
        self._script: deque[Answer] = deque()
        self._requests: list[RecordedRequest] = []
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
    def pending(self) -> int:
        """How many scripted items no request has taken yet."""
        with self._lock:
            return len(self._script)

    def enqueue(self, *items: Answer) -> None:
        """Script the answers to the next chat requests, in order."""
        if self._stopped.is_set():
            raise RuntimeError("the fake server is stopped")
        with self._lock:
            self._script.extend(items)

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
        request = RecordedRequest(
            method,
            path,
            {name.lower(): value for name, value in headers.items()},
            _json_object(raw),
            time.monotonic(),
        )
        with self._lock:
            self._requests.append(request)
        return request

    def _route(self, request: RecordedRequest) -> Answer:
        path = request.path.split("?", 1)[0]
        if (request.method, path) == ("POST", "/v1/chat/completions"):
            with self._lock:
                scripted = self._script.popleft() if self._script else None
            return scripted or self._responder(request)
        if (request.method, path) == ("GET", "/v1/models"):
            return _ModelList()
        return Fault.status(404, {"error": {"message": f"Unknown path {path}", "type": "invalid_request_error"}})

    def _exchange(self, handler: BaseHTTPRequestHandler, request: RecordedRequest) -> Exchange:
        return Exchange(handler, request, self.headers, self._sleep)


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
            fake._route(request).answer(fake._exchange(self, request))
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
