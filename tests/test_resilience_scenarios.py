"""Every fault scenario of shared/RESILIENCE.md, end to end: the resilient model over the real OpenAI adapter, the
real SDK and real HTTP, against the loopback fake server producing the fault.

The model and the server share one injected monotonic clock that moves only when the model sleeps, so no test
waits for real (only the stream-stall rows need a short real idle timeout) and every spacing assert is exact:
`RecordedRequest.at` is the fake clock's time when the request arrived.
"""

from __future__ import annotations

import itertools
import re
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import cast

import pytest
from fake_server import (
    Answer,
    BrokenStream,
    Exchange,
    FakeServer,
    Fault,
    RateLimit,
    RecordedRequest,
    StatusFault,
    TokenLimits,
    closed_port,
)
from fake_server import Reply as Scripted
from fakes import FakeClock

from interpreter.errors import ApiError, AttemptFailed, BreakerOpen, GaveUp
from interpreter.messages import Message, Reply, StreamBroken, StreamItem, TextDelta, Waiting
from interpreter.model.llm import OpenAIChatModel
from interpreter.resilience.breaker import BreakerState, CircuitBreaker
from interpreter.resilience.model import ResilientModel

WORDS = Scripted.text("one two three four")  # stream chunks: role, "one", " two", " three", " four", finish, [DONE]
QUESTION = "What is 6*7?"
REQUEST_ID = r"request id req_[0-9a-f]{32}"
IDLE = 5.0  # the stream watchdog for every row but the stall ones: generous, never reached
STALL_IDLE = 1.0  # the watchdog where a stall must trip it: short, but far above any real gap between chunks
JITTER = 1.05  # random() is 0.5 and the jitter 10%: a hint of h seconds is waited as 1.05 h


def resilient(
    url: str,
    clock: FakeClock,
    *,
    idle_timeout: float = IDLE,
    breaker: CircuitBreaker | None = None,
    random: Callable[[], float] = lambda: 0.5,
) -> ResilientModel:
    inner = OpenAIChatModel(model="gpt-4o", api_base=url, api_key="x", idle_timeout=idle_timeout)
    return ResilientModel(inner, breaker=breaker, clock=clock, sleep=clock.sleep, random=random)


@pytest.fixture
def model(api: FakeServer, clock: FakeClock) -> ResilientModel:
    return resilient(api.url, clock)


def ask(model: ResilientModel, question: str = QUESTION) -> list[StreamItem]:
    """One stream() call, consumed whole."""
    return list(model.stream([Message("user", question)], []))


def failure(
    model: ResilientModel, expected: type[ApiError], question: str = QUESTION
) -> tuple[ApiError, list[StreamItem]]:
    """One stream() call that must fail with `expected`: the error, and the items yielded before it."""
    items: list[StreamItem] = []
    with pytest.raises(expected) as caught:
        items.extend(model.stream([Message("user", question)], []))
    return caught.value, items


def chats(server: FakeServer) -> list[RecordedRequest]:
    return [r for r in server.requests if r.path.endswith("/chat/completions")]


def gaps(server: FakeServer) -> list[float]:
    """Seconds between consecutive chat requests, on the shared fake clock."""
    return [later.at - earlier.at for earlier, later in itertools.pairwise(chats(server))]


def waits(items: list[StreamItem]) -> list[Waiting]:
    return [item for item in items if isinstance(item, Waiting)]


def shown(items: list[StreamItem]) -> str:
    """All text the person saw."""
    return "".join(item.text for item in items if isinstance(item, TextDelta))


def answer_of(items: list[StreamItem]) -> str:
    assert isinstance(items[-1], Reply), items[-1]
    return items[-1].message.content


def sent_messages(request: RecordedRequest) -> list[dict[str, str]]:
    assert request.body is not None
    return cast("list[dict[str, str]]", request.body["messages"])


def one_line(error: BaseException) -> str:
    text = str(error)
    assert "\n" not in text and "\r" not in text, repr(text)
    assert "Traceback" not in text
    return text


def assert_final_after_one_request(
    api: FakeServer, model: ResilientModel, clock: FakeClock, fault: Answer, message: str, *, rate_limited: int
) -> None:
    """`fault` ends the request at once: one request, no wait, one line starting `message` and naming the request."""
    api.enqueue(fault, Scripted.text("never sent"))

    error, items = failure(model, AttemptFailed)

    assert len(chats(api)) == 1
    assert clock.sleeps == [] and waits(items) == []
    line = one_line(error)
    assert line.startswith(message), line
    assert re.search(rf"{REQUEST_ID}\)$", line), line
    assert_traffic(model, requests=1, rate_limited=rate_limited, waited=0.0)


