"""The retry policy: pure decisions (wait this long, or give up and say why) and the tenacity Retrying built on them.

The driver runs each attempt itself, through tenacity's `iter()` protocol, so it can show a countdown:

    retrying = build_retrying(settings)
    retrying.begin()  # tenacity's statistics must exist before iter(); only __call__ and __iter__ do this themselves
    state = RetryCallState(retrying, fn=None, args=(), kwargs={})
    while True:
        do = retrying.iter(state)
        if isinstance(do, DoAttempt):
            try:
                state.set_result(attempt())
            except ApiError as error:
                failure = AttemptFailed(classify(error), error)
                state.set_exception((AttemptFailed, failure, error.__traceback__))
        elif isinstance(do, DoSleep):
            state.prepare_for_next_attempt()
            countdown(do)
        else:
            return do

The Verdict travels inside the AttemptFailed exception. A final verdict makes `iter()` re-raise that AttemptFailed
(its message says what to do); when the policy stops, the retry_error_callback raises GaveUp with the summary line
instead of tenacity's RetryError. Any other exception from an attempt is not retried and leaves `iter()` unchanged.
"""

from __future__ import annotations

import random as _random
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import TypeAlias, cast

import tenacity
from tenacity.stop import stop_base
from tenacity.wait import wait_base

from interpreter.errors import AttemptFailed, GaveUp
from interpreter.resilience.classify import Verdict
from interpreter.resilience.durations import come_back_time, format_wait


@dataclass(frozen=True)
class RetrySettings:
    """The retry policy's limits; `jitter` is the fraction added to a server's hint, never subtracted."""

    max_attempts: int = 6
    max_wait_total: float = 300.0
    max_single_wait: float = 120.0
    backoff_base: float = 1.0
    backoff_cap: float = 60.0
    jitter: float = 0.1


@dataclass(frozen=True)
class Wait:
    """Wait `seconds`, then retry."""

    seconds: float


@dataclass(frozen=True)
class GiveUp:
    """Stop retrying; `reason` is the one line for the person."""

    reason: str


Decision: TypeAlias = Wait | GiveUp


def _local_now() -> datetime:
    """The wall-clock time in the local zone, for telling the person when to come back."""
    return datetime.now().astimezone()


def next_wait(
    verdict: Verdict,
    attempt: int,
    waited_so_far: float,
    settings: RetrySettings,
    random: Callable[[], float],
    *,
    now: datetime | None = None,
) -> Decision:
    """What to do after attempt number `attempt` failed with `verdict`, `waited_so_far` seconds having been waited."""
    seconds = wait_seconds(verdict, attempt, settings, random)
    reason = give_up_reason(verdict, attempt, waited_so_far, seconds, settings, now=now)
    return Wait(seconds) if reason is None else GiveUp(reason)


def wait_seconds(verdict: Verdict, attempt: int, settings: RetrySettings, random: Callable[[], float]) -> float:
    """The server's hint plus up to `jitter` of it more; with no hint, full-jitter exponential backoff."""
    if verdict.hint is not None:
        return verdict.hint.seconds * (1 + settings.jitter * random())
    return random() * min(settings.backoff_cap, settings.backoff_base * 2.0 ** (attempt - 1))


def give_up_reason(
    verdict: Verdict,
    attempt: int,
    waited_so_far: float,
    upcoming: float,
    settings: RetrySettings,
    *,
    now: datetime | None = None,
) -> str | None:
    """Why to stop rather than wait `upcoming` seconds and retry; None to go on."""
    if not verdict.retry:
        return verdict.message
    hint = verdict.hint.seconds if verdict.hint is not None else 0.0
    if hint > settings.max_single_wait:
        back = come_back_time(now or _local_now(), hint)
        why = f"the server asks to wait {format_wait(hint)}; try again after {back}"
        if verdict.words:  # stopping at once: the server's own words say what ran out
            why = f"{why}: {verdict.words}"
    elif attempt >= settings.max_attempts:
        why = "out of attempts"
    elif waited_so_far + upcoming > settings.max_wait_total:
        why = f"waiting {format_wait(upcoming)} more would pass the {format_wait(settings.max_wait_total)} limit"
    else:
        return None
    summary = f"{verdict.label}: {why} ({_facts(verdict, attempt, waited_so_far)})"
    return f"{summary}; {verdict.cause}" if verdict.cause else summary


