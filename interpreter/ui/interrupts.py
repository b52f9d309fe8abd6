"""Ctrl-C that never lands mid-draw: it interrupts the work at once, but waits while the screen is being drawn."""

from __future__ import annotations

import signal
from collections.abc import Iterator
from contextlib import contextmanager
from types import FrameType


class CtrlC:
    """A SIGINT handler: raises KeyboardInterrupt, except inside `deferred()`, where the press is kept for later.

    Drawing holds Rich's locks; an exception raised between a lock's acquire and release breaks the renderer
    ("release unlocked lock"), so a press during drawing is delivered to the session afterwards instead.
    """

    def __init__(self) -> None:
        self._deferring = False
        self._pending = False

    @contextmanager
    def installed(self) -> Iterator[CtrlC]:
        """Handle SIGINT for the duration of the block."""
        previous = signal.signal(signal.SIGINT, self._handle)
        try:
            yield self
        finally:
            signal.signal(signal.SIGINT, previous)

    @contextmanager
    def deferred(self) -> Iterator[None]:
        """Keep a Ctrl-C pressed inside the block for `take_pending()` instead of raising it."""
        self._deferring = True
        try:
            yield
        finally:
            self._deferring = False

    def take_pending(self) -> bool:
        """True (once) if Ctrl-C was pressed while deferred."""
        pending, self._pending = self._pending, False
        return pending

    def _handle(self, signum: int, frame: FrameType | None) -> None:
        if self._deferring:
            self._pending = True
            return
        raise KeyboardInterrupt