def assert_traffic(model: ResilientModel, requests: int, rate_limited: int, waited: float) -> None:
    traffic = model.traffic
    assert (traffic.requests, traffic.rate_limited) == (requests, rate_limited)
    assert traffic.waited == pytest.approx(waited)


def come_back_pattern(before: datetime, after: datetime, seconds: float) -> str:
    """The `try again after HH:MM` times the policy may name for a wait of `seconds` asked between the two moments."""

    def at(moment: datetime) -> str:
        when = (moment + timedelta(seconds=seconds + 59)).replace(second=0, microsecond=0)
        return when.strftime("%H:%M" if when.date() == moment.date() else "%Y-%m-%d %H:%M")

    return "(" + "|".join(re.escape(at(m)) for m in (before, after)) + ")"


# ---- 429s with a hint: wait at least the hint, plus a little jitter, then succeed ---------------------------------

HINTED = [
    pytest.param(RateLimit.retry_after_ms(3708), 3.708, "rate limited (TPM)", id="retry-after-ms"),
    pytest.param(RateLimit.retry_after(4), 4.0, "rate limited (TPM)", id="retry-after-int"),
    pytest.param(RateLimit.retry_after(1.5), 1.5, "rate limited (TPM)", id="retry-after-float"),
    pytest.param(RateLimit.tokens(), 3.708, "rate limited (TPM)", id="body-try-again-in-3.708s"),
    pytest.param(RateLimit.tokens(hint="20ms"), 0.02, "rate limited (TPM)", id="body-20ms"),
    pytest.param(RateLimit.tokens(hint="1m2.6s"), 62.6, "rate limited (TPM)", id="body-1m2.6s"),
    pytest.param(RateLimit.tokens(hint="~3s"), 3.0, "rate limited (TPM)", id="body-tilde-3s"),
    pytest.param(RateLimit.tokens(hint="~3.708s"), 3.708, "rate limited (TPM)", id="body-tilde-3.708s"),
    pytest.param(RateLimit.requests(), 60.0, "rate limited (RPM)", id="rpm-only-reset-requests-1m0s"),
    pytest.param(RateLimit.requests(reset="2s"), 2.0, "rate limited (RPM)", id="rpm-only-reset-requests-2s"),
]


@pytest.mark.parametrize(("fault", "hint", "label"), HINTED)
def test_a_hinted_429_waits_the_hint_plus_jitter_then_succeeds(
    api: FakeServer, model: ResilientModel, fault: Answer, hint: float, label: str
) -> None:
    api.enqueue(fault, Scripted.text("Done."))

    items = ask(model)

    assert answer_of(items) == "Done."
    assert len(chats(api)) == 2
    (gap,) = gaps(api)
    assert hint <= gap <= hint * 1.1  # never sooner than asked; the jitter only ever adds
    assert gap == pytest.approx(hint * JITTER)
    (wait,) = waits(items)
    assert (wait.reason, wait.attempt, wait.attempts) == (label, 2, 6)
    assert wait.until == pytest.approx(chats(api)[1].at)
    assert wait.describe(hint * JITTER) == f"{label}, retrying in {hint * JITTER:.1f}s (attempt 2/6)"
    assert_traffic(model, requests=2, rate_limited=1, waited=hint * JITTER)


def test_retry_after_as_an_http_date_is_waited_until_that_moment(
    api: FakeServer, model: ResilientModel, clock: FakeClock
) -> None:
    # The date is whole seconds, rounded up, on the wall clock: it asks for between 5 and 6 seconds.
    api.enqueue(RateLimit.retry_after_date(5.0), Scripted.text("Done."))

    items = ask(model)

    assert answer_of(items) == "Done."
    assert len(chats(api)) == 2
    (gap,) = gaps(api)
    assert 4.5 <= gap <= 6 * 1.1
    (wait,) = waits(items)
    assert (wait.reason, wait.attempt) == ("rate limited (TPM)", 2)
    assert_traffic(model, requests=2, rate_limited=1, waited=gap)


def test_three_body_hints_then_success_spaces_the_four_requests_by_the_hint(
    api: FakeServer, model: ResilientModel
) -> None:
    api.enqueue(*Fault.times(3, RateLimit.tokens()), Scripted.text("Done."))

    items = ask(model)

    assert answer_of(items) == "Done."
    assert len(chats(api)) == 4
    assert all(3.708 <= gap <= 3.708 * 1.1 for gap in gaps(api))
    assert [(w.reason, w.attempt) for w in waits(items)] == [("rate limited (TPM)", n) for n in (2, 3, 4)]
    assert_traffic(model, requests=4, rate_limited=3, waited=3 * 3.708 * JITTER)


# ---- 429s that no wait will fix: one request, one line that says what to do ---------------------------------------


