"""Go-style durations ("1m2.6s", "~3s") read into seconds; waits and when to come back written for the person."""

from __future__ import annotations

import re
from datetime import datetime, timedelta

_UNIT_SECONDS: dict[str, float] = {
    "ns": 1e-9,
    "us": 1e-6,
    "µs": 1e-6,  # U+00B5 micro sign, as Go writes it
    "μs": 1e-6,  # U+03BC Greek mu, which Go also accepts
    "ms": 1e-3,
    "s": 1.0,
    "m": 60.0,
    "h": 3600.0,
}
# Two-letter units come first so "ms" is never read as minutes followed by a stray "s".
_PART = r"(\d+(?:\.\d*)?|\.\d+)(ns|us|µs|μs|ms|s|m|h)"
_DURATION = re.compile(rf"(?:{_PART})+")
_PARTS = re.compile(_PART)


def parse_duration(text: str) -> float | None:
    """Seconds in a Go-style duration such as `20ms`, `6m0s` or `~3.708s`; None if `text` is not one."""
    text = text.strip().removeprefix("~")
    if text == "0":
        return 0.0
    if not _DURATION.fullmatch(text):
        return None
    return sum(float(number) * _UNIT_SECONDS[unit] for number, unit in _PARTS.findall(text))


def format_wait(seconds: float) -> str:
    """A wait as the person reads it: `3.7s`, `12s`, `2m05s`, `1h02m`."""
    seconds = max(seconds, 0.0)
    if round(seconds, 1) < 10:
        return f"{seconds:.1f}s"
    whole = round(seconds)
    if whole < 60:
        return f"{whole}s"
    if whole < 3600:
        return f"{whole // 60}m{whole % 60:02d}s"
    minutes = round(seconds / 60)
    return f"{minutes // 60}h{minutes % 60:02d}m"


def come_back_time(now: datetime, seconds: float) -> str:
    """The clock time `seconds` after `now`, rounded up to the minute; with the date when it is not today."""
    when = (now + timedelta(seconds=seconds + 59)).replace(second=0, microsecond=0)
    return when.strftime("%H:%M" if when.date() == now.date() else "%Y-%m-%d %H:%M")
