"""The proactive limiter: offline token estimates, and request/token buckets learned from rate-limit headers."""

from __future__ import annotations

import math
import time
from collections import deque
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from operator import attrgetter
from typing import Any, Protocol

from interpreter.messages import Message, Picture
from interpreter.model.vision import IMAGE_TOKENS
from interpreter.resilience.durations import parse_duration

CHARS_PER_TOKEN = 4
_SIZE: Callable[[Message], int] = attrgetter("size")
_FIGURES: Callable[[Message], tuple[str, ...]] = attrgetter("figures")
_PICTURES: Callable[[Message], tuple[Picture, ...]] = attrgetter("pictures")
SLACK = 1e-3  # tokens: after waiting exactly the time asked, float rounding must not leave a request short
LABELS = {"requests": "RPM", "tokens": "TPM"}  # each limit by the name its 429s give it


def characters(messages: Sequence[Message], tools: Sequence[dict[str, Any]] = (), *, images: bool = False) -> int:
    """The size of a request as the estimator counts it: message text, tool calls, the tools offered, and with
    `images` (sent as pictures) each figure and each picture attached at a fixed cost, not its size in base64."""
    # map() over the messages, not a generator: this runs over the whole conversation several times a request.
    pictures = sum(map(len, map(_FIGURES, messages))) + sum(map(len, map(_PICTURES, messages))) if images else 0
    return sum(map(_SIZE, messages)) + (len(str(tools)) if tools else 0) + pictures * IMAGE_TOKENS * CHARS_PER_TOKEN


class TokenEstimator:
    """Estimates prompt tokens as characters / 4, scaled by a ratio learned from the server's usage reports."""

    def __init__(self, *, smoothing: float = 0.5, low: float = 0.5, high: float = 3.0, recent: int = 8) -> None:
        self._smoothing = smoothing
        self._low = low
        self._high = high
        self._ratio: float | None = None
        self._under: deque[float] = deque(maxlen=recent)  # how far each recent estimate fell short, as a fraction

    @property
    def ratio(self) -> float:
        """Actual tokens per characters/4, as learned so far (1.0 before any report)."""
        return self._ratio if self._ratio is not None else 1.0

    def estimate(self, messages_chars: int) -> int:
        """Tokens that `messages_chars` characters of conversation probably cost."""
        return math.ceil(messages_chars / CHARS_PER_TOKEN * self.ratio)

    def padded(self, messages_chars: int) -> int:
        """The estimate raised by the most the recent ones fell short: what a reservation counts for the prompt, as
        a prompt of another make-up (longer code, more escapes) may cost more tokens a character than the last."""
        return math.ceil(messages_chars / CHARS_PER_TOKEN * self.ratio * (1 + max(self._under, default=0.0)))

    def calibrate(self, messages_chars: int, prompt_tokens: int) -> None:
        """Learn from a reply's usage.prompt_tokens for a prompt of `messages_chars` characters."""
        if messages_chars <= 0 or prompt_tokens <= 0:
            return
        seen = prompt_tokens / (messages_chars / CHARS_PER_TOKEN)
        self._under.append(max(0.0, seen / self.ratio - 1))
        # The first report replaces the guess; later ones are smoothed so one odd reply cannot swing it.
        ratio = seen if self._ratio is None else self._ratio + self._smoothing * (seen - self._ratio)
        self._ratio = min(max(ratio, self._low), self._high)


@dataclass(frozen=True)
class Headroom:
    """One rate limit as last learned: its label ("TPM"), limit, what is left now, seconds since headers told us."""

    label: str
    limit: int
    remaining: int
    age: float


@dataclass(frozen=True)
class Reading:
    """What one response's headers say of one limit ("requests" or "tokens"); None where they say nothing usable."""

    kind: str
    limit: int | None
    remaining: int | None
    reset: float | None  # seconds until the bucket is full again

    def level(self, limit: int) -> float | None:
        """The level the server reports: remaining, else derived from reset (time until full); None if neither."""
        if self.remaining is not None:
            return float(min(self.remaining, limit))
        if self.reset is not None and self.reset > 0:
            return max(0.0, limit - self.reset * limit / 60)
        return None


def readings(headers: Mapping[str, str]) -> list[Reading]:
    """The requests and tokens limits as a response's x-ratelimit-* headers state them."""
    headers = {name.lower(): value for name, value in headers.items()}
    return [
        Reading(
            kind,
            _count(headers.get(f"x-ratelimit-limit-{kind}")),
            _count(headers.get(f"x-ratelimit-remaining-{kind}")),
            parse_duration(headers.get(f"x-ratelimit-reset-{kind}", "")),
        )
        for kind in LABELS
    ]


@dataclass(frozen=True)
class Hold:
    """A request held back: for about `seconds` (the countdown shown), asking again after `recheck` seconds."""

    seconds: float
    recheck: float
    reason: str


class Limiter(Protocol):
    """What the resilient model asks of a limiter, whether it counts for one session or for many."""

    def reserve(self, tokens: int) -> Hold | None:
        """Take a request of `tokens` tokens out of the budget, or say how long to hold it back."""
        ...

    def observe(self, headers: Mapping[str, str]) -> int | None:
        """Learn limits and levels from a response's headers; the tokens the server took for the request they
        answer, when the drop of the remaining tokens since the last headers can have no other cause."""
        ...

    def headroom(self) -> list[Headroom]:
        """Every limit learned so far, refilled to now."""
        ...

    def sharing(self) -> str:
        """One line on who shares the budget."""
        ...

    def close(self) -> None:
        """Let go of whatever the limiter holds for this session."""
        ...