@pytest.mark.parametrize(
    ("fault", "seconds"),
    [
        pytest.param(RateLimit.tokens(hint="6m0s"), 360, id="body-6m0s"),
        pytest.param(RateLimit.tokens(hint="2h3m"), 2 * 3600 + 180, id="body-2h3m"),
        pytest.param(RateLimit.retry_after(3600), 3600, id="retry-after-3600"),
    ],
)
def test_a_hint_beyond_two_minutes_gives_up_at_once_and_says_when_to_come_back(
    api: FakeServer, model: ResilientModel, clock: FakeClock, fault: Answer, seconds: float
) -> None:
    api.enqueue(fault, Scripted.text("never sent"))
    before = datetime.now().astimezone()

    error, items = failure(model, GaveUp)

    after = datetime.now().astimezone()
    assert len(chats(api)) == 1
    assert clock.sleeps == [] and waits(items) == []
    line = one_line(error)
    when = come_back_pattern(before, after, seconds)
    assert re.fullmatch(
        rf"rate limited \(TPM\): the server asks to wait \S+; try again after {when}: "
        rf"Rate limit reached for gpt-4o in organization \S+ on tokens per min \(TPM\): [^()]+…? "
        rf"\(1 attempt, waited 0\.0s, {REQUEST_ID}\)",
        line,
    ), line
    assert_traffic(model, requests=1, rate_limited=1, waited=0.0)


@pytest.mark.parametrize(
    ("fault", "message"),
    [
        pytest.param(
            RateLimit.insufficient_quota(),
            "the account has no credit left (insufficient_quota): check plan and billing: "
            "You exceeded your current quota",
            id="insufficient_quota",
        ),
        pytest.param(
            RateLimit.too_large(),
            "this request is larger than your tokens-per-minute limit; shorten the conversation or raise the limit "
            "(HTTP 429, ",
            id="requested-over-limit",
        ),
        pytest.param(
            Fault.no_retry(RateLimit.tokens()),
            "rate limited (TPM): the server asked not to retry; try again later (HTTP 429, ",
            id="x-should-retry-false-429",
        ),
        pytest.param(
            Fault.no_retry(Fault.server_error(503)),
            "server error 503: the server asked not to retry; try again later (HTTP 503, ",
            id="x-should-retry-false-503",
        ),
    ],
)
def test_a_429_no_wait_can_fix_is_final_after_one_request(
    api: FakeServer, model: ResilientModel, clock: FakeClock, fault: StatusFault, message: str
) -> None:
    assert_final_after_one_request(api, model, clock, fault, message, rate_limited=int(fault.status == 429))


def test_the_traffic_summary_after_a_single_request_reads_well(api: FakeServer, model: ResilientModel) -> None:
    api.enqueue(RateLimit.insufficient_quota())

    failure(model, AttemptFailed)

    assert model.traffic.summary() == "1 request, 1 rate limited (429), 0.0s spent waiting"


# ---- a 429 that never ends: stop by 6 attempts or 300 s of waiting, whichever comes first --------------------------


def test_a_persistent_429_stops_after_six_attempts_with_one_summary_line(
    api: FakeServer, model: ResilientModel, clock: FakeClock
) -> None:
    api.responder = Fault.always(RateLimit.tokens())

    error, items = failure(model, GaveUp)

    assert len(chats(api)) == 6
    assert all(3.708 <= gap <= 3.708 * 1.1 for gap in gaps(api))
    assert [w.attempt for w in waits(items)] == [2, 3, 4, 5, 6]
    waited = 5 * 3.708 * JITTER
    assert re.fullmatch(
        rf"rate limited \(TPM\): out of attempts \(6 attempts, waited 19s, {REQUEST_ID}\)", one_line(error)
    ), str(error)
    assert isinstance(error, GaveUp) and error.attempts == 6 and error.waited == pytest.approx(waited)
    assert error.request_id is not None and error.request_id in str(error)
    assert_traffic(model, requests=6, rate_limited=6, waited=waited)


def test_a_persistent_429_stops_before_300_seconds_of_waiting(
    api: FakeServer, model: ResilientModel, clock: FakeClock
) -> None:
    api.responder = Fault.always(RateLimit.retry_after(100))  # 105 s a wait: a third would pass 300 s

    error, items = failure(model, GaveUp)

    assert len(chats(api)) == 3
    assert gaps(api) == [pytest.approx(105), pytest.approx(105)]
    assert sum(clock.sleeps) <= 300
    assert [w.attempt for w in waits(items)] == [2, 3]
    assert re.fullmatch(
        rf"rate limited \(TPM\): waiting 1m45s more would pass the 5m00s limit "
        rf"\(3 attempts, waited 3m30s, {REQUEST_ID}\)",
        one_line(error),
    ), str(error)
    assert_traffic(model, requests=3, rate_limited=3, waited=210)


