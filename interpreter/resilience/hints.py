"""How long the server asks us to wait, read from its headers and error text in the order they deserve trust."""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime

from interpreter.resilience.durations import parse_duration

# The body's hint exists only as text ("Please try again in 3.708s."): the one place we read prose.
_TRY_AGAIN = re.compile(r"try again in\s*(~?[\d.]+[a-zµμ.\d]*)", re.IGNORECASE)
# "Request too large" messages leave out Used: "Limit 10000, Requested 12000."
_LIMIT_NUMBERS = re.compile(r"Limit (\d+)(?:, Used \d+)?, Requested (\d+)")


@dataclass(frozen=True)
class Hint:
    """A wait the server asked for, and where it said so."""

    seconds: float
    source: str


def server_hint(
    headers: Mapping[str, str],
    message: str,
    *,
    now: datetime | None = None,
    kind: str | None = None,
) -> Hint | None:
    """The server's requested wait: retry-after-ms, retry-after, the body's "try again in", then x-ratelimit-reset-*."""
    headers = {name.lower(): value for name, value in headers.items()}
    for hint in (
        _positive(_seconds(headers.get("retry-after-ms")), 1e-3, "retry-after-ms"),
        _positive(_retry_after(headers.get("retry-after"), now), 1.0, "retry-after"),
        _positive(_body_wait(message), 1.0, "body"),
        _reset_hint(headers, kind),
    ):
        if hint is not None:
            return hint
    return None


def parse_limit_numbers(message: str) -> tuple[int, int] | None:
    """(limit, requested) from "Limit 10000, Used 6353, Requested 4265"; None if the text has none."""
    match = _LIMIT_NUMBERS.search(message)
    if match is None:
        return None
    return int(match[1]), int(match[2])


def _positive(value: float | None, scale: float, source: str) -> Hint | None:
    """A Hint of `value * scale` seconds, or None when the value is missing, zero or negative."""
    if value is None or not 0 < value < math.inf:  # also refuses "nan" and "inf", which float() accepts
        return None
    return Hint(value * scale, source)


def _seconds(text: str | None) -> float | None:
    """A plain number of seconds (or milliseconds), or None."""
    try:
        return float(text) if text is not None else None
    except ValueError:
        return None


def _retry_after(text: str | None, now: datetime | None) -> float | None:
    """Retry-After as seconds: a number, or an HTTP-date measured from `now`."""
    seconds = _seconds(text)
    if seconds is not None or text is None:
        return seconds
    try:
        when = parsedate_to_datetime(text)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:  # an HTTP-date is GMT by definition; a zone-less parse means the same
        when = when.replace(tzinfo=UTC)
    return (when - (now or datetime.now(UTC))).total_seconds()


def _body_wait(message: str) -> float | None:
    """The wait in the error text's "try again in 3.708s", if any."""
    match = _TRY_AGAIN.search(message)
    # The pattern may swallow a sentence's closing period ("3.708s."): drop it before parsing.
    return parse_duration(match.group(1).rstrip(".")) if match else None


def _reset_hint(headers: Mapping[str, str], kind: str | None) -> Hint | None:
    """x-ratelimit-reset-<kind> when the error names its limit, else the longer of the two resets."""
    kinds = (kind,) if kind in ("tokens", "requests") else ("tokens", "requests")
    hints = [
        _positive(parse_duration(headers.get(f"x-ratelimit-reset-{name}", "")), 1.0, f"x-ratelimit-reset-{name}")
        for name in kinds
    ]
    return max((hint for hint in hints if hint is not None), key=lambda hint: hint.seconds, default=None)
