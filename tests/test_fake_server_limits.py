"""The fake server's enforcing mode: real continuous-refill buckets, OpenAI's 429s, truthful headers.

Most tests inject the server's clock, so nothing sleeps; one runs on the real clock with sub-second waits."""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from typing import Any

import openai
import pytest
from fake_server import FakeServer, RecordedRequest, Reply, TokenLimits, prompt_tokens, requested_tokens
from fakes import FakeClock
from openai.types.chat import ChatCompletionMessageParam

# "What is 6*7?" and "user": 16 characters, 4 prompt tokens; with max_tokens=100 a request costs 104.
MESSAGES: list[ChatCompletionMessageParam] = [{"role": "user", "content": "What is 6*7?"}]
_DURATION = re.compile(r"(?:(\d+)h)?(?:(\d+)m(?!s))?(?:([\d.]+)s)?(?:(\d+)ms)?")


def seconds(duration: str) -> float:
    """A Go-style duration ("1m2.6s", "120ms") in seconds."""
    match = _DURATION.fullmatch(duration)
    assert match and duration, duration
    hours, minutes, secs, millis = (float(group or 0) for group in match.groups())
    return hours * 3600 + minutes * 60 + secs + millis / 1000


def hint_of(error: openai.APIStatusError) -> str:
    match = re.search(r"Please try again in (\S+)\. Visit", error.message)
    assert match, error.message
    return match.group(1)


@pytest.fixture
def limited(clock: FakeClock) -> Iterator[FakeServer]:
    with FakeServer(limits=TokenLimits(tokens_per_minute=600, requests_per_minute=60), clock=clock) as server:
        yield server


@pytest.fixture
def client(limited: FakeServer) -> Iterator[openai.OpenAI]:
    with openai.OpenAI(api_key="x", base_url=limited.url, max_retries=0, timeout=5.0) as client:
        yield client


def ask(client: openai.OpenAI, max_tokens: int = 100) -> Any:
    """One non-streamed request costing 4 + max_tokens tokens; the raw response, headers and all."""
    return client.chat.completions.with_raw_response.create(model="gpt-4o", messages=MESSAGES, max_tokens=max_tokens)


def refused(client: openai.OpenAI, max_tokens: int = 100) -> openai.RateLimitError:
    with pytest.raises(openai.RateLimitError) as caught:
        ask(client, max_tokens)
    return caught.value


def rate_headers(headers: Any) -> dict[str, str]:
    return {name: headers[name] for name in headers if name.startswith("x-ratelimit-")}


def request_with(body: dict[str, Any]) -> RecordedRequest:
    return RecordedRequest("POST", "/v1/chat/completions", {}, body, 0.0)


def test_requests_are_estimated_from_message_characters_and_max_tokens() -> None:
    messages = [{"role": "user", "content": "x" * 397}, {"role": "assistant", "content": "ok"}]  # 410 chars

    assert prompt_tokens(request_with({"messages": messages})) == 103  # rounded up
    assert requested_tokens(request_with({"messages": messages, "max_tokens": 50})) == 153
    assert requested_tokens(request_with({"messages": messages, "max_completion_tokens": 70})) == 173
    assert requested_tokens(request_with({"messages": messages})) == 103 + 256
    assert requested_tokens(request_with({"messages": messages}), completion_estimate=10) == 113


def test_a_burst_beyond_the_budget_gets_openais_429_and_the_hint_is_exact(
    limited: FakeServer, client: openai.OpenAI, clock: FakeClock
) -> None:
    for _ in range(5):  # 5 x 104 of 600 tokens
        ask(client)

    error = refused(client)

    # 80 tokens left, 104 wanted, 10 a second come back: 2.4 s.
    assert error.message == (
        "Error code: 429 - Rate limit reached for gpt-4o in organization org-abc on tokens per min (TPM): "
        "Limit 600, Used 520, Requested 104. Please try again in 2.4s. "
        "Visit https://platform.openai.com/account/rate-limits to learn more."
    )
    assert (error.type, error.code) == ("tokens", "rate_limit_exceeded")
    assert rate_headers(error.response.headers) == {
        "x-ratelimit-limit-requests": "60",
        "x-ratelimit-limit-tokens": "600",
        "x-ratelimit-remaining-requests": "55",
        "x-ratelimit-remaining-tokens": "80",
        "x-ratelimit-reset-requests": "5s",
        "x-ratelimit-reset-tokens": "52s",
    }
    assert not {"retry-after", "retry-after-ms"} & set(error.response.headers)

    clock.advance(seconds(hint_of(error)) - 0.002)
    assert hint_of(refused(client)) == "2ms"  # not a moment sooner
    clock.advance(0.002)
    assert ask(client).parse().choices[0].message.content

    limiter = limited.limiter
    assert limiter is not None
    assert (limiter.admitted, limiter.rejected, limiter.tokens_charged) == (6, 2, 6 * 104)