@dataclass
class Bucket:
    """One rate limit: `level` of `limit` left at clock time `at`, refilling at limit/60 per second."""

    limit: int
    level: float
    at: float
    seen: float = 0.0  # clock time of the last headers that spoke of this limit

    def refill(self, now: float) -> None:
        """Bring the level up to `now`."""
        self.level = min(self.limit, self.level + (now - self.at) * self.limit / 60)
        self.at = now

    def wait_for(self, amount: int) -> float:
        """Seconds until `amount` fits; 0.0 when it fits now or never can (the server's refusal says it best)."""
        if amount > self.limit or amount <= self.level + SLACK:
            return 0.0
        return (amount - self.level) * 60 / self.limit


class RateLimiter:
    """Request and token buckets learned from x-ratelimit-* headers; says how long to wait before a request."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._buckets: dict[str, Bucket] = {}
        # The remaining tokens the last headers said, and when the request they answer was sent: the refill since
        # is counted from before the server charged it, so a slow answer can make a charge look larger, never smaller.
        self._mark: tuple[int, float] | None = None
        self._sent = 0  # requests spent since then
        self._sent_at: float | None = None  # when the last of them was

    def observe(self, headers: Mapping[str, str]) -> int | None:
        """Learn limits and levels from a response's headers; unknown (-1, 0, unparsable) values are ignored.

        Returns the tokens the server took since the last headers (the drop of the remaining tokens, refill
        counted), when exactly one request was sent between them: then it is what that request was charged."""
        now = self._clock()
        taken = None
        for reading in readings(headers):
            bucket = self._learn(reading.kind, reading.limit, now)
            if bucket is not None:
                if reading.kind == "tokens":
                    taken = self._taken(bucket, reading.remaining, now)
                level = reading.level(bucket.limit)
                bucket.level = bucket.level if level is None else level
                bucket.seen = now
        return taken

    def reserve(self, tokens: int) -> Hold | None:
        """Take a request of `tokens` tokens out of the buckets if it fits now; else how long to hold it back."""
        seconds, label = self.delay(tokens)
        if seconds > 0:
            return Hold(seconds, seconds, f"rate limit ({label}) nearly used")
        self.spend(tokens)
        return None

    def sharing(self) -> str:
        """Who shares this budget: nobody, this limiter counts for this session alone."""
        return "off (this session limits itself alone)"

    def close(self) -> None:
        """Nothing to let go of: the buckets live in this process."""

    def delay(self, tokens: int) -> tuple[float, str]:
        """Seconds to wait before sending `tokens` tokens, and the limit that says so ("TPM", "RPM", or "")."""
        waits = [(self._refilled(kind).wait_for(amount), LABELS[kind]) for kind, amount in self._amounts(tokens)]
        seconds, label = max(waits, default=(0.0, ""), key=lambda wait: wait[0])
        return (seconds, label) if seconds > 0 else (0.0, "")

    def spend(self, tokens: int) -> None:
        """Take a request of `tokens` tokens, just sent, out of the buckets."""
        self._sent += 1
        self._sent_at = self._clock()
        for kind, amount in self._amounts(tokens):
            bucket = self._refilled(kind)
            bucket.level = max(0.0, bucket.level - amount)

    def headroom(self) -> list[Headroom]:
        """A read-only snapshot of every limit learned so far: requests first, then tokens."""
        now = self._clock()
        snapshot = []
        for kind, bucket in sorted(self._buckets.items()):
            bucket.refill(now)
            snapshot.append(Headroom(LABELS[kind], bucket.limit, int(bucket.level), now - bucket.seen))
        return snapshot

    def _taken(self, bucket: Bucket, remaining: int | None, now: float) -> int | None:
        """What the one request sent since the last headers was charged: the level they left, refilled to now,
        less what is left now; None when that is unknown, or when more requests (a retry) went in between."""
        mark, sent = self._mark, self._sent
        self._mark = None if remaining is None else (remaining, now if self._sent_at is None else self._sent_at)
        self._sent, self._sent_at = 0, None
        if mark is None or remaining is None or sent != 1:
            return None
        level, at = mark
        return math.floor(min(bucket.limit, level + (now - at) * bucket.limit / 60) - remaining + 0.5)

    def _amounts(self, tokens: int) -> list[tuple[str, int]]:
        """What one request of `tokens` tokens costs in each known bucket."""
        costs = {"requests": 1, "tokens": tokens}
        return [(kind, costs[kind]) for kind in self._buckets]

    def _refilled(self, kind: str) -> Bucket:
        """The bucket for `kind`, refilled to now."""
        bucket = self._buckets[kind]
        bucket.refill(self._clock())
        return bucket

    def _learn(self, kind: str, limit: int | None, now: float) -> Bucket | None:
        """The bucket for `kind` refilled to `now`: created or resized when the headers give a limit."""
        bucket = self._buckets.get(kind)
        if bucket is None:
            if limit is None:
                return None
            bucket = self._buckets[kind] = Bucket(limit, float(limit), now)
        bucket.refill(now)
        if limit is not None:
            bucket.limit = limit
            bucket.level = min(bucket.level, limit)
        return bucket


def _count(text: str | None) -> int | None:
    """A positive integer header value; None for missing, unparsable, -1 and 0, which gateways send for "unknown"."""
    try:
        value = int(text) if text is not None else 0
    except ValueError:
        return None
    return value if value > 0 else None