# ---- server errors: full-jitter exponential backoff, then success ---------------------------------------------------


@pytest.mark.parametrize("status", [500, 502, 503, 504])
def test_server_errors_back_off_with_full_jitter_then_succeed(api: FakeServer, clock: FakeClock, status: int) -> None:
    draws = iter([0.9, 0.1, 0.7])
    model = resilient(api.url, clock, random=lambda: next(draws))
    api.enqueue(*Fault.times(3, Fault.server_error(status)), Scripted.text("Done."))

    items = ask(model)

    assert answer_of(items) == "Done."
    assert len(chats(api)) == 4
    # Full jitter: a uniform draw in [0, base * 2^(n-1)] after attempt n; the draws were 0.9, 0.1, 0.7.
    assert gaps(api) == [pytest.approx(0.9 * 1), pytest.approx(0.1 * 2), pytest.approx(0.7 * 4)]
    assert [(w.reason, w.attempt) for w in waits(items)] == [(f"server error {status}", n) for n in (2, 3, 4)]
    assert_traffic(model, requests=4, rate_limited=0, waited=0.9 + 0.2 + 2.8)


def test_an_html_proxy_error_page_is_retried_like_any_502(api: FakeServer, model: ResilientModel) -> None:
    api.enqueue(Fault.html(502), Scripted.text("Done."))

    items = ask(model)

    assert answer_of(items) == "Done."
    assert len(chats(api)) == 2
    assert gaps(api) == [pytest.approx(0.5)]
    assert [(w.reason, w.attempt) for w in waits(items)] == [("server error 502", 2)]


def test_html_proxy_pages_until_the_breaker_opens_end_in_one_line(
    api: FakeServer, model: ResilientModel, clock: FakeClock
) -> None:
    api.responder = Fault.always(Fault.html(502))

    error, _ = failure(model, GaveUp)

    assert len(chats(api)) == 5  # the breaker opens on the fifth failure: no backoff, no sixth request
    line = one_line(error)
    assert line.startswith("server error 502: the API looks down, next try in 30s (5 attempts, waited 7.5s"), line
    assert "<html>" not in line and "cloudflare" not in line


def test_the_summary_when_server_errors_open_the_breaker_names_the_servers_request_id(
    api: FakeServer, model: ResilientModel
) -> None:
    api.responder = Fault.always(Fault.server_error(503))

    error, _ = failure(model, GaveUp)

    assert len(chats(api)) == 5
    assert error.request_id is not None
    assert re.fullmatch(
        rf"server error 503: the API looks down, next try in 30s \(5 attempts, waited 7\.5s, {REQUEST_ID}\); .*",
        one_line(error),
    ), str(error)


# ---- final errors: one request, one line that says what to do -------------------------------------------------------


@pytest.mark.parametrize(
    ("fault", "message"),
    [
        pytest.param(
            Fault.context_length_exceeded(),
            "the conversation no longer fits the model's context window: start a new conversation or shorten this one "
            "(HTTP 400, ",
            id="400-context-length",
        ),
        pytest.param(
            Fault.invalid_api_key(),
            "the API key was refused: check --api-key or OPENAI_API_KEY (HTTP 401, ",
            id="401",
        ),
        pytest.param(
            Fault.forbidden(),
            "the API key may not do this: check its permissions: Country, region, or territory not supported "
            "(HTTP 403, ",
            id="403",
        ),
        pytest.param(
            Fault.model_not_found(),
            "not found: check --model and --api-base: The model `gpt-5-turbo` does not exist or you do not have "
            "access to it. (HTTP 404, ",
            id="404",
        ),
        pytest.param(
            Fault.unprocessable(),
            "the API could not process the request: The request was well-formed but could not be processed. "
            "(HTTP 422, ",
            id="422",
        ),
    ],
)
def test_a_final_client_error_sends_one_request_and_says_what_to_do(
    api: FakeServer, model: ResilientModel, clock: FakeClock, fault: Answer, message: str
) -> None:
    assert_final_after_one_request(api, model, clock, fault, message, rate_limited=0)


# ---- connection failures and the circuit breaker --------------------------------------------------------------------


