"""ResilientModel: a ChatModel that wraps another with the limiter, the circuit breaker and the retry policy.

Each request: the breaker may refuse it (no network); the limiter may hold it back (a countdown) so it does not
earn a 429, counting it as its prompt plus what replies of its model were charged lately (`allowance.py`, learned
from each answer); then it is sent once. A failure is classified; the policy either waits (a countdown the person sees,
honouring the server's hint) and tries again, or stops with one line. A stream that breaks after text was shown
is never replayed silently: its text is kept (StreamBroken) and the next attempt continues from it.
"""

from __future__ import annotations

import logging
import random as _random
import time
from collections.abc import Callable, Generator, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from tenacity import DoAttempt, DoSleep, RetryCallState

from interpreter.errors import ApiError, ApiStatusError, BreakerOpen, GaveUp
from interpreter.messages import (
    Message,
    Reply,
    ResponseHeaders,
    StreamBroken,
    StreamItem,
    TextDelta,
    Usage,
    Waiting,
)
from interpreter.model.llm import ChatModel
from interpreter.resilience.allowance import Allowances
from interpreter.resilience.breaker import BreakerState, CircuitBreaker
from interpreter.resilience.classify import Verdict, classify
from interpreter.resilience.diagnostics import LOGGER_NAME, safe_headers
from interpreter.resilience.durations import format_wait
from interpreter.resilience.limiter import Headroom, Limiter, RateLimiter, TokenEstimator, characters, readings
from interpreter.resilience.policy import RetrySettings, build_retrying
from interpreter.ui.words import counted

_MOVED = 1.0  # seconds a held request's countdown may drift before it is announced again


@dataclass
class Traffic:
    """What this session's requests cost: sent, answered 429, seconds spent waiting, tokens the server reported."""

    requests: int = 0
    rate_limited: int = 0
    waited: float = 0.0
    prompt_tokens: int = 0
    completion_tokens: int = 0

    def count(self, usage: Usage) -> None:
        """Add the tokens one reply used, as the server reported them."""
        self.prompt_tokens += usage.prompt_tokens
        self.completion_tokens += usage.completion_tokens

    def summary(self) -> str:
        """One line for the end of a session: "5 requests, 2 rate limited (429), 7.4s spent waiting"."""
        sent = counted(self.requests, "request")
        return f"{sent}, {self.rate_limited} rate limited (429), {self.waited:.1f}s spent waiting"


@dataclass
class _Charge:
    """What one answer tells of what the server charged: the drop the limiter measured, whether its headers count
    tokens at all, and the usage it reported."""

    taken: int | None = None
    counted: bool = False
    usage: Usage | None = None

    def heard(self, taken: int | None, headers: dict[str, str]) -> None:
        """Note what the limiter measured from a response's headers, and whether they count tokens at all."""
        self.taken = taken
        self.counted = any(found.kind == "tokens" and found.remaining is not None for found in readings(headers))

    def beyond_prompt(self, prompt: int) -> int | None:
        """Tokens charged beyond the prompt (`prompt` as estimated when the usage does not say); None if unknown."""
        if self.taken is not None:
            return self.taken - (self.usage.prompt_tokens if self.usage is not None else prompt)
        if self.usage is not None and not self.counted:  # a server without token headers: what the reply used
            return self.usage.completion_tokens
        return None  # the headers count tokens, but other requests went in between: the drop is not this one's


def log_transition(old: BreakerState, new: BreakerState) -> None:
    """Write a circuit breaker's change of state to the diagnostics log."""
    logging.getLogger(f"{LOGGER_NAME}.api").warning("circuit breaker: %s -> %s", old.value, new.value)


class _BrokeAfterText(Exception):
    """An attempt failed after some of its text reached the person."""

    def __init__(self, error: ApiError, shown: str) -> None:
        super().__init__(str(error))
        self.error = error
        self.shown = shown


