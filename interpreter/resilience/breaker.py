"""The circuit breaker: after repeated server-side failures, stop sending requests and probe now and then."""

from __future__ import annotations

import enum
import time
from collections.abc import Callable
from typing import Literal

from interpreter.errors import BreakerOpen
from interpreter.resilience.durations import format_wait

Outcome = Literal["success", "failure", "neutral"]
"""What one request tells the breaker: the server works, the server failed, or nothing about an outage."""


class BreakerState(enum.Enum):
    """The breaker's lifecycle."""

    CLOSED = "closed"
    OPEN = "open"
    HALF_OPEN = "half-open"


class CircuitBreaker:
    """Fails fast after `threshold` failures in a row; after the open period, lets exactly one probe through."""

    def __init__(
        self,
        threshold: int = 5,
        open_for: float = 30.0,
        max_open_for: float = 300.0,
        clock: Callable[[], float] = time.monotonic,
        on_transition: Callable[[BreakerState, BreakerState], None] | None = None,
    ) -> None:
        self._threshold = threshold
        self._open_for = open_for
        self._max_open_for = max_open_for
        self._clock = clock
        self._on_transition = on_transition
        self._state = BreakerState.CLOSED
        self._failures = 0
        self._period = open_for
        self._opened_at = 0.0
        self._probe_out = False

    @property
    def state(self) -> BreakerState:
        """The current state, as of the last check() or record()."""
        return self._state

    @property
    def failures(self) -> int:
        """Server-side failures in a row."""
        return self._failures

    def check(self) -> None:
        """Return if a request may be sent now (taking the probe slot when half-open); raise BreakerOpen if not."""
        if self._state is BreakerState.OPEN and self.next_probe_in() <= 0:
            self._move(BreakerState.HALF_OPEN)
        if self._state is BreakerState.CLOSED:
            return
        if self._state is BreakerState.HALF_OPEN and not self._probe_out:
            self._probe_out = True
            return
        wait = self.next_probe_in()
        raise BreakerOpen(_unavailable(self._failures, wait), failures=self._failures, next_probe_in=wait)

    def record(self, outcome: Outcome) -> None:
        """Take in how a sent request ended."""
        if outcome == "success":
            self._failures = 0
            self._period = self._open_for
            self._move(BreakerState.CLOSED)
        elif outcome == "failure":
            self._failed()
        elif self._state is BreakerState.HALF_OPEN:
            # A neutral probe (a hinted 429) says nothing about the outage, so it neither closes nor re-opens;
            # freeing the slot lets the next check() send a new probe instead of failing fast forever.
            self._probe_out = False

    def next_probe_in(self) -> float:
        """Seconds until an open breaker lets a probe through; 0.0 when not open."""
        if self._state is not BreakerState.OPEN:
            return 0.0
        return max(0.0, self._opened_at + self._period - self._clock())

    def _failed(self) -> None:
        """Count a failure: open at the threshold; a failed probe re-opens for twice as long, up to the cap."""
        self._failures += 1
        if self._state is BreakerState.HALF_OPEN:
            self._period = min(self._period * 2, self._max_open_for)
            self._open()
        elif self._state is BreakerState.CLOSED and self._failures >= self._threshold:
            self._open()

    def _open(self) -> None:
        """Start an open period now."""
        self._opened_at = self._clock()
        self._move(BreakerState.OPEN)

    def _move(self, new: BreakerState) -> None:
        """Enter `new` with no probe out, and report the transition."""
        old, self._state, self._probe_out = self._state, new, False
        if old is not new and self._on_transition is not None:
            self._on_transition(old, new)


def _unavailable(failures: int, next_probe_in: float) -> str:
    """The line for a request the open breaker holds back: the failure streak and when the next try is."""
    streak = f"{failures} failure{'' if failures == 1 else 's'} in a row"
    when = f"next try in {format_wait(next_probe_in)}" if next_probe_in > 0 else "a test request is under way"
    return f"API unavailable: {streak}; {when}"