def test_connection_refused_opens_the_breaker_fails_fast_then_a_half_open_probe_recovers(clock: FakeClock) -> None:
    port = closed_port()
    url = f"http://127.0.0.1:{port}/v1"
    breaker = CircuitBreaker(clock=clock)
    model = resilient(url, clock, breaker=breaker)

    error, items = failure(model, GaveUp)

    # Five refused attempts, full-jitter waits of half the cap each (0.5, 1, 2, 4), and no sixth: the breaker opened.
    assert model.traffic.requests == 5
    assert clock.sleeps == [0.5, 1.0, 2.0, 4.0]
    assert [(w.reason, w.attempt) for w in waits(items)] == [("connection failed", n) for n in (2, 3, 4, 5)]
    assert breaker.state is BreakerState.OPEN
    assert one_line(error) == (
        "connection failed: the API looks down, next try in 30s (5 attempts, waited 7.5s); "
        f"cannot reach the API at {url}: check --api-base and your connection"
    )

    with FakeServer(port=port, clock=clock) as back:  # the API is back, but the open period is not over
        back.enqueue(Scripted.text("Back again."))
        error, items = failure(model, BreakerOpen)
        assert one_line(error) == "API unavailable: 5 failures in a row; next try in 30s"
        assert items == [] and back.requests == []
        assert model.traffic.requests == 5

        clock.advance(30)
        items = ask(model)

        assert answer_of(items) == "Back again."
        assert len(chats(back)) == 1  # the one half-open probe
        # mypy holds the state at the OPEN asserted above, as if the probe could not have closed the breaker.
        assert breaker.state is BreakerState.CLOSED  # type: ignore[comparison-overlap]
        assert model.traffic.requests == 6


def test_a_failed_half_open_probe_reopens_the_breaker_for_twice_as_long(clock: FakeClock) -> None:
    port = closed_port()
    breaker = CircuitBreaker(clock=clock)
    model = resilient(f"http://127.0.0.1:{port}/v1", clock, breaker=breaker)
    failure(model, GaveUp)
    clock.advance(30)

    error, items = failure(model, GaveUp)  # the one probe is refused too

    assert model.traffic.requests == 6 and waits(items) == []
    assert one_line(error).startswith("connection failed: the API looks down, next try in 1m00s (1 attempt, ")
    assert breaker.state is BreakerState.OPEN
    error, _ = failure(model, BreakerOpen)
    assert str(error) == "API unavailable: 6 failures in a row; next try in 1m00s"
    assert model.traffic.requests == 6


def test_a_half_open_probe_answered_by_a_hinted_429_waits_and_probes_again(clock: FakeClock) -> None:
    port = closed_port()
    breaker = CircuitBreaker(clock=clock)
    model = resilient(f"http://127.0.0.1:{port}/v1", clock, breaker=breaker)
    failure(model, GaveUp)
    clock.advance(30)

    with FakeServer(port=port, clock=clock) as back:
        back.enqueue(RateLimit.tokens(), Scripted.text("Back again."))
        items = ask(model)

        assert answer_of(items) == "Back again."
        assert len(chats(back)) == 2
        assert [(w.reason, w.attempt) for w in waits(items)] == [("rate limited (TPM)", 2)]
        assert 3.708 <= gaps(back)[0] <= 3.708 * 1.1
        assert breaker.state is BreakerState.CLOSED


def test_six_connection_resets_send_exactly_five_requests_then_the_breaker_fails_fast(
    api: FakeServer, model: ResilientModel, clock: FakeClock
) -> None:
    api.enqueue(*Fault.times(6, Fault.reset()))

    error, _ = failure(model, GaveUp)

    assert len(chats(api)) == 5
    assert gaps(api) == [pytest.approx(w) for w in (0.5, 1.0, 2.0, 4.0)]
    assert "the API looks down, next try in 30s (5 attempts, waited 7.5s)" in one_line(error)

    failure(model, BreakerOpen)
    assert len(chats(api)) == 5  # the sixth never left the machine
    assert api.pending == 1


def test_a_reset_before_headers_is_retried(api: FakeServer, model: ResilientModel) -> None:
    api.enqueue(Fault.reset(), Scripted.text("Done."))

    items = ask(model)

    assert answer_of(items) == "Done."
    assert len(chats(api)) == 2
    assert gaps(api) == [pytest.approx(0.5)]
    assert [(w.reason, w.attempt) for w in waits(items)] == [("connection failed", 2)]
    assert not any(isinstance(item, StreamBroken) for item in items)
    assert_traffic(model, requests=2, rate_limited=0, waited=0.5)


def test_a_slow_first_byte_within_the_idle_timeout_is_just_slow(api: FakeServer, clock: FakeClock) -> None:
    model = resilient(api.url, clock, idle_timeout=IDLE)
    api.enqueue(Fault.delay(0.3, WORDS))

    items = ask(model)

    assert answer_of(items) == "one two three four"
    assert len(chats(api)) == 1
    assert waits(items) == [] and clock.sleeps == []
    assert_traffic(model, requests=1, rate_limited=0, waited=0.0)


