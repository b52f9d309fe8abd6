"""The resilient model end to end over a scripted inner model, with an injected clock: no real waiting."""

from __future__ import annotations

import itertools
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

import pytest
from fakes import FakeClock

from interpreter.errors import ApiConnectionError, ApiError, ApiStatusError, AttemptFailed, BreakerOpen, GaveUp
from interpreter.messages import Message, Reply, ResponseHeaders, StreamBroken, StreamItem, TextDelta, Waiting
from interpreter.resilience.model import ResilientModel

TPM_MESSAGE = (
    "Rate limit reached for gpt-4o in organization org-abc on tokens per min (TPM): Limit 10000, Used 6353, "
    "Requested 4265. Please try again in 3.708s. Visit https://platform.openai.com/account/rate-limits to learn more."
)
ANSWER = Message("assistant", "Done.")


def rate_limited(message: str = TPM_MESSAGE, code: str = "rate_limit_exceeded", **headers: str) -> ApiStatusError:
    body = {"message": message, "type": "tokens", "code": code}
    return ApiStatusError(message, status=429, code=code, headers=headers, body=body, request_id="req_1")


def answer(text: str = "Done.", headers: dict[str, str] | None = None) -> list[StreamItem]:
    return [ResponseHeaders(headers or {}), TextDelta(text), Reply(Message("assistant", text), "stop")]


@dataclass
class ScriptedModel:
    """Answers each request with the next scripted step: a list of stream items, or an error (after `shown` text)."""

    steps: list[list[StreamItem] | ApiError | tuple[str, ApiError]]
    requests: list[tuple[list[Message], float]] = field(default_factory=list)
    clock: FakeClock | None = None

    def stream(self, messages: Sequence[Message], tools: Sequence[dict[str, Any]]) -> Iterator[StreamItem]:
        self.requests.append((list(messages), self.clock() if self.clock else 0.0))
        step = self.steps.pop(0)
        if isinstance(step, ApiError):
            raise step
        if isinstance(step, tuple):
            yield TextDelta(step[0])
            raise step[1]
        yield from step


def run(model: ResilientModel) -> list[StreamItem]:
    return list(model.stream([Message("user", "hi")], []))


def build(
    *steps: list[StreamItem] | ApiError | tuple[str, ApiError],
) -> tuple[ResilientModel, ScriptedModel, FakeClock]:
    clock = FakeClock()
    inner = ScriptedModel(list(steps), clock=clock)
    return ResilientModel(inner, clock=clock, sleep=clock.sleep, random=lambda: 0.5), inner, clock


def test_three_hinted_429s_then_success_waits_the_hint_each_time() -> None:
    model, inner, _ = build(rate_limited(), rate_limited(), rate_limited(), answer())
    items = run(model)
    times = [at for _, at in inner.requests]
    assert len(times) == 4
    assert all(later - earlier >= 3.708 for earlier, later in itertools.pairwise(times))
    waits = [item for item in items if isinstance(item, Waiting)]
    assert [(w.reason, w.attempt, w.attempts) for w in waits] == [("rate limited (TPM)", n, 6) for n in (2, 3, 4)]
    assert isinstance(items[-1], Reply)
    assert (model.traffic.requests, model.traffic.rate_limited) == (4, 3)
    assert model.traffic.waited >= 3 * 3.708


def test_insufficient_quota_is_final_after_one_request() -> None:
    quota = rate_limited(
        "You exceeded your current quota, please check your plan and billing details.", "insufficient_quota"
    )
    model, inner, _ = build(quota, answer())
    with pytest.raises(AttemptFailed, match="no credit left"):
        run(model)
    assert len(inner.requests) == 1


def test_a_request_larger_than_the_limit_is_final() -> None:
    too_big = TPM_MESSAGE.replace("Requested 4265", "Requested 12000")
    model, inner, _ = build(rate_limited(too_big), answer())
    with pytest.raises(AttemptFailed, match="larger than your tokens-per-minute limit"):
        run(model)
    assert len(inner.requests) == 1


def test_five_connection_failures_open_the_breaker_and_the_sixth_never_leaves() -> None:
    refused = ApiConnectionError("cannot reach the API")
    model, inner, _ = build(*[refused] * 6)
    summary = r"connection failed: the API looks down, next try in 30s \(5 attempts, .*\); cannot reach the API"
    with pytest.raises(GaveUp, match=summary):
        run(model)
    assert len(inner.requests) == 5
    with pytest.raises(BreakerOpen, match=r"API unavailable: 5 failures in a row; next try in 30s"):
        run(model)  # while open, asking again fails fast without a request
    assert len(inner.requests) == 5


def test_a_hint_beyond_two_minutes_stops_at_once_and_says_when_to_come_back() -> None:
    model, inner, clock = build(rate_limited(**{"retry-after": "3600"}), answer())
    with pytest.raises(GaveUp, match="try again after"):
        run(model)
    assert len(inner.requests) == 1
    assert clock.sleeps == []


def test_a_stream_broken_after_text_keeps_it_and_the_next_attempt_continues_from_it() -> None:
    model, inner, _ = build(("Half an ans", ApiConnectionError("reset")), answer("A whole answer."))
    items = run(model)
    broken = [item for item in items if isinstance(item, StreamBroken)]
    assert broken == [StreamBroken("Half an ans", "connection failed")]
    retried_with, _ = inner.requests[1]
    assert retried_with[-1] == broken[0].message()
    assert [i.text for i in items if isinstance(i, TextDelta)] == ["Half an ans", "A whole answer."]


def test_the_limiter_waits_before_a_request_that_would_be_refused_but_never_the_first() -> None:
    low = {
        "x-ratelimit-limit-tokens": "10000",
        "x-ratelimit-remaining-tokens": "500",
        "x-ratelimit-reset-tokens": "57s",
        "x-ratelimit-limit-requests": "500",
        "x-ratelimit-remaining-requests": "499",
    }
    model, inner, clock = build(answer(headers=low), answer(headers=low))
    first = run(model)
    assert not any(isinstance(item, Waiting) for item in first)
    second = run(model)
    (wait,) = [item for item in second if isinstance(item, Waiting)]
    assert wait.reason == "rate limit (TPM) nearly used" and wait.attempt == 1
    assert clock.sleeps and inner.requests[1][1] >= wait.until
    assert model.traffic.rate_limited == 0
