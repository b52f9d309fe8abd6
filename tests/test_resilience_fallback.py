"""The fallback chain over scripted models behind the real resilience layer, on an injected clock: no real waiting."""

from __future__ import annotations

import pytest
from fakes import FakeAdapter, FakeChatModel, FakeClock, call_reply, text_reply
from fakes import rate_limited_for as rate_limited

from interpreter.errors import ApiConnectionError, ApiError, ApiStatusError, AttemptFailed
from interpreter.messages import Message, ModelSwitched, Reply, StreamItem, TextDelta, Waiting
from interpreter.resilience.breaker import CircuitBreaker
from interpreter.resilience.fallback import BREAKER_OPEN, FallbackModel, Route
from interpreter.resilience.model import ResilientModel
from interpreter.resilience.policy import RetrySettings

TASK = [Message("user", "compute 6*7")]


def refused(status: int, code: str | None = None) -> ApiStatusError:
    return ApiStatusError(f"HTTP {status}", status=status, code=code, body={"error": {"message": "no", "code": code}})


class Chain:
    """A chain of scripted models on one fake clock, named as an adapter names them."""

    def __init__(self, *names: str, threshold: int = 5) -> None:
        self.clock = FakeClock()
        self.models = {name: FakeChatModel() for name in names}
        breaker = {name: CircuitBreaker(threshold=threshold, clock=self.clock) for name in names}
        routes = [
            Route(FakeAdapter(name), self._resilient(model, breaker[name])) for name, model in self.models.items()
        ]
        self.chain = FallbackModel(routes, after=10.0, clock=self.clock)

    def _resilient(self, model: FakeChatModel, breaker: CircuitBreaker) -> ResilientModel:
        return ResilientModel(model, breaker=breaker, clock=self.clock, sleep=self.clock.sleep, random=lambda: 0.0)

    def ask(self, messages: list[Message] = TASK) -> list[StreamItem]:
        return list(self.chain.stream(messages, []))

    def asked(self, name: str) -> int:
        return len(self.models[name].requests)


def switches(items: list[StreamItem]) -> list[ModelSwitched]:
    return [item for item in items if isinstance(item, ModelSwitched)]


def answer_of(items: list[StreamItem]) -> Message:
    reply = items[-1]
    assert isinstance(reply, Reply)
    return reply.message


def test_a_long_named_wait_moves_to_the_fallback_at_once_and_the_answer_says_who_wrote_it() -> None:
    rig = Chain("gpt-4", "gpt-4o-mini")
    rig.models["gpt-4"].enqueue(rate_limited(60))
    rig.models["gpt-4o-mini"].enqueue(text_reply("42"))

    items = rig.ask()

    [switch] = switches(items)
    assert (switch.previous, switch.model, switch.reason, switch.back) == (
        "gpt-4",
        "gpt-4o-mini",
        "rate limited (TPM)",
        False,
    )
    assert switch.seconds is not None and 60 <= switch.seconds <= 66  # the hint, and the policy's jitter on it
    assert not [item for item in items if isinstance(item, Waiting)]  # no countdown that would not happen
    assert rig.clock.sleeps == []  # nothing was sat out
    assert answer_of(items).model == "gpt-4o-mini"
    assert rig.chain.model == "gpt-4o-mini"  # the context window follows the model in use


def test_the_busy_model_is_not_asked_until_its_wait_has_passed_then_the_chain_goes_back() -> None:
    rig = Chain("gpt-4", "gpt-4o-mini")
    rig.models["gpt-4"].enqueue(rate_limited(60), text_reply("back"))
    rig.models["gpt-4o-mini"].enqueue(call_reply(("python", "print(6*7)")), text_reply("42"))
    rig.ask()

    rig.clock.advance(30)
    during = rig.ask()
    assert (rig.asked("gpt-4"), rig.asked("gpt-4o-mini")) == (1, 2)
    assert switches(during) == []  # one line when it happened, not one per request

    rig.clock.advance(40)
    after = rig.ask()
    assert (rig.asked("gpt-4"), rig.asked("gpt-4o-mini")) == (2, 2)
    assert [(s.previous, s.model, s.back) for s in switches(after)] == [("gpt-4o-mini", "gpt-4", True)]
    assert answer_of(after).model == "gpt-4"


def test_a_short_named_wait_is_sat_out_on_the_model_asked_for() -> None:
    rig = Chain("gpt-4", "gpt-4o-mini")
    rig.models["gpt-4"].enqueue(rate_limited(3.7), text_reply("42"))

    items = rig.ask()

    assert switches(items) == []
    assert [item.reason for item in items if isinstance(item, Waiting)] == ["rate limited (TPM)"]
    assert (rig.asked("gpt-4"), rig.asked("gpt-4o-mini")) == (2, 0)
    assert answer_of(items).model == "gpt-4"


def test_a_wait_longer_than_the_policy_takes_still_moves_to_the_fallback() -> None:
    rig = Chain("gpt-4", "gpt-4o-mini")
    rig.models["gpt-4"].enqueue(rate_limited(3600))  # over max_single_wait: the policy gives up at once
    rig.models["gpt-4o-mini"].enqueue(text_reply("42"))

    [switch] = switches(rig.ask())

    assert switch.seconds == pytest.approx(3600)


