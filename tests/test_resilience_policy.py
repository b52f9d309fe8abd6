"""The retry policy: pure decisions, and the tenacity Retrying a driver runs through iter()."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import datetime

import pytest
from tenacity import DoAttempt, DoSleep, RetryCallState

from interpreter.errors import ApiConnectionError, ApiError, ApiStatusError, AttemptFailed, GaveUp
from interpreter.resilience.classify import Verdict, classify
from interpreter.resilience.hints import Hint
from interpreter.resilience.policy import GiveUp, RetrySettings, Wait, build_retrying, next_wait

SETTINGS = RetrySettings()
NOW = datetime(2024, 5, 1, 13, 5, 0)
TPM_MESSAGE = "Limit 10000, Used 6353, Requested 4265. Please try again in 3.708s."


def verdict(hint: float | None = None, *, retry: bool = True) -> Verdict:
    return Verdict(
        retry=retry,
        breaker="neutral" if hint else "failure",
        label="rate limited (TPM)" if hint else "server error 503",
        message="final words (HTTP 400)",
        hint=Hint(hint, "body") if hint is not None else None,
        request_id="req_7",
    )


def constant(value: float) -> Callable[[], float]:
    return lambda: value


@pytest.mark.parametrize("draw", [0.0, 0.25, 0.5, 0.999])
def test_a_hint_is_honoured_plus_jitter_never_less(draw: float) -> None:
    decision = next_wait(verdict(3.708), 1, 0.0, SETTINGS, constant(draw))
    assert isinstance(decision, Wait)
    assert 3.708 <= decision.seconds <= 3.708 * 1.1
    assert decision.seconds == pytest.approx(3.708 * (1 + 0.1 * draw))


def test_without_a_hint_backoff_is_full_jitter_exponential_capped_at_a_minute() -> None:
    highest = [next_wait(verdict(), attempt, 0.0, SETTINGS, constant(1.0)) for attempt in range(1, 6)]
    assert highest == [Wait(1.0), Wait(2.0), Wait(4.0), Wait(8.0), Wait(16.0)]
    wide = RetrySettings(max_attempts=20, max_wait_total=10_000)
    assert next_wait(verdict(), 9, 0.0, wide, constant(1.0)) == Wait(60.0)
    assert next_wait(verdict(), 3, 0.0, SETTINGS, constant(0.5)) == Wait(2.0)
    assert next_wait(verdict(), 3, 0.0, SETTINGS, constant(0.0)) == Wait(0.0)


def test_the_sixth_failed_attempt_is_the_last() -> None:
    assert isinstance(next_wait(verdict(), 5, 10.0, SETTINGS, constant(0.5)), Wait)
    assert next_wait(verdict(), 6, 12.5, SETTINGS, constant(0.5)) == GiveUp(
        "server error 503: out of attempts (6 attempts, waited 12s, request id req_7)"
    )


def test_waiting_past_five_minutes_in_total_gives_up() -> None:
    assert isinstance(next_wait(verdict(100.0), 3, 200.0, SETTINGS, constant(0.0)), Wait)
    assert next_wait(verdict(100.0), 4, 300.0, SETTINGS, constant(0.0)) == GiveUp(
        "rate limited (TPM): waiting 1m40s more would pass the 5m00s limit (4 attempts, waited 5m00s, request id req_7)"
    )


def test_a_hint_above_two_minutes_gives_up_at_once_and_says_when_to_come_back() -> None:
    assert next_wait(verdict(3600.0), 1, 0.0, SETTINGS, constant(0.0), now=NOW) == GiveUp(
        "rate limited (TPM): the server asks to wait 1h00m; try again after 14:05 (1 attempt, waited 0.0s, "
        "request id req_7)"
    )


def test_a_come_back_time_on_another_day_carries_the_date() -> None:
    decision = next_wait(verdict(86_400.0), 1, 0.0, SETTINGS, constant(0.0), now=NOW)
    assert isinstance(decision, GiveUp)
    assert "try again after 2024-05-02 13:05" in decision.reason


def test_a_final_verdict_gives_up_with_its_own_message() -> None:
    assert next_wait(verdict(retry=False), 1, 0.0, SETTINGS, constant(0.5)) == GiveUp("final words (HTTP 400)")


# The driver loop, as the lead's code runs it: tenacity's iter() protocol with the countdown in our hands.


def drive(attempts: Iterable[Callable[[], str]], sleeps: list[float], draw: float = 0.5) -> str:
    retrying = build_retrying(SETTINGS, sleep=sleeps.append, random=constant(draw), now=lambda: NOW)
    retrying.begin()  # tenacity's statistics must exist before iter(); __call__ and __iter__ do this themselves
    state = RetryCallState(retrying, fn=None, args=(), kwargs={})
    script = iter(attempts)
    while True:
        do = retrying.iter(state)
        if isinstance(do, DoAttempt):
            try:
                state.set_result(next(script)())
            except ApiError as error:
                failure = AttemptFailed(classify(error), error)
                state.set_exception((AttemptFailed, failure, error.__traceback__))
        elif isinstance(do, DoSleep):
            state.prepare_for_next_attempt()
            sleeps.append(float(do))  # the countdown would run here
        else:
            return str(do)


def answer(text: str) -> Callable[[], str]:
    return lambda: text


def failing(error: ApiError) -> Callable[[], str]:
    def attempt() -> str:
        raise error

    return attempt


def rate_limited() -> ApiStatusError:
    body = {"message": TPM_MESSAGE, "type": "tokens", "code": "rate_limit_exceeded"}
    return ApiStatusError("rate limited", status=429, code="rate_limit_exceeded", body=body, request_id="req_1")


def server_error() -> ApiStatusError:
    return ApiStatusError("server error", status=503, request_id="req_2")


def test_the_driver_retries_until_success_waiting_as_the_policy_says() -> None:
    sleeps: list[float] = []
    result = drive([failing(server_error()), failing(rate_limited()), answer("hello")], sleeps)
    assert result == "hello"
    assert sleeps == [pytest.approx(0.5), pytest.approx(3.708 * 1.05)]


def test_a_final_error_leaves_after_one_attempt_as_the_attempt_failure() -> None:
    quota = ApiStatusError("no credit", status=429, code="insufficient_quota", request_id="req_3")
    sleeps: list[float] = []
    with pytest.raises(AttemptFailed, match="billing") as raised:
        drive([failing(quota), answer("never")], sleeps)
    assert raised.value.error is quota
    assert sleeps == []


def test_persistent_server_errors_give_up_after_six_attempts_with_one_summary() -> None:
    sleeps: list[float] = []
    with pytest.raises(GaveUp) as raised:
        drive([failing(server_error())] * 6, sleeps)
    assert len(sleeps) == 5
    assert raised.value.attempts == 6
    assert raised.value.waited == pytest.approx(sum(sleeps))
    assert str(raised.value) == ("server error 503: out of attempts (6 attempts, waited 16s, request id req_2)")
    assert isinstance(raised.value.__cause__, AttemptFailed)


def test_hints_that_add_up_past_the_total_stop_before_the_wait_that_would_pass_it() -> None:
    error = ApiStatusError("busy", status=503, headers={"retry-after": "100"})
    sleeps: list[float] = []
    with pytest.raises(GaveUp, match="would pass the 5m00s limit"):
        drive([failing(error)] * 6, sleeps, draw=0.0)
    assert sleeps == [100.0, 100.0, 100.0]


def test_a_one_hour_hint_gives_up_at_once() -> None:
    error = ApiStatusError("later", status=429, headers={"retry-after": "3600"}, request_id="req_4")
    sleeps: list[float] = []
    with pytest.raises(GaveUp, match="try again after 14:05") as raised:
        drive([failing(error), answer("never")], sleeps)
    assert raised.value.attempts == 1
    assert sleeps == []


def test_an_exception_that_is_not_an_attempt_failure_passes_straight_through() -> None:
    retrying = build_retrying(SETTINGS, sleep=lambda _: None)
    with pytest.raises(KeyError):
        retrying(failing_with(KeyError("bug")))


def test_the_retrying_also_runs_a_plain_call_with_the_injected_sleep() -> None:
    sleeps: list[float] = []
    outcomes = iter([AttemptFailed(classify(ApiConnectionError("refused")), ApiConnectionError("refused")), None])

    def attempt() -> str:
        failure = next(outcomes)
        if failure is not None:
            raise failure
        return "done"

    assert build_retrying(SETTINGS, sleep=sleeps.append, random=constant(0.25))(attempt) == "done"
    assert sleeps == [0.25]


def failing_with(error: Exception) -> Callable[[], str]:
    def attempt() -> str:
        raise error

    return attempt
