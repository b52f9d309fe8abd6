"""The ChatModel protocol and its Chat Completions adapter (the SDK client and error translation: openai_client)."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from functools import partial
from typing import TYPE_CHECKING, Any, Protocol

from interpreter.errors import ApiStatusError
from interpreter.messages import Message, StreamItem
from interpreter.model.assembly import assemble
from interpreter.model.openai_client import READ_TIMEOUT, openai_client, streamed
from interpreter.model.vision import takes_images
from interpreter.model.wire import carries_images, wire
from interpreter.resilience.bodies import refuses_images, refuses_stream_options
from interpreter.resilience.diagnostics import LOGGER_NAME
from interpreter.trust.redaction import redact_url

if TYPE_CHECKING:
    from pathlib import Path

    import openai

_log = logging.getLogger(f"{LOGGER_NAME}.api")


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
        effort: str | None = None,
    ) -> None:
        self.model = model
        self.effort = effort  # the reasoning effort asked for (`reasoning_effort`); None sends none
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
        if self.effort is not None:
            request["reasoning_effort"] = self.effort
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
        create = self._openai().chat.completions.with_raw_response.create
        yield from streamed(create, request, partial(assemble, origin=self._shown_base), api_base=self._api_base)

    def _openai(self) -> openai.OpenAI:
        """The SDK client, built on first use."""
        if self._client is None:
            self._client = openai_client(
                api_base=self._api_base, api_key=self._api_key, idle_timeout=self._idle_timeout, clock=self._clock
            )
        return self._client
