"""Failures on the Responses API, end to end: the resilient model over the Responses adapter, the real SDK and real
HTTP, against the fake server's imitation. Each is treated as the same failure over Chat Completions is: a wait named
only in a `response.failed` event's words is waited out, quota is final, a server error is retried, an overflow is
the context layer's, a cut stream is kept and continued. One injected clock moves only when the model sleeps.
"""

from __future__ import annotations

import itertools

import pytest
from fake_server import FakeServer, Fault, RateLimit, RecordedRequest, TokenLimits, stream_failure
from fake_server import Reply as Scripted
from fakes import FakeClock

from interpreter.errors import AttemptFailed, ContextTooLong
from interpreter.messages import Message, Reply, StreamBroken, StreamItem, TextDelta, Waiting
from interpreter.model.responses import OpenAIResponsesModel
from interpreter.resilience.model import ResilientModel

JITTER = 1.05  # random() is 0.5 and the jitter 10%: a hint of h seconds is waited as 1.05 h
WORDS = Scripted.text("one two three four")
OVERFLOW = (
    "Your input exceeds the context window of this model. This model's maximum context length is 400000 tokens. "
    "However, your messages resulted in 412345 tokens."
)


@pytest.fixture
def model(api: FakeServer, clock: FakeClock) -> ResilientModel:
    inner = OpenAIResponsesModel(model="gpt-5.1-codex", api_base=api.url, api_key="x", idle_timeout=5.0)
    return ResilientModel(inner, clock=clock, sleep=clock.sleep, random=lambda: 0.5)


def ask(model: ResilientModel) -> list[StreamItem]:
    return list(model.stream([Message("user", "What is 6*7?")], []))


def sent(server: FakeServer) -> list[RecordedRequest]:
    requests = [request for request in server.requests if request.method == "POST"]
    assert all(request.path == "/v1/responses" for request in requests)
    return requests


def gaps(server: FakeServer) -> list[float]:
    return [later.at - earlier.at for earlier, later in itertools.pairwise(sent(server))]


def answer_of(items: list[StreamItem]) -> str:
    assert isinstance(items[-1], Reply), items[-1]
    return items[-1].message.content


@pytest.mark.parametrize("standalone", [False, True], ids=["response.failed", "error-event"])
def test_a_rate_limit_inside_the_stream_is_waited_out_for_the_wait_its_words_name(
    api: FakeServer, model: ResilientModel, clock: FakeClock, standalone: bool
) -> None:
    api.enqueue(RateLimit.in_stream("11.054s", standalone=standalone), Scripted.text("Done."))

    items = ask(model)

    assert answer_of(items) == "Done."
    assert len(sent(api)) == 2
    assert clock.sleeps and sum(clock.sleeps) == pytest.approx(11.054 * JITTER)
    assert gaps(api) == [pytest.approx(11.054 * JITTER)]
    (wait,) = [item for item in items if isinstance(item, Waiting)]
    assert (wait.reason, wait.attempt, wait.named) == ("rate limited", 2, True)


def test_a_429_over_http_is_waited_out_for_its_hint(api: FakeServer, model: ResilientModel) -> None:
    api.enqueue(RateLimit.tokens(), Scripted.text("Done."))
    assert answer_of(ask(model)) == "Done."
    assert gaps(api) == [pytest.approx(3.708 * JITTER)]


def test_no_quota_inside_the_stream_is_final_after_one_request(
    api: FakeServer, model: ResilientModel, clock: FakeClock
) -> None:
    api.enqueue(RateLimit.quota_in_stream(), Scripted.text("never sent"))
    with pytest.raises(AttemptFailed) as caught:
        ask(model)
    assert len(sent(api)) == 1 and clock.sleeps == []
    assert str(caught.value).startswith("the account has no credit left (insufficient_quota)")
    assert "\n" not in str(caught.value)


def test_a_server_error_inside_the_stream_is_retried(api: FakeServer, model: ResilientModel) -> None:
    api.enqueue(stream_failure("server_error", "The server had an error processing your request."), WORDS)
    assert answer_of(ask(model)) == "one two three four"
    assert len(sent(api)) == 2


def test_an_overflow_inside_the_stream_is_the_context_layers_to_trim(api: FakeServer, model: ResilientModel) -> None:
    api.enqueue(stream_failure("context_length_exceeded", OVERFLOW))
    with pytest.raises(ContextTooLong) as caught:
        ask(model)
    assert len(sent(api)) == 1
    assert caught.value.verdict.context_window == 400_000


def test_an_overflow_over_http_is_the_context_layers_too(api: FakeServer, model: ResilientModel) -> None:
    api.enqueue(Fault.context_length_exceeded())
    with pytest.raises(ContextTooLong):
        ask(model)


def test_a_stream_cut_after_text_keeps_it_and_continues(api: FakeServer, model: ResilientModel) -> None:
    # created, in_progress, the message's added and part events, then two words: cut there, never completed
    api.enqueue(Fault.cut(WORDS, 6), Scripted.text("three four"))

    items = ask(model)

    assert [item for item in items if isinstance(item, StreamBroken)] == [StreamBroken("one two", "connection failed")]
    assert "".join(item.text for item in items if isinstance(item, TextDelta)) == "one twothree four"
    assert answer_of(items) == "three four"
    retried = sent(api)[1].body
    assert retried is not None
    assert retried["input"][-1] == {
        "type": "message",
        "role": "assistant",
        "content": StreamBroken("one two", "connection failed").message().content,
    }


def test_the_enforcing_server_counts_responses_requests(clock: FakeClock) -> None:
    with FakeServer(clock=clock, limits=TokenLimits(tokens_per_minute=10_000)) as server:
        inner = OpenAIResponsesModel(model="gpt-5.1-codex", api_base=server.url, api_key="x")
        model = ResilientModel(inner, clock=clock, sleep=clock.sleep, random=lambda: 0.5)
        ask(model)
        ask(model)
        assert server.limiter is not None
        assert (server.limiter.admitted, server.limiter.rejected) == (2, 0)
        # each is charged its input ("user", "input_text", "What is 6*7?": 26 characters, 7 tokens) + 256 for output
        assert server.limiter.tokens_charged == 2 * (7 + 256)
