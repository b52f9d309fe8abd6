"""What a request reserves for its reply: learned from what the fake server (charging as OpenAI does) really took.

The server and the client share one injected clock: nothing sleeps, and the refill between two responses is exact.
Each test reads the reservations the limiter was asked for beside what the server charged each request.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path

import pytest
from fake_server import FakeServer, TokenLimits, prompt_tokens, requested_tokens
from fakes import FakeClock

from interpreter.messages import Message, Reply
from interpreter.model.llm import OpenAIChatModel
from interpreter.resilience.allowance import Allowances
from interpreter.resilience.limiter import Headroom, Hold, Limiter, RateLimiter, Reading
from interpreter.resilience.model import ResilientModel
from interpreter.resilience.shared.budget import SharedLimiter
from interpreter.resilience.shared.ledger import Turn, View
from interpreter.resilience.shared.redis import RedisStore
from interpreter.resilience.shared.sqlite import SqliteStore
from interpreter.resilience.shared.store import Store

PROMPT = "x" * 3_000  # about 750 prompt tokens: with the 256 the server adds, about 1,000 a request
OVER = 16  # tokens a learned reservation may exceed the charge: the margin (8) and the prompt estimate's rounding


class Recorded:
    """A limiter that records every reservation it is asked for, then asks `inner`."""

    def __init__(self, inner: Limiter) -> None:
        self.inner = inner
        self.asked: list[int] = []

    def reserve(self, tokens: int) -> Hold | None:
        self.asked.append(tokens)
        return self.inner.reserve(tokens)

    def observe(self, headers: Mapping[str, str]) -> int | None:
        return self.inner.observe(headers)

    def headroom(self) -> list[Headroom]:
        return self.inner.headroom()

    def sharing(self) -> str:
        return self.inner.sharing()

    def close(self) -> None:
        self.inner.close()


class RecordedStore:
    """A store that records what each reservation asks of the shared budget, then asks `inner`."""

    def __init__(self, inner: Store) -> None:
        self.inner = inner
        self.where = inner.where
        self.asked: list[int] = []

    def reserve(self, key: str, session: str, tokens: int) -> Turn:
        self.asked.append(tokens)
        return self.inner.reserve(key, session, tokens)

    def observe(self, key: str, session: str, found: Sequence[Reading]) -> int | None:
        return self.inner.observe(key, session, found)

    def leave(self, key: str, session: str) -> None:
        self.inner.leave(key, session)

    def view(self, key: str, session: str) -> View:
        return self.inner.view(key, session)

    def close(self) -> None:
        self.inner.close()


@pytest.fixture
def server(clock: FakeClock) -> Iterator[FakeServer]:
    with FakeServer(limits=TokenLimits(tokens_per_minute=10_000), clock=clock) as running:
        yield running


def client(
    server: FakeServer, clock: FakeClock, limiter: Limiter, allowances: Allowances | None = None
) -> ResilientModel:
    inner = OpenAIChatModel(model="gpt-4o", api_base=server.url, api_key="sk-test")
    return ResilientModel(
        inner, limiter=limiter, clock=clock, sleep=clock.sleep, allowances=allowances, model_name=lambda: "gpt-4o"
    )


def ask(model: ResilientModel, tasks: range) -> list[Reply]:
    replies = []
    for number in tasks:
        *_, reply = model.stream([Message("user", f"task {number:02d}: {PROMPT}")], [])
        assert isinstance(reply, Reply)
        replies.append(reply)
    return replies


def over(asked: list[int], server: FakeServer, charges: list[int] | None = None) -> list[int]:
    """What each reservation asked beyond what the server charged its request (256 beyond the prompt, or `charges`)."""
    beyond = charges or [256] * len(asked)
    charged = [requested_tokens(request, extra) for request, extra in zip(server.requests, beyond, strict=True)]
    return [tokens - charge for tokens, charge in zip(asked, charged, strict=True)]


def test_after_two_requests_the_reservation_is_within_16_tokens_of_what_the_server_charges(
    server: FakeServer, clock: FakeClock
) -> None:
    limiter = Recorded(RateLimiter(clock))
    ask(client(server, clock, limiter), range(8))
    assert requested_tokens(server.requests[0]) - prompt_tokens(server.requests[0]) == 256  # OpenAI's own estimate
    first, second, *learned = over(limiter.asked, server)
    assert first > 700 and second > 700  # 1,000 reserved where 256 was charged: nothing is learned yet
    assert all(0 <= extra <= OVER for extra in learned), learned
    assert server.limiter is not None and server.limiter.rejected == 0


def test_a_server_whose_charge_grows_is_followed_at_once(server: FakeServer, clock: FakeClock) -> None:
    limiter = Recorded(RateLimiter(clock))
    model = client(server, clock, limiter)
    ask(model, range(4))
    assert server.limiter is not None
    server.limiter.limits = dataclasses.replace(server.limiter.limits, completion_estimate=2_000)
    clock.advance(60)  # a full bucket: the request charged more than it reserved still fits
    ask(model, range(4, 7))
    *_, short, grown, again = over(limiter.asked, server, [256] * 4 + [2_000] * 3)
    assert short == pytest.approx(256 - 2_000, abs=OVER)  # the first dearer request reserved what came before
    assert 0 <= grown <= OVER and 0 <= again <= OVER  # from its answer on, the new charge is reserved
    assert server.limiter.rejected == 0


def test_without_rate_limit_headers_the_reply_s_usage_is_what_is_reserved(clock: FakeClock) -> None:
    allowances = Allowances()
    with FakeServer(clock=clock) as plain:
        plain.headers = {}  # a server that sends no x-ratelimit-* headers: only its usage says what a reply took
        assert allowances.tokens("gpt-4o") == 1_000
        (reply,) = ask(client(plain, clock, RateLimiter(clock), allowances), range(1))
    assert allowances.tokens("gpt-4o") == math.ceil(len(reply.message.content) / 4) + 8  # its usage, the margin on top
    assert allowances.tokens("gpt-4o-mini") == 1_000  # learned per model


@pytest.mark.parametrize("kind", ["sqlite", "redis"])
def test_the_shared_budget_reserves_the_learned_allowance(
    kind: str, server: FakeServer, clock: FakeClock, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    opened: Store
    if kind == "sqlite":
        opened = SqliteStore(tmp_path / "budget.sqlite3", clock=clock)
    else:
        opened = RedisStore(request.getfixturevalue("redis_url"), clock=clock)
    store = RecordedStore(opened)
    key = f"{server.url}|{kind}|{tmp_path.name}|gpt-4o"
    shared = SharedLimiter(store, lambda: key, local=RateLimiter(clock), say=pytest.fail)
    ask(client(server, clock, shared), range(6))
    shared.close()
    first, second, *learned = over(store.asked, server)
    assert first > 700 and second > 700
    assert all(0 <= extra <= OVER for extra in learned), learned
