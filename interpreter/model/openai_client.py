"""What both OpenAI wires share: the adapters' common part, the guarded SDK client, one streamed request, and SDK
errors translated to ours.

SDK errors are translated here and only here; the two adapters (llm.py, responses.py) are `OpenAIAdapter`s and call
`streamed`.
"""

from __future__ import annotations

import json
import time
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterator, Sequence
from functools import partial
from http import HTTPStatus
from typing import TYPE_CHECKING, Any

from interpreter.errors import (
    ApiConnectionError,
    ApiError,
    ApiResponseError,
    ApiStatusError,
    ApiTimeoutError,
)
from interpreter.messages import Message, ResponseHeaders, StreamItem
from interpreter.model.body import BodyText
from interpreter.model.kept import Kept
from interpreter.model.sse_guard import GuardedEvents, guarded_client
from interpreter.model.vision import takes_images
from interpreter.resilience.bodies import parse_body
from interpreter.trust.redaction import redact_text, redact_url

if TYPE_CHECKING:
    from pathlib import Path

    import openai

CONNECT_TIMEOUT = 5.0
READ_TIMEOUT = 60.0
# A stream of keep-alive comments alone (each within the idle timeout) is broken after this many idle timeouts:
# a model still thinking sends its first token well within that, and an endless one is retried as a cut stream.
QUIET_TIMEOUTS = 10
_STATUS_END = 600  # codes from 400 up to here inside a reply are HTTP statuses


class OpenAIAdapter(ABC):
    """A ChatModel on one of the two APIs, through the openai SDK (its own retries off): the model asked and its
    reasoning effort, the server and key, the figures it may send as pictures, the client built on first use, and
    the resend without what a server refused in a request (each thing once, never sent again this session)."""

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
        effort: str | None = None,
    ) -> None:
        self.model = model
        self.effort = effort  # the reasoning effort asked for; None sends none
        self._api_base = api_base
        self._shown_base = redact_url(api_base)  # how the server is named on screen and in messages' origin
        self._api_key = api_key
        self._idle_timeout = idle_timeout  # no byte for this long and the stream counts as broken
        self._clock = clock  # for how long a stream sent only comments
        self._images = images  # the `images` setting: None leaves it to the model's name
        self._figures = figures  # the folder figures are kept in: only files beneath it go as pictures (None: none)
        self._client: openai.OpenAI | None = None
        # The optional parts of a request this server refused ("images", "stream_options", "include", "summary"):
        # never sent again this session.
        self._refused: set[str] = set()
        self._kept: Kept[Any] = Kept()  # each message's wire form, kept from one request to the next
        self._body = BodyText()  # and its JSON text

    @property
    def sends_images(self) -> bool:
        """Whether requests carry the figures as pictures: the model takes them, and the server did not refuse them."""
        return self._figures is not None and "images" not in self._refused and takes_images(self.model, self._images)

    def stream(self, messages: Sequence[Message], tools: Sequence[dict[str, Any]]) -> Iterator[StreamItem]:
        """Send one streamed request and yield what arrives; any failure surfaces as an ApiError. A request the
        server refused for a part it can do without is sent again at once without that part."""
        request = self._request(messages, tools)
        try:
            yield from self._send(request)
        except ApiStatusError as error:
            if not self._adapted(error, request):
                raise
            yield from self.stream(messages, tools)

    @abstractmethod
    def _request(self, messages: Sequence[Message], tools: Sequence[dict[str, Any]]) -> dict[str, Any]:
        """The body of one streamed request, with what this server has not refused."""

    @abstractmethod
    def _adapted(self, error: ApiStatusError, request: dict[str, Any]) -> bool:
        """Leave out what `error` refuses in `request`, if it was sent, for this session; whether anything was."""

    @abstractmethod
    def _send(self, request: dict[str, Any]) -> Iterator[StreamItem]:
        """One streamed request."""

    def _openai(self) -> openai.OpenAI:
        """The SDK client, built on first use."""
        if self._client is None:
            self._client = openai_client(
                api_base=self._api_base, api_key=self._api_key, idle_timeout=self._idle_timeout, clock=self._clock
            )
        return self._client


def openai_client(
    *, api_base: str, api_key: str, idle_timeout: float, clock: Callable[[], float] = time.monotonic
) -> openai.OpenAI:
    """An SDK client with its own retries off, reading every stream through the guard (sse_guard)."""
    import openai  # noqa: PLC0415 - lazy: the SDK costs ~1 s to import and --help/--version never need it

    timeout = openai.Timeout(idle_timeout, connect=CONNECT_TIMEOUT)
    quiet = QUIET_TIMEOUTS * idle_timeout
    guard = partial(GuardedEvents, api_base=redact_url(api_base), quiet_limit=quiet, clock=clock)
    return guarded_client(guard, api_key=api_key, base_url=api_base, max_retries=0, timeout=timeout)


def streamed(
    client: openai.OpenAI,
    path: str,
    body: bytes,
    read: Callable[[Iterator[object]], Iterator[StreamItem]],
    *,
    api_base: str,
) -> Iterator[StreamItem]:
    """One streamed request: `body` (JSON, see body.py) POSTed to `path` as it is, the response's headers first, then
    what `read` makes of its events; any SDK failure surfaces as an ApiError.

    Through the SDK's own `post` (its client, errors and stream), not its typed methods: they walk every message of
    the body with a type-directed transform that changes nothing in JSON built for the wire and cost 0.13 s a request
    at 400 messages, growing with the conversation. Each event comes as the plain JSON it was (an `object` stream
    is handed it untouched): building the SDK's typed event, or even walking the JSON, cost more than reading it.
    """
    import httpx2  # noqa: PLC0415 - lazy, with the SDK that sits on it
    import openai  # noqa: PLC0415 - lazy, see openai_client()

    try:
        stream = client.post(path, content=body, cast_to=object, stream=True, stream_cls=openai.Stream[object])
        yield ResponseHeaders(dict(stream.response.headers))
        try:
            yield from read(stream)
        finally:
            stream.close()
    # Raw httpx2 errors can escape a stream, and so can a JSONDecodeError from a malformed SSE data line, and a
    # RecursionError from one nested some thousands deep (the SDK parses each with json.loads).
    except (openai.OpenAIError, httpx2.HTTPError, json.JSONDecodeError, RecursionError) as exc:
        raise translate(exc, api_base=api_base) from exc


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
        return error_inside_reply(exc.body, exc.message)
    if isinstance(exc, json.JSONDecodeError | RecursionError):
        why = exc.msg if isinstance(exc, json.JSONDecodeError) else "nested too deeply"
        return ApiResponseError(f"the API sent a reply that is not valid JSON ({why})")
    return ApiResponseError(f"the API reply could not be used: {redact_text(str(exc))}")  # httpx may quote the URL


def error_inside_reply(error: object, fallback: str = "") -> ApiError:
    """An error sent inside a reply after HTTP 200: a status error when its code is an HTTP status, else a broken reply.

    vLLM, llama.cpp and LiteLLM give such errors the status they would have answered with (`"code": 400`), so a
    context overflow or a rate limit there is classified as it would be before the stream began.
    """
    body = parse_body(error)
    words = " ".join(body.message.split()) or fallback
    status = int(body.code) if body.code is not None and body.code.isdigit() else 0
    if not HTTPStatus.BAD_REQUEST <= status < _STATUS_END:
        return ApiResponseError(f"the API sent an error inside the reply: {words}")
    return ApiStatusError(f"HTTP {status} inside the reply: {words}", status=status, code=body.code, body=error)


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