def test_a_first_byte_slower_than_the_idle_timeout_is_a_timeout_and_retried(api: FakeServer, clock: FakeClock) -> None:
    model = resilient(api.url, clock, idle_timeout=STALL_IDLE)
    api.enqueue(Fault.delay(60, WORDS), WORDS)  # the server wakes the delay on stop()

    items = ask(model)

    assert answer_of(items) == "one two three four"
    assert len(chats(api)) == 2
    assert [(w.reason, w.attempt) for w in waits(items)] == [("timed out", 2)]
    assert not any(isinstance(item, StreamBroken) for item in items)


# ---- broken streams: retried; text once shown is kept, never replayed --------------------------------------------


def test_a_stream_stalled_after_text_is_broken_by_the_watchdog_and_continued_without_duplicates(
    api: FakeServer, clock: FakeClock
) -> None:
    model = resilient(api.url, clock, idle_timeout=STALL_IDLE)
    api.enqueue(Fault.stall(WORDS, 3, 60), Scripted.text("three four"))  # the server wakes the stall on stop()

    items = ask(model)

    assert len(chats(api)) == 2
    broken = [item for item in items if isinstance(item, StreamBroken)]
    assert broken == [StreamBroken("one two", "timed out")]
    assert shown(items) == "one twothree four"  # each piece once
    assert answer_of(items) == "three four"
    retried = sent_messages(chats(api)[1])
    assert retried[:-1] == sent_messages(chats(api)[0])
    assert retried[-1] == broken[0].message().to_dict()
    assert sum("one two" in m["content"] for m in retried) == 1
    assert [(w.reason, w.attempt) for w in waits(items)] == [("timed out", 2)]


def test_a_stream_stalled_before_any_text_is_retried_silently(api: FakeServer, clock: FakeClock) -> None:
    model = resilient(api.url, clock, idle_timeout=STALL_IDLE)
    api.enqueue(Fault.stall(WORDS, 1, 60), WORDS)  # only the role chunk, then silence

    items = ask(model)

    assert len(chats(api)) == 2
    assert not any(isinstance(item, StreamBroken) for item in items)
    assert shown(items) == "one two three four"
    assert sent_messages(chats(api)[1]) == sent_messages(chats(api)[0])
    assert [(w.reason, w.attempt) for w in waits(items)] == [("timed out", 2)]


BROKEN_STREAMS = [
    pytest.param(lambda after: Fault.cut(WORDS, after), "connection failed", id="chunked-cut"),
    # The body ends properly without [DONE] or a finish_reason; the connection stays open (see the test after).
    pytest.param(lambda after: BrokenStream(WORDS, after, end="finish"), "connection failed", id="clean-end-no-done"),
    pytest.param(lambda after: Fault.reset_mid_stream(WORDS, after), "connection failed", id="reset-mid-stream"),
    pytest.param(lambda after: Fault.error_event(WORDS, after), "broken reply", id="error-event"),
    pytest.param(lambda after: Fault.malformed_json(WORDS, after), "broken reply", id="malformed-json"),
]


@pytest.mark.parametrize(("fault", "label"), BROKEN_STREAMS)
def test_a_stream_broken_after_text_keeps_it_and_continues_as_a_new_visible_attempt(
    api: FakeServer, model: ResilientModel, fault: Callable[[int], Answer], label: str
) -> None:
    api.enqueue(fault(3), Scripted.text("three four"))

    items = ask(model)

    assert len(chats(api)) == 2
    broken = [item for item in items if isinstance(item, StreamBroken)]
    assert broken == [StreamBroken("one two", label)]
    assert shown(items) == "one twothree four"
    assert answer_of(items) == "three four"
    retried = sent_messages(chats(api)[1])
    assert retried == [*sent_messages(chats(api)[0]), broken[0].message().to_dict()]
    assert [(w.reason, w.attempt) for w in waits(items)] == [(label, 2)]
    assert gaps(api) == [pytest.approx(0.5)]
    assert_traffic(model, requests=2, rate_limited=0, waited=0.5)


@pytest.mark.parametrize(("fault", "label"), BROKEN_STREAMS)
def test_a_stream_broken_before_any_text_is_retried_silently(
    api: FakeServer, model: ResilientModel, fault: Callable[[int], Answer], label: str
) -> None:
    api.enqueue(fault(1), WORDS)  # only the role chunk before the break

    items = ask(model)

    assert len(chats(api)) == 2
    assert not any(isinstance(item, StreamBroken) for item in items)
    assert shown(items) == "one two three four"
    assert sent_messages(chats(api)[1]) == sent_messages(chats(api)[0])
    assert [(w.reason, w.attempt) for w in waits(items)] == [(label, 2)]


