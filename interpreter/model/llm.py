"""The ChatModel protocol and its Chat Completions adapter (the SDK client and error translation: openai_client)."""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterator, Sequence
from functools import cached_property, partial
from typing import Any, Protocol

from interpreter.errors import ApiStatusError
from interpreter.messages import Message, StreamItem
from interpreter.model.assembly import assemble
from interpreter.model.openai_client import OpenAIAdapter, streamed
from interpreter.model.wire import LastWire, carries_images, wire
from interpreter.resilience.bodies import refuses_images, refuses_stream_options
from interpreter.resilience.diagnostics import LOGGER_NAME

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


class OpenAIChatModel(OpenAIAdapter):
    """A ChatModel on Chat Completions, which any OpenAI-compatible server speaks.

    Usage is asked for (`stream_options`), for the limiter, and figures go as pictures to a model that takes them; a
    server that refuses either (older Azure API versions and strict proxies the field, text-only models the pictures)
    is asked again at once without it, and never with it again. Each is left out once at most, so a request is sent
    three times at most. The reasoning effort, when set, goes as `reasoning_effort`.
    """

    @cached_property
    def _last_wire(self) -> LastWire:
        """What the last request's messages became on the wire, for the next request to start from."""
        return LastWire()

    def _request(self, messages: Sequence[Message], tools: Sequence[dict[str, Any]]) -> dict[str, Any]:
        """The body of one streamed request, with what this server has not refused."""
        images = self._figures if self.sends_images else None
        sent = wire(messages, self._api_base, images=images, kept=self._kept, last=self._last_wire)
        request: dict[str, Any] = {"model": self.model, "messages": sent, "stream": True}
        if "stream_options" not in self._refused:
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
            self._refused.add("stream_options")
            _log.warning("the server refused stream_options; sending without it: %s", error)
            return True
        if carries_images(request["messages"]) and refuses_images(error.status, error.body, words):
            self._refused.add("images")
            _log.warning("the server refused image parts; sending figures by their paths only: %s", error)
            return True
        return False

    def _send(self, request: dict[str, Any]) -> Iterator[StreamItem]:
        """One streamed request."""
        read = partial(assemble, origin=self._shown_base)
        yield from streamed(
            self._openai(), "/chat/completions", self._body.encode(request, "messages"), read, api_base=self._api_base
        )