class ResilientModel:
    """Wraps a ChatModel: proactive limiting, a circuit breaker, and one retry policy with visible waits."""

    def __init__(
        self,
        inner: ChatModel,
        *,
        settings: RetrySettings | None = None,
        breaker: CircuitBreaker | None = None,
        limiter: Limiter | None = None,
        estimator: TokenEstimator | None = None,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
        random: Callable[[], float] = _random.random,
        images: Callable[[], bool] = lambda: False,
        allowances: Allowances | None = None,
        model_name: Callable[[], str] = lambda: "",
    ) -> None:
        self._inner = inner
        self._allowances = allowances or Allowances()  # what a reply reserves, learned per model
        self._model_name = model_name  # read at each request: %model changes the model
        self._images = images  # whether `inner` sends the figures as pictures now: they count in a request's size
        self._settings = settings or RetrySettings()
        self._log = logging.getLogger(f"{LOGGER_NAME}.api")
        self._breaker = breaker or CircuitBreaker(clock=clock, on_transition=log_transition)
        self._limiter: Limiter = limiter or RateLimiter(clock=clock)
        self._estimator = estimator or TokenEstimator()
        self._clock = clock
        self._sleep = sleep
        self._random = random
        self.traffic = Traffic()

    def stream(self, messages: Sequence[Message], tools: Sequence[dict[str, Any]]) -> Generator[StreamItem, None, None]:
        """Stream one reply, retrying under the policy; gives up with one ApiError line."""
        retrying = build_retrying(self._settings, random=self._random)
        retrying.begin()  # tenacity's statistics must exist before iter() (only __call__/__iter__ set them up)
        state = RetryCallState(retrying, fn=None, args=(), kwargs={})
        request = list(messages)
        verdict: Verdict | None = None
        while True:
            action = retrying.iter(state)
            if isinstance(action, DoAttempt):
                try:
                    state.set_result((yield from self._attempt(request, tools, state.attempt_number)))
                except BreakerOpen:
                    raise  # the request never left: nothing to classify, and the breaker says when to come back
                except _BrokeAfterText as broke:
                    # Kept before the verdict: if this failure ends the retries, the shown text must not be lost.
                    kept = StreamBroken(broke.shown, classify(broke.error).label)
                    request.append(kept.message())
                    yield kept
                    verdict = self._failed(broke.error, state)
                except ApiError as error:
                    verdict = self._failed(error, state)
            elif isinstance(action, DoSleep):
                state.prepare_for_next_attempt()
                label = verdict.label if verdict is not None else "retrying"
                named = verdict is not None and verdict.hint is not None
                yield from self._wait(float(action), label, state.attempt_number, named=named)
            else:
                yield action  # the Reply of the attempt that succeeded
                return

    def unavailable_for(self) -> float:
        """Seconds until the open circuit breaker lets a request through; 0.0 when it is not open."""
        return self._breaker.next_probe_in()

    def headroom(self) -> list[Headroom]:
        """The rate limits as the last response's headers left them (refilled to now); empty before any were seen."""
        return self._limiter.headroom()

    def sharing(self) -> str:
        """Who shares the rate-limit budget: the store and the other sessions using it, or nobody."""
        return self._limiter.sharing()

    def close(self) -> None:
        """Leave the shared rate-limit budget (this session's place in line and reservation go)."""
        self._limiter.close()

    def _attempt(
        self, request: list[Message], tools: Sequence[dict[str, Any]], attempt: int
    ) -> Generator[StreamItem, None, Reply]:
        """One request: the breaker's and the limiter's say, then the stream; its text is passed on as it comes."""
        self._breaker.check()
        size = characters(request, tools, images=self._images())
        prompt, name = self._estimator.padded(size), self._model_name()
        yield from self._hold_back(prompt + self._allowances.tokens(name), attempt)
        self.traffic.requests += 1
        shown: list[str] = []
        charge = _Charge()
        try:
            for item in self._inner.stream(request, tools):
                if isinstance(item, ResponseHeaders):
                    charge.heard(self._observe(item.headers), item.headers)
                elif isinstance(item, Usage):
                    if not item.estimated:  # an estimate of ours (the server reported none) teaches nothing
                        self._estimator.calibrate(size, item.prompt_tokens)
                        self.traffic.count(item)
                        charge.usage = item
                    yield item  # the session shows what the request cost
                elif isinstance(item, Reply):
                    self._breaker.record("success")
                    self._learn(name, charge.beyond_prompt(prompt))
                    return item
                else:
                    if isinstance(item, TextDelta):
                        shown.append(item.text)
                    yield item
        except ApiError as error:
            if shown:
                raise _BrokeAfterText(error, "".join(shown)) from error
            raise
        raise AssertionError("a ChatModel stream must end with a Reply")

    def _failed(self, error: ApiError, state: RetryCallState) -> Verdict:
        """Classify a failed attempt, tell the breaker and the limiter, and hand the verdict to the policy."""
        verdict = classify(error)
        self._breaker.record(verdict.breaker)
        if isinstance(error, ApiStatusError):
            self._observe(error.headers)
            self.traffic.rate_limited += error.status == 429
        self._log.warning("attempt %d failed: %s (%s)", state.attempt_number, verdict.label, error)
        if self._breaker.state is BreakerState.OPEN:  # no backoff wait only to be refused by the breaker
            raise self._breaker_gave_up(verdict, error, state) from error
        failure = verdict.failure(verdict, error)
        failure.__cause__ = error  # --verbose shows the whole chain, down to the HTTP layer
        state.set_exception((type(failure), failure, error.__traceback__))
        return verdict

    def _breaker_gave_up(self, verdict: Verdict, error: ApiError, state: RetryCallState) -> GaveUp:
        """The summary when this failure opened the breaker: what failed, and when the next try can be."""
        attempts = state.attempt_number
        facts = f"{counted(attempts, 'attempt')}, waited {format_wait(state.idle_for)}"
        if error.request_id:
            facts += f", request id {error.request_id}"
        opened = f"the API looks down, next try in {format_wait(self._breaker.next_probe_in())}"
        reason = f"{verdict.label}: {opened} ({facts}); {error}"
        return GaveUp(reason, attempts=attempts, waited=state.idle_for, request_id=error.request_id, error=error)

    def _wait(self, seconds: float, reason: str, attempt: int, *, named: bool = False) -> Iterator[Waiting]:
        """Announce a wait (the screen counts it down), then sleep until its deadline; Ctrl-C cancels it."""
        until = self._clock() + seconds
        self._log.info("waiting %.3fs before attempt %d: %s", seconds, attempt, reason)
        yield Waiting(reason, until, attempt, self._settings.max_attempts, named=named)
        while (left := until - self._clock()) > 0:
            self._sleep(left)
        self.traffic.waited += seconds

    def _hold_back(self, tokens: int, attempt: int) -> Iterator[Waiting]:
        """Wait until the limiter lets `tokens` tokens go; a countdown is announced again only when it changes."""
        # These waits are the budget's, not failures: they use up no attempt (--max-retries) and no retry wait time.
        shown: Waiting | None = None
        while (hold := self._limiter.reserve(tokens)) is not None:
            until = self._clock() + hold.seconds
            if shown is None or shown.reason != hold.reason or abs(shown.until - until) > _MOVED:
                shown = Waiting(hold.reason, until, attempt, self._settings.max_attempts, named=True)
                self._log.info("holding attempt %d back %.3fs: %s", attempt, hold.seconds, hold.reason)
                yield shown
            self._sleep(hold.recheck)
            self.traffic.waited += hold.recheck

    def _observe(self, headers: dict[str, str]) -> int | None:
        """Teach the limiter from a response's rate-limit headers, and log them; the tokens the request was charged,
        when the limiter can tell."""
        self._log.debug("rate-limit headers: %s", safe_headers(headers))
        return self._limiter.observe(headers)

    def _learn(self, model: str, beyond_prompt: int | None) -> None:
        """Teach the allowance what the server took for a reply of `model`, when that is known."""
        if beyond_prompt is not None:
            self._allowances.learn(model, beyond_prompt)
            self._log.debug(
                "%s: charged %d beyond the prompt; replies now reserve %d",
                model or "model",
                beyond_prompt,
                self._allowances.tokens(model),
            )