def test_a_refused_request_takes_no_scripted_reply(
    limited: FakeServer, client: openai.OpenAI, clock: FakeClock
) -> None:
    limited.enqueue(Reply.text("first"), Reply.text("second"))
    assert ask(client, max_tokens=500).parse().choices[0].message.content == "first"

    error = refused(client, max_tokens=500)
    clock.advance(seconds(hint_of(error)))

    assert ask(client, max_tokens=500).parse().choices[0].message.content == "second"


def test_served_replies_carry_truthful_headers_and_the_estimated_usage(
    limited: FakeServer, client: openai.OpenAI, clock: FakeClock
) -> None:
    limited.enqueue(Reply.text("The answer is 42."))
    first = ask(client)
    clock.advance(1.5)  # 15 tokens and 1.5 requests come back
    second = ask(client)

    assert rate_headers(first.headers) == {
        "x-ratelimit-limit-requests": "60",
        "x-ratelimit-limit-tokens": "600",
        "x-ratelimit-remaining-requests": "59",
        "x-ratelimit-remaining-tokens": "496",
        "x-ratelimit-reset-requests": "1s",
        "x-ratelimit-reset-tokens": "10.4s",
    }
    assert second.headers["x-ratelimit-remaining-tokens"] == "407"  # 496 + 15 - 104
    assert second.headers["x-ratelimit-reset-tokens"] == "19.3s"
    assert second.headers["x-ratelimit-remaining-requests"] == "59"  # 59 + 1 (capped) - 1
    usage = first.parse().usage
    assert (usage.prompt_tokens, usage.completion_tokens) == (4, 5)  # the charged prompt; 17 characters written


def test_buckets_refill_to_full_and_no_further(limited: FakeServer, client: openai.OpenAI, clock: FakeClock) -> None:
    for _ in range(5):
        ask(client)
    clock.advance(3600)

    assert ask(client).headers["x-ratelimit-remaining-tokens"] == "496"


def test_the_requests_bucket_refuses_as_rpm(clock: FakeClock) -> None:
    limits = TokenLimits(tokens_per_minute=100_000, requests_per_minute=2)
    with (
        FakeServer(limits=limits, clock=clock) as server,
        openai.OpenAI(api_key="x", base_url=server.url, max_retries=0) as client,
    ):
        ask(client)
        ask(client)
        error = refused(client)
        clock.advance(seconds(hint_of(error)))
        ask(client)

    assert error.type == "requests"
    assert "on requests per min (RPM): Limit 2, Used 2, Requested 1. Please try again in 30s." in error.message
    assert error.response.headers["x-ratelimit-remaining-requests"] == "0"
    assert error.response.headers["x-ratelimit-reset-requests"] == "1m0s"


def test_a_request_larger_than_the_limit_is_refused_as_too_large(limited: FakeServer, client: openai.OpenAI) -> None:
    error = refused(client, max_tokens=1000)

    assert "Request too large for gpt-4o in organization org-abc on tokens per min (TPM): Limit 600, " in error.message
    assert "Requested 1004. The input or output tokens must be reduced" in error.message
    assert error.code == "rate_limit_exceeded"
    assert limited.limiter is not None
    assert limited.limiter.rejected == 1


def test_retry_after_headers_only_when_asked_for(clock: FakeClock) -> None:
    limits = TokenLimits(tokens_per_minute=600, retry_after=True)
    with (
        FakeServer(limits=limits, clock=clock) as server,
        openai.OpenAI(api_key="x", base_url=server.url, max_retries=0) as client,
    ):
        ask(client, max_tokens=500)
        error = refused(client, max_tokens=500)

    assert hint_of(error) == "40.8s"  # 96 left, 504 wanted: 408 tokens at 10 a second
    assert error.response.headers["retry-after-ms"] == "40800"
    assert error.response.headers["retry-after"] == "41"


def test_only_chat_requests_are_charged_and_recorded_on_the_servers_clock(
    limited: FakeServer, client: openai.OpenAI, clock: FakeClock
) -> None:
    client.models.list()
    clock.advance(2.5)
    ask(client)

    assert [request.at for request in limited.requests] == [1000.0, 1002.5]
    assert limited.limiter is not None
    assert limited.limiter.admitted == 1


def test_on_the_real_clock_waiting_the_hint_is_enough() -> None:
    # 6000 TPM: two 2004-token requests fit, the third lacks 12 tokens, at 100 a second: about 0.12 s.
    with (
        FakeServer(limits=TokenLimits(tokens_per_minute=6000)) as server,
        openai.OpenAI(api_key="x", base_url=server.url, max_retries=0, timeout=5.0) as client,
    ):
        ask(client, 2000)
        ask(client, 2000)
        error = refused(client, 2000)
        wait = seconds(hint_of(error))
        time.sleep(wait)
        ask(client, 2000)

    assert 0 < wait <= 0.12
    assert server.limiter is not None
    assert (server.limiter.admitted, server.limiter.rejected) == (3, 1)