def test_a_stream_broken_after_text_is_kept_even_when_that_failure_opens_the_breaker(
    api: FakeServer, model: ResilientModel
) -> None:
    api.enqueue(*Fault.times(4, Fault.server_error(503)), Fault.cut(WORDS, 3))

    error, items = failure(model, GaveUp)

    assert len(chats(api)) == 5
    assert "the API looks down" in one_line(error)
    assert shown(items) == "one two"
    assert [item for item in items if isinstance(item, StreamBroken)] == [StreamBroken("one two", "connection failed")]


@dataclass(frozen=True)
class Signalled:
    """`item`, then `done` set once the server has answered with it (and, for a close, closed the connection)."""

    item: Answer
    done: threading.Event = field(default_factory=threading.Event)

    def answer(self, exchange: Exchange) -> None:
        try:
            self.item.answer(exchange)
        finally:
            self.done.set()


def test_a_clean_close_without_done_is_kept_and_continued_on_a_new_connection(
    api: FakeServer, model: ResilientModel
) -> None:
    closing = Signalled(Fault.cut(WORDS, 3, clean=True))  # a proper end of the body, no [DONE], then the close
    api.enqueue(closing, Scripted.text("three four"))
    items: list[StreamItem] = []

    for item in model.stream([Message("user", QUESTION)], []):
        items.append(item)
        if isinstance(item, Waiting):  # the retry must not race the close: the pool then sees the socket is gone
            assert closing.done.wait(10)

    assert len(chats(api)) == 2
    assert [item for item in items if isinstance(item, StreamBroken)] == [StreamBroken("one two", "connection failed")]
    assert shown(items) == "one twothree four"
    assert [(w.reason, w.attempt) for w in waits(items)] == [("connection failed", 2)]
    assert_traffic(model, requests=2, rate_limited=0, waited=0.5)


def test_a_malformed_sse_line_is_skipped_and_the_reply_is_whole(api: FakeServer, model: ResilientModel) -> None:
    api.enqueue(Fault.malformed_sse(WORDS, 3))

    items = ask(model)

    assert answer_of(items) == "one two three four"
    assert shown(items) == "one two three four"
    assert len(chats(api)) == 1
    assert waits(items) == []


# ---- the proactive limiter ------------------------------------------------------------------------------------------


def test_low_remaining_tokens_make_the_limiter_wait_before_sending_and_no_429_comes(
    api: FakeServer, model: ResilientModel, clock: FakeClock
) -> None:
    low = RateLimit.headers(limit_tokens=10_000, remaining_tokens=50)
    api.enqueue(Scripted.text("first").with_headers(low), Scripted.text("second"))

    first = ask(model)
    second = ask(model)

    assert answer_of(first) == "first" and waits(first) == []  # the first request is never delayed
    assert answer_of(second) == "second"
    (wait,) = waits(second)
    assert (wait.reason, wait.attempt) == ("rate limit (TPM) nearly used", 1)
    assert wait.describe(5.8) == "rate limit (TPM) nearly used, sending in 5.8s"
    requests = chats(api)
    assert len(requests) == 2
    assert requests[1].at >= wait.until > requests[0].at  # the wait came before the request was sent
    assert 0 < sum(clock.sleeps) <= 60
    assert_traffic(model, requests=2, rate_limited=0, waited=sum(clock.sleeps))


@pytest.mark.parametrize("value", ["-1", "0"])
def test_unknown_rate_limit_headers_are_ignored(
    api: FakeServer, model: ResilientModel, clock: FakeClock, value: str
) -> None:
    api.enqueue(*Fault.times(5, Scripted.text("ok").with_headers(RateLimit.unknown_headers(value))))

    replies = [answer_of(ask(model)) for _ in range(5)]

    assert replies == ["ok"] * 5
    assert len(chats(api)) == 5
    assert clock.sleeps == []
    assert gaps(api) == [0.0] * 4
    assert_traffic(model, requests=5, rate_limited=0, waited=0.0)


def test_alternating_hinted_429s_and_successes_never_open_the_breaker(api: FakeServer, clock: FakeClock) -> None:
    breaker = CircuitBreaker(clock=clock)
    model = resilient(api.url, clock, breaker=breaker)
    pairs: list[tuple[Answer, Answer]] = [(RateLimit.tokens(), Scripted.text(f"ok {n}")) for n in range(12)]
    api.enqueue(*itertools.chain.from_iterable(pairs))

    replies = [answer_of(ask(model)) for _ in range(12)]

    assert replies == [f"ok {n}" for n in range(12)]
    assert len(chats(api)) == 24
    assert breaker.state is BreakerState.CLOSED and breaker.failures == 0
    assert all(gap >= 3.708 for gap in gaps(api)[::2])  # after each 429, at least its hint
    assert_traffic(model, requests=24, rate_limited=12, waited=sum(clock.sleeps))


