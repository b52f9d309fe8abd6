"""Go-style durations in, waits for the person out."""

from __future__ import annotations

import pytest

from interpreter.resilience.durations import format_wait, parse_duration


@pytest.mark.parametrize(
    ("text", "seconds"),
    [
        ("20ms", 0.02),
        ("1s", 1.0),
        ("3.708s", 3.708),
        ("6m0s", 360.0),
        ("1m2.6s", 62.6),
        ("2h3m", 7380.0),
        ("~3s", 3.0),
        ("0.5s", 0.5),
        (".5s", 0.5),
        ("1500us", 0.0015),
        ("250µs", 0.00025),
        ("250μs", 0.00025),
        ("100ns", 1e-7),
        ("0", 0.0),
        (" 12s ", 12.0),
    ],
)
def test_every_go_duration_form_is_read(text: str, seconds: float) -> None:
    assert parse_duration(text) == pytest.approx(seconds)


@pytest.mark.parametrize("text", ["", "3", "s", "3x", "1m2", "1.5 seconds", "unknown", "-1s", "1s later", "~"])
def test_anything_else_is_none(text: str) -> None:
    assert parse_duration(text) is None


@pytest.mark.parametrize(
    ("seconds", "shown"),
    [
        (3.708, "3.7s"),
        (0.0, "0.0s"),
        (-2.0, "0.0s"),
        (9.96, "10s"),
        (12.4, "12s"),
        (59.6, "1m00s"),
        (125.0, "2m05s"),
        (3599.0, "59m59s"),
        (3600.0, "1h00m"),
        (3725.0, "1h02m"),
    ],
)
def test_waits_are_written_short(seconds: float, shown: str) -> None:
    assert format_wait(seconds) == shown
