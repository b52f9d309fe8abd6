"""A session over the shared budget: the resilient model with a SharedLimiter on a real SQLite file, clock injected.

Another session is played by a second store on the same file: what it reserves, this session must wait for.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest
from fakes import FakeAdapter, FakeChatModel, FakeClock

from interpreter.messages import Message, Reply, ResponseHeaders, StreamItem, TextDelta, Waiting
from interpreter.resilience.fallback import FallbackModel, Route
from interpreter.resilience.limiter import RateLimiter, Reading
from interpreter.resilience.model import ResilientModel
from interpreter.resilience.policy import RetrySettings
from interpreter.resilience.shared.budget import SharedLimiter
from interpreter.resilience.shared.sqlite import SqliteStore

KEY = "http://127.0.0.1/v1|0123456789abcdef|gpt-4o"
HEADERS = {"x-ratelimit-limit-tokens": "6000", "x-ratelimit-remaining-tokens": "5000"}


def answer(text: str = "Done.", headers: dict[str, str] = HEADERS) -> list[StreamItem | BaseException]:
    return [ResponseHeaders(headers), TextDelta(text), Reply(Message("assistant", text), "stop")]


class Rig:
    """This session's model and limiter, the file they share with `other` (a second session), what was said."""

    def __init__(self, tmp_path: Path, clock: FakeClock, *, attempts: int = 6) -> None:
        store = SqliteStore(tmp_path / "budget.sqlite3", clock=clock, lock_wait=0.05)
        self.path = tmp_path / "budget.sqlite3"
        self.said: list[str] = []
        self.inner = FakeChatModel()
        self.limiter = SharedLimiter(store, lambda: KEY, local=RateLimiter(clock), say=self.said.append)
        settings = RetrySettings(max_attempts=attempts)
        self.model = ResilientModel(self.inner, settings=settings, limiter=self.limiter, clock=clock, sleep=clock.sleep)
        self.other = SqliteStore(self.path, clock=clock)

    def ask(self, headers: dict[str, str] = HEADERS) -> list[StreamItem]:
        self.inner.enqueue(answer(headers=headers))
        return list(self.model.stream([Message("user", "hi")], []))


@pytest.fixture
def rig(tmp_path: Path, clock: FakeClock) -> Rig:
    return Rig(tmp_path, clock)


def test_a_wait_for_the_shared_budget_says_why_and_who_else_shares_it(rig: Rig) -> None:
    rig.other.observe(KEY, "other", [Reading("tokens", 6000, 0, None)])  # the other session used it all up
    items = rig.ask()
    waits = [item for item in items if isinstance(item, Waiting)]
    assert [wait.reason for wait in waits] == ["waiting for the shared budget · 1 other session"]
    assert items[-1] == Reply(Message("assistant", "Done."), "stop")


def test_a_session_alone_hears_which_limit_holds_it_back(rig: Rig) -> None:
    rig.ask({"x-ratelimit-limit-tokens": "6000", "x-ratelimit-remaining-tokens": "1"})  # 0 would mean "unknown"
    waits = [item for item in rig.ask() if isinstance(item, Waiting)]
    assert [wait.reason for wait in waits] == ["rate limit (TPM) nearly used"]


def test_waiting_for_the_shared_budget_uses_up_no_attempt(tmp_path: Path, clock: FakeClock) -> None:
    rig = Rig(tmp_path, clock, attempts=1)  # --max-retries 0: a single failure would end the request
    rig.other.observe(KEY, "other", [Reading("tokens", 6000, 0, None)])
    items = rig.ask()
    assert isinstance(items[-1], Reply) and len(rig.inner.requests) == 1
    assert sum(clock.sleeps) >= 9.99 and len(clock.sleeps) > 1  # ten seconds of refill for 1,000 tokens, asking often


def test_what_this_session_learns_reaches_the_others(rig: Rig) -> None:
    rig.ask()
    assert not rig.other.reserve(KEY, "other", 6000).granted  # the response said 5,000 left; ours is settled


def test_a_store_locked_too_long_is_said_once_and_the_session_limits_itself(rig: Rig, clock: FakeClock) -> None:
    rig.ask()  # the local limiter learns the limits meanwhile
    holder = sqlite3.connect(rig.path, isolation_level=None)
    holder.execute("BEGIN IMMEDIATE")  # another process stuck inside a transaction, for good
    rig.limiter.observe({"x-ratelimit-limit-tokens": "6000", "x-ratelimit-remaining-tokens": "1"})
    rig.ask()
    rig.ask()
    holder.close()
    assert len(rig.said) == 1 and rig.said[0].endswith("; this session limits its own requests from now on")
    assert f"the shared budget file {rig.path} cannot be used: database is locked" in rig.said[0]
    assert rig.limiter.sharing().endswith("cannot be used: this session limits itself alone")
    assert clock.sleeps  # limiting itself: it waited for its own bucket to refill


def test_the_shared_state_is_shown(rig: Rig) -> None:
    rig.ask()
    rig.other.reserve(KEY, "other", 1000)
    rig.other.observe(KEY, "other", [Reading("tokens", 6000, 1, None)])
    rig.other.reserve(KEY, "other", 1000)
    assert rig.limiter.sharing() == f"sqlite {rig.path}: 1 other session, 1 waiting"
    assert [(limit.label, limit.remaining) for limit in rig.model.headroom()] == [("TPM", 1)]


def test_closing_the_model_chain_leaves_the_budget(rig: Rig) -> None:
    rig.ask()
    assert rig.other.view(KEY, "other").others == 1
    FallbackModel([Route(FakeAdapter("gpt-4o"), rig.model)], after=10.0).close()  # as a session ends
    assert rig.other.view(KEY, "other").others == 0