def _facts(verdict: Verdict, attempt: int, waited: float) -> str:
    """`2 attempts, waited 7.4s, request id req_1`: the summary's numbers."""
    facts = [f"{attempt} attempt{'' if attempt == 1 else 's'}", f"waited {format_wait(waited)}"]
    if verdict.request_id:
        facts.append(f"request id {verdict.request_id}")
    return ", ".join(facts)


def build_retrying(
    settings: RetrySettings,
    *,
    sleep: Callable[[float], None] = time.sleep,
    random: Callable[[], float] = _random.random,
    now: Callable[[], datetime] = _local_now,
) -> tenacity.Retrying:
    """A tenacity Retrying running this policy on AttemptFailed exceptions; see the module docstring for the loop."""
    return tenacity.Retrying(
        sleep=sleep,
        retry=tenacity.retry_if_exception(_retryable),
        wait=_WaitForVerdict(settings, random),
        stop=_StopOnVerdict(settings, now),
        retry_error_callback=_GiveUpCallback(settings, now),
    )


def _retryable(error: BaseException) -> bool:
    """Whether tenacity should consider another attempt: only for a failure whose verdict says retry."""
    return isinstance(error, AttemptFailed) and error.verdict.retry


def _verdict(retry_state: tenacity.RetryCallState) -> Verdict:
    """The verdict carried by the failed attempt; retry= lets only AttemptFailed reach wait, stop and the callback."""
    outcome = cast("tenacity.Future", retry_state.outcome)
    # The driver puts only classify()'s Verdicts in AttemptFailed; errors.py names just what it reads of them.
    return cast("Verdict", cast("AttemptFailed", outcome.exception()).verdict)


class _WaitForVerdict(wait_base):
    """tenacity wait strategy: `wait_seconds` for the failed attempt's verdict."""

    def __init__(self, settings: RetrySettings, random: Callable[[], float]) -> None:
        self._settings = settings
        self._random = random

    def __call__(self, retry_state: tenacity.RetryCallState) -> float:
        return wait_seconds(_verdict(retry_state), retry_state.attempt_number, self._settings, self._random)


class _StopOnVerdict(stop_base):
    """tenacity stop strategy: stop when `give_up_reason` has a reason (tenacity runs wait first: upcoming_sleep)."""

    def __init__(self, settings: RetrySettings, now: Callable[[], datetime]) -> None:
        self._settings = settings
        self._now = now

    def __call__(self, retry_state: tenacity.RetryCallState) -> bool:
        return _reason(retry_state, self._settings, self._now()) is not None


class _GiveUpCallback:
    """tenacity retry_error_callback: raise GaveUp with the summary line instead of tenacity's RetryError."""

    def __init__(self, settings: RetrySettings, now: Callable[[], datetime]) -> None:
        self._settings = settings
        self._now = now

    def __call__(self, retry_state: tenacity.RetryCallState) -> None:
        verdict = _verdict(retry_state)
        # The stop strategy fired only because there is a reason; the fallback just keeps the type a str.
        reason = _reason(retry_state, self._settings, self._now()) or verdict.message
        failure = cast("AttemptFailed", cast("tenacity.Future", retry_state.outcome).exception())
        raise GaveUp(
            reason,
            attempts=retry_state.attempt_number,
            waited=retry_state.idle_for,
            request_id=verdict.request_id,
            error=failure.error,
        ) from failure


def _reason(retry_state: tenacity.RetryCallState, settings: RetrySettings, now: datetime) -> str | None:
    """`give_up_reason` for the attempt tenacity just saw fail."""
    return give_up_reason(
        _verdict(retry_state),
        retry_state.attempt_number,
        retry_state.idle_for,
        retry_state.upcoming_sleep,
        settings,
        now=now,
    )
