"""The rate-limit headroom the server reports in its x-ratelimit-* headers, and the doctor's check of it."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from interpreter.doctor.check import Check, Status
from interpreter.model.answer import Answer
from interpreter.resilience.durations import format_wait, parse_duration

HEADROOM = "rate limits"


@dataclass(frozen=True)
class Headroom:
    """One rate limit as the response headers report it; None where a header is missing or says "unknown"."""

    kind: str
    limit: int | None
    remaining: int | None
    reset: float | None

    @classmethod
    def read(cls, headers: Mapping[str, str], kind: str) -> Headroom | None:
        """The `kind` ("requests" or "tokens") limit in `headers`; None when the server reports neither number."""
        limit = _number(headers.get(f"x-ratelimit-limit-{kind}"), lowest=1)  # -1 and 0 mean "unknown"
        remaining = _number(headers.get(f"x-ratelimit-remaining-{kind}"), lowest=0 if limit else 1)
        if limit is None and remaining is None:
            return None
        return cls(kind, limit, remaining, parse_duration(headers.get(f"x-ratelimit-reset-{kind}", "")))

    def describe(self) -> str:
        """`requests: 499 of 500 left, full in 0.1s`."""
        left = "?" if self.remaining is None else str(self.remaining)
        total = f" of {self.limit}" if self.limit is not None else ""
        full = f", full in {format_wait(self.reset)}" if self.reset is not None else ""
        return f"{self.kind}: {left}{total} left{full}"


def headroom_check(answer: Answer) -> Check:
    """The rate-limit budget left, from `answer`'s x-ratelimit-* headers."""
    if answer.status is None:
        return Check(HEADROOM, Status.SKIPPED, "the endpoint did not answer")
    limits = [found for kind in ("requests", "tokens") if (found := Headroom.read(answer.headers, kind)) is not None]
    if not limits:
        return Check(HEADROOM, Status.OK, "not reported by this server")
    detail = "; ".join(limit.describe() for limit in limits)
    used_up = [limit for limit in limits if limit.remaining == 0]
    if used_up:
        wait = format_wait(max(limit.reset or 0.0 for limit in used_up))
        return Check(HEADROOM, Status.FAILED, detail, f"wait {wait} for the budget to refill, or ask for higher limits")
    return Check(HEADROOM, Status.OK, detail)


def _number(text: str | None, *, lowest: int) -> int | None:
    """A header's whole number if it is at least `lowest`; else None."""
    try:
        value = int(text) if text is not None else None
    except ValueError:
        return None
    return value if value is not None and value >= lowest else None
