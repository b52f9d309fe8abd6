"""Limiter arithmetic: buckets learned from headers, refilled continuously, on an injected clock."""

from __future__ import annotations

import pytest
from fakes import FakeClock

from interpreter.resilience.limiter import RateLimiter, TokenEstimator


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(start=0.0)


@pytest.fixture
def limiter(clock: FakeClock) -> RateLimiter:
    return RateLimiter(clock=clock)


def tokens(limit: str, remaining: str | None = None, reset: str | None = None) -> dict[str, str]:
    headers = {"x-ratelimit-limit-tokens": limit}
    if remaining is not None:
        headers["x-ratelimit-remaining-tokens"] = remaining
    if reset is not None:
        headers["x-ratelimit-reset-tokens"] = reset
    return headers


def test_the_first_request_is_never_delayed(limiter: RateLimiter) -> None:
    limiter.spend(50_000)
    assert limiter.delay(50_000) == (0.0, "")


def test_a_request_that_does_not_fit_waits_for_the_refill(limiter: RateLimiter) -> None:
    limiter.observe(tokens("10000", remaining="4000"))
    assert limiter.delay(4000) == (0.0, "")
    assert limiter.delay(5000) == pytest.approx((6.0, "TPM"))  # 1000 tokens at 10000/60 per second


def test_buckets_refill_continuously(limiter: RateLimiter, clock: FakeClock) -> None:
    limiter.observe(tokens("10000", remaining="4000"))
    clock.now += 3
    assert limiter.delay(5000) == pytest.approx((3.0, "TPM"))
    clock.now += 3
    assert limiter.delay(5000) == (0.0, "")
    clock.now += 600
    assert limiter.delay(10000) == (0.0, "")
    assert limiter.delay(10000) == limiter.delay(1)  # never fuller than the limit


def test_a_burst_of_requests_delays_the_next_big_one(limiter: RateLimiter) -> None:
    limiter.observe(tokens("10000", remaining="10000"))
    for _ in range(3):
        limiter.spend(3000)
    assert limiter.delay(4000) == pytest.approx((18.0, "TPM"))


def test_remaining_corrects_our_own_count_on_every_response(limiter: RateLimiter) -> None:
    limiter.observe(tokens("10000", remaining="10000"))
    limiter.spend(1000)  # our estimate was low: the server counted 7000
    limiter.observe(tokens("10000", remaining="3000"))
    assert limiter.delay(4000) == pytest.approx((6.0, "TPM"))
    limiter.observe({"x-ratelimit-remaining-tokens": "9000"})  # a response without the limit still corrects
    assert limiter.delay(4000) == (0.0, "")


@pytest.mark.parametrize("value", ["-1", "0", "unknown", ""])
def test_unknown_limits_are_ignored(limiter: RateLimiter, value: str) -> None:
    limiter.observe(tokens(value, remaining="0"))
    assert limiter.delay(100_000) == (0.0, "")


@pytest.mark.parametrize("value", ["-1", "0", "unknown"])
def test_unknown_remaining_values_leave_our_count_alone(limiter: RateLimiter, value: str) -> None:
    limiter.observe(tokens("10000", remaining="10000"))
    limiter.spend(6000)
    limiter.observe(tokens("10000", remaining=value))
    assert limiter.delay(5000) == pytest.approx((6.0, "TPM"))


def test_without_remaining_the_reset_time_gives_the_level(limiter: RateLimiter) -> None:
    limiter.observe(tokens("10000", reset="30s"))  # full again in 30 s: half the bucket is left
    assert limiter.delay(6000) == pytest.approx((6.0, "TPM"))


def test_a_request_larger_than_the_whole_limit_is_not_delayed(limiter: RateLimiter) -> None:
    limiter.observe(tokens("10000", remaining="100"))
    assert limiter.delay(12000) == (0.0, "")


def test_the_request_bucket_says_rpm(limiter: RateLimiter) -> None:
    limiter.observe({"x-ratelimit-limit-requests": "60", "x-ratelimit-remaining-requests": "1"})
    limiter.spend(100)
    assert limiter.delay(100) == pytest.approx((1.0, "RPM"))


def test_the_longer_of_the_two_waits_wins(limiter: RateLimiter) -> None:
    limiter.observe(
        {**tokens("10000", remaining="4000"), "x-ratelimit-limit-requests": "60", "x-ratelimit-remaining-requests": "1"}
    )
    limiter.spend(0)  # one request, so the request bucket needs 1 s too
    assert limiter.delay(5000) == pytest.approx((6.0, "TPM"))


def test_the_estimate_is_characters_over_four_until_calibrated() -> None:
    assert TokenEstimator().estimate(400) == 100


def test_the_first_usage_report_sets_the_ratio_and_later_ones_are_smoothed() -> None:
    estimator = TokenEstimator()
    estimator.calibrate(400, 150)
    assert estimator.estimate(400) == 150
    estimator.calibrate(400, 250)
    assert estimator.ratio == pytest.approx(2.0)


@pytest.mark.parametrize(("reported", "ratio"), [(10_000, 3.0), (1, 0.5)])
def test_the_ratio_is_bounded(reported: int, ratio: float) -> None:
    estimator = TokenEstimator()
    estimator.calibrate(400, reported)
    assert estimator.ratio == ratio


def test_empty_reports_teach_nothing() -> None:
    estimator = TokenEstimator()
    estimator.calibrate(0, 100)
    estimator.calibrate(400, 0)
    assert estimator.ratio == 1.0


def test_the_drop_between_two_answers_is_what_the_one_request_between_them_was_charged(
    limiter: RateLimiter, clock: FakeClock
) -> None:
    assert limiter.observe(tokens("10000", remaining="9000")) is None  # nothing to compare with yet
    limiter.spend(1000)
    clock.now += 3  # 500 tokens refilled meanwhile
    assert limiter.observe(tokens("10000", remaining="8300")) == 1200
    limiter.spend(1000)
    clock.now += 60  # full again before it was charged: the drop is from the limit
    assert limiter.observe(tokens("10000", remaining="9000")) == 1000


def test_no_drop_is_told_for_two_requests_between_answers(limiter: RateLimiter) -> None:
    limiter.observe(tokens("10000", remaining="9000"))
    limiter.spend(1000)  # failed without an answer (a cut connection); the retry is the second
    limiter.spend(1000)
    assert limiter.observe(tokens("10000", remaining="7000")) is None
    assert limiter.observe(tokens("10000")) is None  # no remaining: nothing to measure by, now or next time
    limiter.spend(1000)
    assert limiter.observe(tokens("10000", remaining="6000")) is None


def test_a_reservation_counts_the_prompt_at_the_most_the_recent_estimates_fell_short() -> None:
    estimator = TokenEstimator()
    assert estimator.padded(4000) == estimator.estimate(4000) == 1000  # nothing learned: characters / 4
    estimator.calibrate(4000, 1000)
    estimator.calibrate(4000, 1100)  # this prompt cost 10% more than estimated
    assert estimator.estimate(4000) == 1050  # the ratio moves halfway
    assert estimator.padded(4000) == 1155  # and the reservation counts the 10% as well, for the next 8 reports
    for _ in range(8):
        estimator.calibrate(4000, 1050)
    assert estimator.padded(4000) == estimator.estimate(4000) == 1050
