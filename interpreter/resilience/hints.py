"""How long the server asks us to wait, read from its headers and error text in the order they deserve trust."""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime

from interpreter.resilience.durations import parse_duration

# A wait in the body exists only as text: the one place we read prose. "Please try again in 3.708s." (OpenAI, Groq),
# "Please retry in 47.434392449s." (Gemini), "Please retry after 37 seconds." (Azure); Go durations up to "1h2m3s".
_BODY_WAIT = re.compile(
    r"(?:try again|retry) (?:in|after)\s*(~?[\d.]+[a-zµμ.\d]*)(?:\s+(milliseconds?|seconds?|secs?|minutes?|hours?)\b)?",
    re.IGNORECASE,
)
_WORD_SECONDS = {"mil": 1e-3, "sec": 1.0, "min": 60.0, "hou": 3600.0}
# A proxy may hand the upstream's headers on renamed: LiteLLM sends a 429's wait headers only as these.
_PROXIED = "llm_provider-"
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
    body_delay: float | None = None,
) -> Hint | None:
    """The server's requested wait: retry-after-ms, retry-after, the body's, then x-ratelimit-reset-*.

    Each header may also come renamed by a proxy (`llm_provider-retry-after`); the body's wait is the longer of its
    text ("try again in 3.708s") and `body_delay` (Gemini's RetryInfo), so it is never shorter than either.
    """
    headers = _with_proxied({name.lower(): value for name, value in headers.items()})
    for hint in (
        _positive(_seconds(headers.get("retry-after-ms")), 1e-3, "retry-after-ms"),
        _positive(_retry_after(headers.get("retry-after"), now), 1.0, "retry-after"),
        _positive(max(_body_wait(message) or 0.0, body_delay or 0.0), 1.0, "body"),
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


def _with_proxied(headers: dict[str, str]) -> dict[str, str]:
    """`headers`, with each `llm_provider-<name>` also under `<name>` where the response has no `<name>` of its own."""
    renamed = {name.removeprefix(_PROXIED): value for name, value in headers.items() if name.startswith(_PROXIED)}
    return {**renamed, **headers}


def _body_wait(message: str) -> float | None:
    """The wait in the error text ("try again in 3.708s", "retry after 37 seconds"), if any."""
    match = _BODY_WAIT.search(message)
    if match is None:
        return None
    # The pattern may swallow a sentence's closing period ("3.708s."): drop it before parsing.
    amount, word = match[1].rstrip("."), match[2]
    if word is not None:
        number = _seconds(amount.removeprefix("~"))
        return number * _WORD_SECONDS[word[:3].lower()] if number is not None else None
    return parse_duration(amount) or _seconds(amount.removeprefix("~"))


def _reset_hint(headers: Mapping[str, str], kind: str | None) -> Hint | None:
    """x-ratelimit-reset-<kind> when the error names its limit, else the longer of the two resets."""
    kinds = (kind,) if kind in ("tokens", "requests") else ("tokens", "requests")
    hints = [
        _positive(parse_duration(headers.get(f"x-ratelimit-reset-{name}", "")), 1.0, f"x-ratelimit-reset-{name}")
        for name in kinds
    ]
    return max((hint for hint in hints if hint is not None), key=lambda hint: hint.seconds, default=None)
