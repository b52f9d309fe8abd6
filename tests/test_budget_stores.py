"""The shared budget's rules, held to one contract by both stores: a real SQLite file and a real redis-server.

Each test gets a budget key of its own and both stores a clock the test moves (the Redis script takes it as an
argument), so nothing here sleeps or depends on timing.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fakes import FakeClock

from interpreter.resilience.limiter import Headroom, Reading
from interpreter.resilience.shared.ledger import HELD_FOR, RECHECK_BEHIND, Turn
from interpreter.resilience.shared.redis import RedisStore
from interpreter.resilience.shared.sqlite import SqliteStore
from interpreter.resilience.shared.store import Store

# A server's word after a request: 6,000 TPM with `remaining` left, 500 RPM with 499 left.
TPM = 6_000


def said(remaining: int, limit: int = TPM) -> list[Reading]:
    return [Reading("requests", 500, 499, None), Reading("tokens", limit, remaining, None)]


def about(seconds: float) -> Any:  # Any: an approx stands where a Turn takes a float
    return pytest.approx(seconds, abs=0.01)


def served(store: Store, key: str, asking: list[str], clock: FakeClock) -> list[str]:
    """The order `asking` sessions get their turn, asking every second, the last first (for two minutes at most)."""
    order: list[str] = []
    for _ in range(120):
        if not asking:
            break
        clock.advance(1.0)
        for name in reversed(asking):
            if store.reserve(key, name, 1000).granted:
                order.append(name)
                asking.remove(name)
    return order


@pytest.fixture(params=["sqlite", "redis"])
def store(request: pytest.FixtureRequest, tmp_path: Path, clock: FakeClock) -> Iterator[Store]:
    found: Store
    if request.param == "sqlite":
        found = SqliteStore(tmp_path / "budget.sqlite3", clock=clock)
    else:
        found = RedisStore(request.getfixturevalue("redis_url"), clock=clock)
    yield found
    found.close()


@pytest.fixture
def key() -> str:
    return f"http://127.0.0.1/v1|{uuid.uuid4().hex}|gpt-4o"


def test_before_any_answer_one_request_goes_and_the_others_wait_for_what_it_says(store: Store, key: str) -> None:
    assert store.reserve(key, "a", 50_000).granted  # the first request of all is never held back
    assert store.reserve(key, "b", 50_000) == Turn(False, RECHECK_BEHIND, 0, 1)
    store.observe(key, "a", [])  # a server that sends no rate-limit headers: nothing limits anyone
    assert store.reserve(key, "b", 50_000).granted
    assert store.reserve(key, "c", 50_000).granted


def test_what_one_session_learned_holds_back_another(store: Store, key: str) -> None:
    store.reserve(key, "a", 1000)
    store.observe(key, "a", said(remaining=500))
    turn = store.reserve(key, "b", 1000)
    assert turn == Turn(False, about(5.0), 0, 1, "TPM")  # 500 tokens short at 100 a second; one other session


def test_the_budget_refills_at_the_servers_rate(store: Store, key: str, clock: FakeClock) -> None:
    store.observe(key, "a", said(remaining=0))
    assert not store.reserve(key, "a", 1000).granted
    clock.advance(10.0)
    assert store.reserve(key, "a", 1000).granted


def test_sessions_are_served_in_the_order_they_asked(store: Store, key: str, clock: FakeClock) -> None:
    store.observe(key, "first", said(remaining=0))
    names = ["first", "second", "third", "fourth"]
    waits = [store.reserve(key, name, 1000).wait for name in names]
    assert waits == [about(10.0), about(20.0), about(30.0), about(40.0)]
    assert served(store, key, names, clock) == ["first", "second", "third", "fourth"]


def test_a_later_session_goes_first_only_when_there_is_room_for_those_before_it_too(store: Store, key: str) -> None:
    store.observe(key, "a", said(remaining=3000))
    store.observe(key, "a", said(remaining=3000))
    assert not store.reserve(key, "big", 4000).granted
    assert store.reserve(key, "small", 1000).wait == about(20.0)  # 5,000 needed in all, 3,000 there


def test_a_place_in_line_lapses_when_its_session_stops_asking(store: Store, key: str, clock: FakeClock) -> None:
    store.observe(key, "dead", said(remaining=0))
    store.reserve(key, "dead", 1000)  # then killed: it never asks again
    store.reserve(key, "alive", 1000)
    assert served(store, key, ["alive"], clock) == ["alive"]  # the dead one's place ran out: no wait for it
    assert clock.now - 1000.0 == about(10.0)  # the time its own 1,000 tokens take, not the dead one's as well


def test_headers_count_what_other_sessions_have_in_flight(store: Store, key: str) -> None:
    store.observe(key, "a", said(remaining=TPM))
    assert store.reserve(key, "a", 1000).granted
    assert store.reserve(key, "b", 2000).granted  # sent; its response has not come back yet
    store.observe(key, "a", said(remaining=5000))  # the server has not counted b's request yet
    assert store.view(key, "a").limits[1] == Headroom("TPM", TPM, 3000, 0.0)
    store.observe(key, "b", said(remaining=3000))  # b's own answer settles its reservation
    assert store.view(key, "a").limits[1].remaining == 3000


def test_headers_older_than_those_already_heard_set_nothing(store: Store, key: str, clock: FakeClock) -> None:
    store.observe(key, "a", said(remaining=TPM))
    assert store.reserve(key, "early", 1000).granted
    clock.advance(0.5)
    assert store.reserve(key, "late", 1000).granted
    store.observe(key, "late", said(remaining=4000))  # counts both requests: the server saw "early" first
    store.observe(key, "early", said(remaining=5000))  # arrives last, but says how things stood before "late"
    assert store.view(key, "a").limits[1].remaining == 4000


def test_a_reservation_never_settled_stops_counting(store: Store, key: str, clock: FakeClock) -> None:
    store.observe(key, "a", said(remaining=TPM))
    store.reserve(key, "killed", 2000)  # killed mid-request: no headers will settle it
    clock.advance(HELD_FOR + 1)
    store.reserve(key, "a", 1000)
    store.observe(key, "a", said(remaining=5000))
    assert store.view(key, "a").limits[1].remaining == 5000


def test_the_view_counts_other_sessions_and_those_waiting(store: Store, key: str) -> None:
    store.observe(key, "a", said(remaining=0))
    store.reserve(key, "b", 1000)
    store.reserve(key, "c", 1000)
    view = store.view(key, "a")
    assert (view.others, view.waiting) == (2, 2)
    store.leave(key, "b")
    view = store.view(key, "a")
    assert (view.others, view.waiting) == (1, 1)


def test_a_request_larger_than_the_limit_is_not_held_back_forever(store: Store, key: str) -> None:
    store.observe(key, "a", said(remaining=6000))
    assert store.reserve(key, "a", 7000).granted  # no wait can make it fit: the server's refusal says so best


def test_budgets_of_different_keys_are_apart(store: Store, key: str) -> None:
    store.observe(key, "a", said(remaining=0))
    assert store.reserve(f"{key}-mini", "a", 1000).granted


def test_a_request_alone_in_flight_is_told_what_the_server_charged_it(store: Store, key: str, clock: FakeClock) -> None:
    assert store.observe(key, "a", said(remaining=5000)) is None  # the mark: what was left, nothing in flight
    assert store.reserve(key, "a", 1000).granted
    clock.advance(1.0)  # 100 tokens refilled meanwhile
    assert store.observe(key, "a", said(remaining=4400)) == 700
    assert store.reserve(key, "a", 1000).granted
    clock.advance(1.0)
    # The refill counts from the grant of the request that said 4,400 (the server charged it later, unseen): on a
    # busy machine a charge may look larger than it was, never smaller.
    assert store.observe(key, "a", said(remaining=3800)) == 800


def test_requests_in_flight_together_are_told_no_charge(store: Store, key: str) -> None:
    store.observe(key, "a", said(remaining=TPM))
    assert store.reserve(key, "a", 1000).granted
    assert store.reserve(key, "b", 1000).granted
    assert store.observe(key, "a", said(remaining=4000)) is None  # the drop holds b's charge as well
    assert store.observe(key, "b", said(remaining=4000)) is None
    assert store.reserve(key, "a", 1000).granted  # alone again: b's answer left a mark with nothing in flight
    assert store.observe(key, "a", said(remaining=3000)) == 1000


def test_an_unsettled_reservation_still_lapses_after_ten_seconds(store: Store, key: str, clock: FakeClock) -> None:
    store.observe(key, "a", said(remaining=TPM))
    assert store.reserve(key, "killed", 3000).granted  # killed mid-request: no headers will settle it
    clock.advance(9.9)
    assert store.reserve(key, "a", 100).granted
    assert store.observe(key, "a", said(remaining=5900)) is None  # "killed" may have been charged meanwhile
    assert store.view(key, "a").limits[1].remaining == 2900  # still held: the server may not have counted it yet
    clock.advance(0.2)
    assert store.reserve(key, "a", 100).granted
    assert store.observe(key, "a", said(remaining=5800)) is None  # when "killed" was charged, nobody can tell
    assert store.view(key, "a").limits[1].remaining == 5800  # ten seconds on, it counts no more
    assert store.reserve(key, "a", 100).granted
    assert store.observe(key, "a", said(remaining=5700)) == 100