def test_five_hinted_429s_in_a_row_do_not_open_the_breaker(api: FakeServer, clock: FakeClock) -> None:
    breaker = CircuitBreaker(clock=clock)
    model = resilient(api.url, clock, breaker=breaker)
    api.enqueue(*Fault.times(5, RateLimit.tokens()), Scripted.text("Done."))

    items = ask(model)

    assert answer_of(items) == "Done."
    assert len(chats(api)) == 6
    assert breaker.state is BreakerState.CLOSED
    assert [w.attempt for w in waits(items)] == [2, 3, 4, 5, 6]


def test_against_an_enforcing_server_a_burst_learns_the_budget_and_earns_few_or_no_429s(clock: FakeClock) -> None:
    limits = TokenLimits(tokens_per_minute=10_000, requests_per_minute=500)
    question = "x" * 8_000  # about 2,000 prompt tokens: with the completion estimate, 4 requests fill the minute
    with FakeServer(limits=limits, clock=clock) as limited:
        limited.responder = lambda request: Scripted.text("ok")
        model = resilient(limited.url, clock)

        runs = [ask(model, question) for _ in range(20)]

        assert [answer_of(items) for items in runs] == ["ok"] * 20
        assert limited.limiter is not None
        assert limited.limiter.rejected <= 1
        assert limited.limiter.admitted == 20
        assert len(chats(limited)) == 20 + limited.limiter.rejected
        assert model.traffic.rate_limited == limited.limiter.rejected
        # The budget allows the burst in (charged - 10,000) / (10,000 / 60) seconds; the limiter keeps close to it.
        minimum = (limited.limiter.tokens_charged - 10_000) * 60 / 10_000
        elapsed = chats(limited)[-1].at - chats(limited)[0].at
        assert minimum * 0.95 <= elapsed <= minimum * 1.15
        held = [wait for items in runs for wait in waits(items)]
        assert held and all(wait.reason == "rate limit (TPM) nearly used" for wait in held)


# ---- Ctrl-C ---------------------------------------------------------------------------------------------------------


def test_ctrl_c_during_a_countdown_propagates_and_sends_nothing_more(
    api: FakeServer, model: ResilientModel, clock: FakeClock
) -> None:
    api.enqueue(RateLimit.tokens(), Scripted.text("Asked again."))
    clock.ctrl_c = True
    items: list[StreamItem] = []

    with pytest.raises(KeyboardInterrupt):
        items.extend(model.stream([Message("user", QUESTION)], []))

    assert len(chats(api)) == 1
    assert [(w.reason, w.attempt) for w in waits(items)] == [("rate limited (TPM)", 2)]
    assert clock.sleeps == [pytest.approx(3.708 * JITTER)]
    assert_traffic(model, requests=1, rate_limited=1, waited=0.0)
    assert api.pending == 1

    # The session lives on: asking the same model again sends the next request at once.
    assert answer_of(ask(model)) == "Asked again."
    assert len(chats(api)) == 2
    assert gaps(api) == [0.0]


def test_ctrl_c_during_the_limiters_countdown_holds_the_request_back(
    api: FakeServer, model: ResilientModel, clock: FakeClock
) -> None:
    low = RateLimit.headers(limit_tokens=10_000, remaining_tokens=50)
    api.enqueue(Scripted.text("first").with_headers(low), Scripted.text("second"))
    ask(model)
    clock.ctrl_c = True
    items: list[StreamItem] = []

    with pytest.raises(KeyboardInterrupt):
        items.extend(model.stream([Message("user", QUESTION)], []))

    assert [(w.reason, w.attempt) for w in waits(items)] == [("rate limit (TPM) nearly used", 1)]
    assert len(chats(api)) == 1
    assert_traffic(model, requests=1, rate_limited=0, waited=0.0)


def test_ctrl_c_during_a_stream_propagates_without_a_retry(api: FakeServer, model: ResilientModel) -> None:
    api.enqueue(Scripted.text("one two three four five six seven eight", chunk_delay=0.05), Scripted.text("Again."))
    stream = model.stream([Message("user", QUESTION)], [])
    received: list[StreamItem] = []

    for item in stream:
        received.append(item)
        if isinstance(item, TextDelta):
            break
    with pytest.raises(KeyboardInterrupt):
        stream.throw(KeyboardInterrupt())

    assert shown(received) == "one"
    assert len(chats(api)) == 1
    assert model.traffic.requests == 1 and model.traffic.waited == 0.0
    assert answer_of(ask(model)) == "Again."
    assert len(chats(api)) == 2
