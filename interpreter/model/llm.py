"""The ChatModel protocol and its OpenAI adapter; SDK errors are translated to ours here and only here."""

from __future__ import annotations

import json
import logging
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from functools import partial
from http import HTTPStatus
from typing import TYPE_CHECKING, Any, Protocol

from interpreter.errors import (
    ApiConnectionError,
    ApiError,
    ApiResponseError,
    ApiStatusError,
    ApiTimeoutError,
)
from interpreter.messages import (
    Message,
    ResponseHeaders,
    StreamItem,
)
from interpreter.model.assembly import assemble
from interpreter.model.sse_guard import GuardedEvents, guarded_client
from interpreter.model.vision import takes_images
from interpreter.model.wire import carries_images, wire
from interpreter.resilience.bodies import parse_body, refuses_images, refuses_stream_options
from interpreter.resilience.diagnostics import LOGGER_NAME
from interpreter.trust.redaction import redact_text, redact_url

if TYPE_CHECKING:
    from pathlib import Path

    import openai

_log = logging.getLogger(f"{LOGGER_NAME}.api")

CONNECT_TIMEOUT = 5.0
READ_TIMEOUT = 60.0
# A stream of keep-alive comments alone (each within the idle timeout) is broken after this many idle timeouts:
# a model still thinking sends its first token well within that, and an endless one is retried as a cut stream.
QUIET_TIMEOUTS = 10
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

    def __init__(
        self,
        *,
        model: str,
        api_base: str,
        api_key: str,
        idle_timeout: float = READ_TIMEOUT,
        images: bool | None = None,
        figures: Path | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.model = model
        self._api_base = api_base
        self._shown_base = redact_url(api_base)  # how the server is named on screen and in messages' origin
        self._api_key = api_key
        self._idle_timeout = idle_timeout  # no byte for this long and the stream counts as broken
        self._clock = clock  # for how long a stream sent only comments
        self._images = images  # the `images` setting: None leaves it to the model's name
        self._figures = figures  # the folder figures are kept in: only files beneath it go as pictures (None: none)
        self._client: openai.OpenAI | None = None
        self._asks_usage = True  # until the server refuses `stream_options`
        self._refused_images = False  # the server refused image parts: never sent them again this session

    @property
    def sends_images(self) -> bool:
        """Whether requests carry the figures as pictures: the model takes them, and the server did not refuse them."""
        return self._figures is not None and not self._refused_images and takes_images(self.model, self._images)

    def stream(self, messages: Sequence[Message], tools: Sequence[dict[str, Any]]) -> Iterator[StreamItem]:
        """Send one streamed request and yield what arrives; any failure surfaces as an ApiError.

        Usage is asked for (`stream_options`), for the limiter, and figures go as pictures to a model that takes
        them; a server that refuses either (older Azure API versions and strict proxies the field, text-only models
        the pictures) is asked again at once without it, and never with it again. Each is left out once at most,
        so a request is sent three times at most.
        """
        request = self._request(messages, tools)
        try:
            yield from self._send(request)
        except ApiStatusError as error:
            if not self._adapted(error, request):
                raise
            yield from self.stream(messages, tools)

    def _request(self, messages: Sequence[Message], tools: Sequence[dict[str, Any]]) -> dict[str, Any]:
        """The body of one streamed request, with what this server has not refused."""
        sent = wire(messages, self._api_base, images=self._figures if self.sends_images else None)
        request: dict[str, Any] = {"model": self.model, "messages": sent, "stream": True}
        if self._asks_usage:
            request["stream_options"] = {"include_usage": True}
        if tools:
            request["tools"] = list(tools)
        return request

    def _adapted(self, error: ApiStatusError, request: dict[str, Any]) -> bool:
        """Leave out what `error` refuses in `request`, if it was sent, for this session; whether anything was."""
        words = str(error)
        if "stream_options" in request and refuses_stream_options(error.status, error.body, words):
            self._asks_usage = False
            _log.warning("the server refused stream_options; sending without it: %s", error)
            return True
        if carries_images(request["messages"]) and refuses_images(error.status, error.body, words):
            self._refused_images = True
            _log.warning("the server refused image parts; sending figures by their paths only: %s", error)
            return True
        return False

    def _send(self, request: dict[str, Any]) -> Iterator[StreamItem]:
        """One streamed request."""
        import httpx2  # noqa: PLC0415 - lazy, with the SDK that sits on it
        import openai  # noqa: PLC0415 - lazy: the SDK costs ~1 s to import and --help/--version never need it

        try:
            response = self._openai().chat.completions.with_raw_response.create(**request)
            yield ResponseHeaders(dict(response.headers))
            stream = response.parse()
            try:
                yield from assemble(stream, origin=self._shown_base)
            finally:
                stream.close()
        # Raw httpx2 errors can escape a stream, and so can a JSONDecodeError from a malformed SSE data line, and a
        # RecursionError from one nested some thousands deep (the SDK parses each with json.loads).
        except (openai.OpenAIError, httpx2.HTTPError, json.JSONDecodeError, RecursionError) as exc:
            raise translate(exc, api_base=self._api_base) from exc

    def _openai(self) -> openai.OpenAI:
        """The SDK client, built on first use."""
        if self._client is None:
            import openai  # noqa: PLC0415 - see stream()

            timeout = openai.Timeout(self._idle_timeout, connect=CONNECT_TIMEOUT)
            quiet = QUIET_TIMEOUTS * self._idle_timeout
            guard = partial(GuardedEvents, api_base=self._shown_base, quiet_limit=quiet, clock=self._clock)
            self._client = guarded_client(
                guard, api_key=self._api_key, base_url=self._api_base, max_retries=0, timeout=timeout
            )
        return self._client


def translate(exc: Exception, *, api_base: str) -> ApiError:
    """Map an SDK exception to ours, by type; the message says what to do, naming the server redacted."""
    import httpx2  # noqa: PLC0415 - only reached after the SDK was imported by a request
    import openai  # noqa: PLC0415 - as above

    where = redact_url(api_base)
    if isinstance(exc, openai.APITimeoutError | httpx2.TimeoutException):
        return ApiTimeoutError(f"the API at {where} stopped answering (timed out)")
    if isinstance(exc, openai.APIConnectionError | httpx2.TransportError):
        return ApiConnectionError(f"cannot reach the API at {where}: check --api-base and your connection")
    if isinstance(exc, openai.APIStatusError):
        return _status_error(exc)
    if isinstance(exc, openai.APIError):
        return _error_inside_reply(exc)
    if isinstance(exc, json.JSONDecodeError | RecursionError):
        why = exc.msg if isinstance(exc, json.JSONDecodeError) else "nested too deeply"
        return ApiResponseError(f"the API sent a reply that is not valid JSON ({why})")
    return ApiResponseError(f"the API reply could not be used: {redact_text(str(exc))}")  # httpx may quote the URL


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
