"""The decoder the SDK reads a streamed reply through, guarded against hostile streams, and the client that uses it.

The SDK's own decoder (openai `SSEDecoder`) decodes each line as strict UTF-8 (one bad byte: UnicodeDecodeError),
holds a line or an event of any size, and skips comment lines without yielding: a server that sends `: keep-alive`
every few seconds forever never trips the read timeout, and our code never gets control. `GuardedEvents` sits between
the response's bytes and that decoder: bytes that are not UTF-8 become U+FFFD (as files and tasks are read), an event
over EVENT_CAP bytes is a broken reply, and a stream that sent no event for `quiet_limit` seconds is a timeout, which
the resilience layer retries as it retries any cut stream.
"""

from __future__ import annotations

import codecs
import time
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any

from interpreter.errors import ApiResponseError, ApiTimeoutError
from interpreter.trust.regular_files import size_text

if TYPE_CHECKING:
    import openai

# Bytes of one SSE event: a whole reply at its cap (assembly.REPLY_CAP, 2,000,000 characters) in one event, each
# character escaped as `\uXXXX` (6 bytes), still fits; the SDK holds an event whole, so this bounds its memory.
EVENT_CAP = 16_000_000


class GuardedEvents:
    """An SSE decoder for the SDK wrapping the SDK's own: repairs UTF-8, caps an event, ends a stream of comments."""

    def __init__(
        self,
        inner: Any,
        *,
        api_base: str,
        quiet_limit: float,
        clock: Callable[[], float] = time.monotonic,
        event_cap: int = EVENT_CAP,
    ) -> None:
        self._inner = inner  # the SDK's decoder: an object with iter_bytes(Iterator[bytes]) -> Iterator[event]
        self._api_base = api_base
        self._quiet_limit = quiet_limit
        self._clock = clock
        self._event_cap = event_cap
        self._last_event = 0.0  # when the last event (or the stream's start) came, on `clock`
        self._pending = 0  # bytes read since then

    def iter_bytes(self, iterator: Iterator[bytes]) -> Iterator[Any]:
        """The events in `iterator`'s bytes, as the SDK's decoder finds them in the guarded bytes."""
        self._arrived()
        for event in self._inner.iter_bytes(self._guarded(iterator)):
            self._arrived()
            yield event

    def _arrived(self) -> None:
        """An event (or the stream) began: the quiet time and the event's size count from here."""
        self._last_event = self._clock()
        self._pending = 0

    def _guarded(self, iterator: Iterator[bytes]) -> Iterator[bytes]:
        """`iterator`'s bytes as valid UTF-8; ApiResponseError past the event cap, ApiTimeoutError past quiet_limit."""
        decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")
        for chunk in iterator:
            self._pending += len(chunk)
            self._check()
            yield decoder.decode(chunk).encode()
        yield decoder.decode(b"", final=True).encode()

    def _check(self) -> None:
        """Raise when the bytes since the last event are too many, or have come for too long without one."""
        if self._pending > self._event_cap:
            raise ApiResponseError(
                f"the API at {self._api_base} sent a stream event over {size_text(self._event_cap)}: not a reply"
            )
        quiet = self._clock() - self._last_event
        if quiet > self._quiet_limit:
            raise ApiTimeoutError(
                f"the API at {self._api_base} sent no reply for {quiet:.0f}s, only keep-alive comments (timed out)"
            )


def guarded_client(guard: Callable[[Any], GuardedEvents], **options: Any) -> openai.OpenAI:
    """An SDK client (built with `options`) that reads every streamed reply through `guard(the SDK's decoder)`."""
    import openai  # noqa: PLC0415 - lazy: the SDK costs ~1 s to import

    class _GuardedClient(openai.OpenAI):
        # `_make_sse_decoder` is the SDK's one seam between a reply's bytes and its events (openai>=3,<4 pinned).
        def _make_sse_decoder(self) -> Any:
            return guard(super()._make_sse_decoder())

    return _GuardedClient(**options)