def test_an_open_circuit_breaker_moves_to_the_fallback_until_the_breaker_would_let_a_probe_through() -> None:
    rig = Chain("gpt-4", "local", threshold=2)
    rig.models["gpt-4"].enqueue(refused(503), refused(503))
    rig.models["local"].enqueue(text_reply("42"), text_reply("43"))

    items = rig.ask()

    [switch] = switches(items)
    assert (switch.model, switch.reason, switch.seconds) == ("local", BREAKER_OPEN, 30.0)
    assert answer_of(items).model == "local"
    rig.clock.advance(10)
    assert switches(rig.ask()) == [] and rig.asked("gpt-4") == 2  # still open: not asked


@pytest.mark.parametrize(
    "error", [refused(401, "invalid_api_key"), refused(400), refused(403)], ids=["key", "request", "forbidden"]
)
def test_what_no_other_model_fixes_never_switches(error: ApiError) -> None:
    rig = Chain("gpt-4", "gpt-4o-mini")
    rig.models["gpt-4"].enqueue(error)

    with pytest.raises(AttemptFailed):
        rig.ask()

    assert rig.asked("gpt-4o-mini") == 0


def test_a_model_not_found_gives_way_for_good() -> None:
    rig = Chain("gpt-5-turbo", "gpt-4o")
    rig.models["gpt-5-turbo"].enqueue(refused(404, "model_not_found"))
    rig.models["gpt-4o"].enqueue(text_reply("42"), text_reply("43"))

    [switch] = switches(rig.ask())
    rig.clock.advance(86_400)

    assert (switch.reason, switch.seconds) == ("not found", None)
    assert switches(rig.ask()) == [] and rig.asked("gpt-5-turbo") == 1
    assert rig.chain.fallbacks() == ["fallback models: gpt-4o", "gpt-5-turbo: not found, for good"]


def test_the_chain_moves_on_past_a_busy_fallback_and_stops_where_none_is_left() -> None:
    rig = Chain("gpt-4", "gpt-4o-mini", "local")
    rig.models["gpt-4"].enqueue(rate_limited(60))
    rig.models["gpt-4o-mini"].enqueue(rate_limited(60))
    rig.models["local"].enqueue(refused(503))  # a 503 with no free model left: retried where it is, as alone
    rig.models["local"].enqueue(text_reply("42"))

    items = rig.ask()

    assert [(s.previous, s.model) for s in switches(items)] == [("gpt-4", "gpt-4o-mini"), ("gpt-4o-mini", "local")]
    assert answer_of(items).model == "local"


def test_with_no_fallback_a_long_wait_is_waited_as_before() -> None:
    rig = Chain("gpt-4")
    rig.models["gpt-4"].enqueue(rate_limited(60), text_reply("42"))

    items = rig.ask()

    assert switches(items) == []
    assert sum(rig.clock.sleeps) >= 60
    assert rig.chain.summary() == "2 requests, 1 rate limited (429), 60.0s spent waiting"
    assert rig.chain.fallbacks() == []


def test_text_kept_from_a_broken_reply_goes_to_the_fallback_with_the_request() -> None:
    rig = Chain("gpt-4", "gpt-4o-mini")
    broken: list[StreamItem | BaseException] = [TextDelta("The answer is"), ApiConnectionError("reset")]
    rig.models["gpt-4"].enqueue(broken, rate_limited(60))
    rig.models["gpt-4o-mini"].enqueue(text_reply("42"))

    rig.ask()

    sent, _ = rig.models["gpt-4o-mini"].requests[0]
    assert sent[-1].role == "assistant" and sent[-1].content.startswith("The answer is")


def test_the_summary_counts_requests_per_model() -> None:
    rig = Chain("gpt-4", "gpt-4o-mini")
    rig.models["gpt-4"].enqueue(rate_limited(60))
    rig.models["gpt-4o-mini"].enqueue(text_reply("41"), text_reply("42"))
    rig.ask()
    rig.ask()

    assert (
        rig.chain.summary() == "3 requests, 1 rate limited (429), 0.0s spent waiting; by model: gpt-4 1, gpt-4o-mini 2"
    )
    assert rig.chain.fallbacks()[1].startswith("gpt-4: rate limited (TPM), free again in 1m0")


def test_naming_another_model_asked_for_ends_the_fallback() -> None:
    rig = Chain("gpt-4", "gpt-4o-mini")
    rig.models["gpt-4"].enqueue(rate_limited(60))
    rig.models["gpt-4o-mini"].enqueue(text_reply("41"))
    rig.ask()

    rig.chain.model = "gpt-4o"  # %model: the wait was gpt-4's, not this one's

    assert rig.chain.model == "gpt-4o"


def test_a_long_backoff_after_a_server_error_is_not_a_named_wait_and_switches_nothing() -> None:
    clock = FakeClock()
    primary, mini = FakeChatModel(), FakeChatModel()
    primary.enqueue(refused(503), text_reply("42"))
    slow = RetrySettings(backoff_base=30.0)
    routes = [
        Route(
            FakeAdapter("gpt-4"),
            ResilientModel(primary, settings=slow, clock=clock, sleep=clock.sleep, random=lambda: 1.0),
        ),
        Route(FakeAdapter("gpt-4o-mini"), ResilientModel(mini, clock=clock, sleep=clock.sleep)),
    ]

    items = list(FallbackModel(routes, after=10.0, clock=clock).stream(TASK, []))

    assert switches(items) == [] and mini.requests == []
    assert clock.sleeps == [30.0]  # a guess of ours, not the server's word: sat out on the model asked for
