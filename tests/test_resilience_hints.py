"""The server's requested wait, in its order of trust."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from interpreter.resilience.hints import Hint, parse_limit_numbers, server_hint

NOW = datetime(2024, 1, 1, 12, 0, 0, tzinfo=UTC)
TPM_MESSAGE = (
    "Rate limit reached for gpt-4 in organization org-x on tokens per min (TPM): Limit 10000, Used 6353, "
    "Requested 4265. Please try again in 3.708s. Visit https://platform.openai.com/account/rate-limits."
)
ALL_HEADERS = {
    "retry-after-ms": "1500",
    "retry-after": "7",
    "x-ratelimit-reset-tokens": "20s",
    "x-ratelimit-reset-requests": "1s",
}


def without(*names: str) -> dict[str, str]:
    return {name: value for name, value in ALL_HEADERS.items() if name not in names}


@pytest.mark.parametrize(
    ("headers", "message", "expected"),
    [
        (ALL_HEADERS, TPM_MESSAGE, Hint(1.5, "retry-after-ms")),
        (without("retry-after-ms"), TPM_MESSAGE, Hint(7.0, "retry-after")),
        (without("retry-after-ms", "retry-after"), TPM_MESSAGE, Hint(3.708, "body")),
        (without("retry-after-ms", "retry-after"), "no hint here", Hint(20.0, "x-ratelimit-reset-tokens")),
        ({}, "no hint here", None),
    ],
)
def test_hints_are_trusted_in_order(headers: dict[str, str], message: str, expected: Hint | None) -> None:
    assert server_hint(headers, message, now=NOW) == expected


@pytest.mark.parametrize(("value", "seconds"), [("3", 3.0), ("2.5", 2.5), ("Mon, 01 Jan 2024 12:00:30 GMT", 30.0)])
def test_retry_after_takes_seconds_or_an_http_date(value: str, seconds: float) -> None:
    assert server_hint({"retry-after": value}, "", now=NOW) == Hint(seconds, "retry-after")


@pytest.mark.parametrize(
    "headers",
    [
        {"retry-after-ms": "0"},
        {"retry-after-ms": "-5"},
        {"retry-after-ms": "soon"},
        {"retry-after-ms": "nan"},
        {"retry-after": "inf"},
        {"retry-after": "0"},
        {"retry-after": "Mon, 01 Jan 2024 11:59:00 GMT"},
        {"retry-after": "not a date"},
    ],
)
def test_unusable_values_fall_through_to_the_next_source(headers: dict[str, str]) -> None:
    assert server_hint(headers, "Please try again in 2s.", now=NOW) == Hint(2.0, "body")


@pytest.mark.parametrize(
    ("message", "seconds"),
    [
        ("Please try again in 3.708s.", 3.708),
        ("Please try again in 20ms. Visit", 0.02),
        ("Please try again in ~1m2.6s", 62.6),
        ("Please try again in 6m0s.", 360.0),
        ("please Try Again In 2h3m", 7380.0),
    ],
)
def test_the_body_hint_reads_every_duration_form(message: str, seconds: float) -> None:
    hint = server_hint({}, message)
    assert hint is not None
    assert hint.seconds == pytest.approx(seconds)


@pytest.mark.parametrize(
    ("message", "seconds"),
    [
        # Gemini 429, shared/PROVIDERS.md A11 (Gemini row): no retry-after header, the wait only in the text.
        ("You exceeded your current quota. Please retry in 47.434392449s.", 47.434392449),
        # Gemini per-day quota, as issue 11 quotes it.
        ("Please retry in 3h12m.", 3 * 3600 + 12 * 60),
        # Azure OpenAI 429, shared/PROVIDERS.md A11 (Azure row).
        ("exceeded token rate limit of your current AIServices S0 pricing tier. Please retry after 37 seconds.", 37),
        ("Please retry after 1 second.", 1.0),
        ("Please try again in 20 seconds.", 20.0),
        ("Please try again in 1.5 minutes.", 90.0),
        ("Please try again in 500 milliseconds.", 0.5),
        ("Please try again in 30", 30.0),
    ],
)
def test_every_wording_of_a_wait_in_the_body_is_read_to_the_full_wait(message: str, seconds: float) -> None:
    hint = server_hint({}, message)
    assert hint is not None and hint.source == "body"
    assert hint.seconds == pytest.approx(seconds)


def test_the_body_wait_is_the_longer_of_its_text_and_retry_info() -> None:
    # Gemini sends both: "Please retry in 47.434392449s." and RetryInfo "retryDelay": "47s" (PROVIDERS.md A11).
    message = "Please retry in 47.434392449s."
    assert server_hint({}, message, body_delay=47.0) == Hint(47.434392449, "body")
    assert server_hint({}, "Please retry in 2s.", body_delay=47.0) == Hint(47.0, "body")
    assert server_hint({}, "no words of waiting", body_delay=47.0) == Hint(47.0, "body")


@pytest.mark.parametrize(
    ("headers", "expected"),
    [
        # LiteLLM proxy on a 429: the upstream's wait headers exist only renamed (PROVIDERS.md, LiteLLM observed).
        ({"llm_provider-retry-after-ms": "4500"}, Hint(4.5, "retry-after-ms")),
        ({"llm_provider-retry-after": "12"}, Hint(12.0, "retry-after")),
        ({"llm_provider-x-ratelimit-reset-tokens": "7.66s"}, Hint(7.66, "x-ratelimit-reset-tokens")),
    ],
)
def test_a_proxys_renamed_wait_headers_are_honoured(headers: dict[str, str], expected: Hint) -> None:
    assert server_hint(headers, "Rate limit reached.", kind="tokens") == expected


@pytest.mark.parametrize(
    ("kind", "expected"),
    [
        ("tokens", Hint(20.0, "x-ratelimit-reset-tokens")),
        ("requests", Hint(1.0, "x-ratelimit-reset-requests")),
        (None, Hint(20.0, "x-ratelimit-reset-tokens")),
    ],
)
def test_reset_headers_follow_the_limit_that_was_hit(kind: str | None, expected: Hint) -> None:
    headers = without("retry-after-ms", "retry-after")
    assert server_hint(headers, "", kind=kind) == expected


def test_unknown_reset_values_are_ignored() -> None:
    headers = {"x-ratelimit-reset-tokens": "-1", "x-ratelimit-reset-requests": "0s"}
    assert server_hint(headers, "") is None


def test_header_names_are_matched_in_any_case() -> None:
    assert server_hint({"Retry-After-Ms": "250"}, "") == Hint(0.25, "retry-after-ms")


def test_limit_numbers_are_read_from_the_message() -> None:
    assert parse_limit_numbers(TPM_MESSAGE) == (10000, 4265)
    assert parse_limit_numbers(
        "Request too large for gpt-4o on tokens per min (TPM): Limit 10000, Requested 12000."
    ) == (
        10000,
        12000,
    )
    assert parse_limit_numbers("Rate limit reached") is None
