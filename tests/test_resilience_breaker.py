"""Circuit breaker transitions on an injected clock."""

from __future__ import annotations

import pytest
from fakes import FakeClock

from interpreter.errors import BreakerOpen
from interpreter.resilience.breaker import BreakerState, CircuitBreaker, Outcome

CLOSED, OPEN, HALF_OPEN = BreakerState.CLOSED, BreakerState.OPEN, BreakerState.HALF_OPEN


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(start=100.0)


@pytest.fixture
def moves() -> list[tuple[BreakerState, BreakerState]]:
    return []


@pytest.fixture
def breaker(clock: FakeClock, moves: list[tuple[BreakerState, BreakerState]]) -> CircuitBreaker:
    return CircuitBreaker(clock=clock, on_transition=lambda old, new: moves.append((old, new)))


def fail(breaker: CircuitBreaker, times: int) -> None:
    for _ in range(times):
        breaker.check()
        breaker.record("failure")


def test_five_failures_in_a_row_open_it(
    breaker: CircuitBreaker, moves: list[tuple[BreakerState, BreakerState]]
) -> None:
    fail(breaker, 4)
    assert breaker.state is CLOSED
    fail(breaker, 1)
    assert breaker.state is OPEN
    assert moves == [(CLOSED, OPEN)]


def test_while_open_it_fails_fast_and_says_when_the_next_try_is(breaker: CircuitBreaker, clock: FakeClock) -> None:
    fail(breaker, 5)
    clock.now += 2
    with pytest.raises(BreakerOpen) as raised:
        breaker.check()
    assert str(raised.value) == "API unavailable: 5 failures in a row; next try in 28s"
    assert raised.value.next_probe_in == pytest.approx(28.0)
    assert breaker.next_probe_in() == pytest.approx(28.0)


def test_after_the_open_period_exactly_one_probe_goes_through(breaker: CircuitBreaker, clock: FakeClock) -> None:
    fail(breaker, 5)
    clock.now += 30
    breaker.check()
    assert breaker.state is HALF_OPEN
    with pytest.raises(BreakerOpen, match="a test request is under way"):
        breaker.check()


def test_a_successful_probe_closes_it_and_resets_the_streak(
    breaker: CircuitBreaker, clock: FakeClock, moves: list[tuple[BreakerState, BreakerState]]
) -> None:
    fail(breaker, 5)
    clock.now += 30
    breaker.check()
    breaker.record("success")
    assert (breaker.state, breaker.failures) == (CLOSED, 0)
    assert moves == [(CLOSED, OPEN), (OPEN, HALF_OPEN), (HALF_OPEN, CLOSED)]
    fail(breaker, 4)
    assert breaker.state is CLOSED


def test_each_failed_probe_doubles_the_open_period_up_to_the_cap(breaker: CircuitBreaker, clock: FakeClock) -> None:
    fail(breaker, 5)
    periods = []
    for _ in range(6):
        clock.now += breaker.next_probe_in()
        fail(breaker, 1)
        periods.append(breaker.next_probe_in())
    assert periods == [60.0, 120.0, 240.0, 300.0, 300.0, 300.0]
    assert breaker.failures == 11


def test_a_success_after_a_re_trip_starts_again_from_thirty_seconds(breaker: CircuitBreaker, clock: FakeClock) -> None:
    fail(breaker, 5)
    clock.now += 30
    fail(breaker, 1)
    clock.now += 60
    breaker.check()
    breaker.record("success")
    fail(breaker, 5)
    assert breaker.next_probe_in() == 30.0


def test_a_neutral_outcome_neither_counts_nor_resets_the_streak(breaker: CircuitBreaker) -> None:
    fail(breaker, 4)
    for _ in range(10):
        breaker.check()
        breaker.record("neutral")
    assert (breaker.state, breaker.failures) == (CLOSED, 4)
    fail(breaker, 1)
    assert breaker.state is OPEN


def test_alternating_hinted_429s_and_successes_never_open_it(breaker: CircuitBreaker) -> None:
    outcomes: list[Outcome] = ["neutral", "success"] * 10
    for outcome in outcomes:
        breaker.check()
        breaker.record(outcome)
    assert breaker.state is CLOSED


def test_a_neutral_probe_frees_the_slot_for_the_next_probe(
    breaker: CircuitBreaker, clock: FakeClock, moves: list[tuple[BreakerState, BreakerState]]
) -> None:
    fail(breaker, 5)
    clock.now += 30
    breaker.check()
    breaker.record("neutral")
    assert breaker.state is HALF_OPEN
    breaker.check()
    with pytest.raises(BreakerOpen):
        breaker.check()
    assert moves == [(CLOSED, OPEN), (OPEN, HALF_OPEN)]


def test_a_neutral_outcome_while_open_changes_nothing(breaker: CircuitBreaker, clock: FakeClock) -> None:
    fail(breaker, 5)
    breaker.record("neutral")
    clock.now += 10
    assert (breaker.state, breaker.next_probe_in()) == (OPEN, 20.0)


def test_a_threshold_of_one_speaks_of_one_failure(clock: FakeClock) -> None:
    breaker = CircuitBreaker(threshold=1, clock=clock)
    fail(breaker, 1)
    with pytest.raises(BreakerOpen, match=r"^API unavailable: 1 failure in a row; next try in 30s$"):
        breaker.check()
