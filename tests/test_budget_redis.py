"""The Redis store's own behaviour against a real redis-server: its clock, its keys, a server that goes away."""

from __future__ import annotations

import uuid
from pathlib import Path

import pytest
import redis
from redis_server import REDIS_SERVER, RedisServer, free_port

from interpreter.errors import BudgetStoreUnavailable
from interpreter.resilience.limiter import Reading
from interpreter.resilience.shared.redis import KEPT_FOR, PREFIX, RedisStore
from interpreter.resilience.shared.store import open_store

needs_redis = pytest.mark.skipif(REDIS_SERVER is None, reason="redis-server is not installed (.ci/run installs it)")


def fresh_key() -> str:
    return f"http://127.0.0.1/v1|{uuid.uuid4().hex}|gpt-4o"


def test_with_the_servers_own_clock_the_budget_refills_in_real_time(redis_url: str) -> None:
    store = RedisStore(redis_url)  # no clock given: the script reads Redis's TIME, one clock for every machine
    key = fresh_key()
    store.observe(key, "a", [Reading("tokens", 6_000_000, 0, None)])  # refills 100,000 tokens a second
    turn = store.reserve(key, "a", 1_000_000)
    assert not turn.granted and 0 < turn.wait <= 10.0
    assert store.view(key, "a").limits[0].limit == 6_000_000
    store.close()


def test_a_ledger_is_one_key_that_expires_when_unused(redis_url: str) -> None:
    key = fresh_key()
    store = RedisStore(redis_url)
    store.reserve(key, "a", 1000)
    store.close()
    with redis.Redis.from_url(redis_url) as client:
        assert 0 < client.ttl(PREFIX + key) <= KEPT_FOR


def test_the_url_opens_a_redis_store_shown_without_its_password(redis_url: str, tmp_path: Path) -> None:
    store = open_store(redis_url.replace("redis://", "redis://:s3cret@"), tmp_path)
    assert store is not None and store.where.startswith("redis://***@127.0.0.1:")
    store.close()


def test_a_server_nobody_listens_on_is_one_clear_error() -> None:
    store = RedisStore(f"redis://127.0.0.1:{free_port()}/0", timeout=1.0)
    with pytest.raises(BudgetStoreUnavailable, match=r"the shared budget at redis://127.0.0.1:\d+/0 cannot be used"):
        store.reserve(fresh_key(), "a", 1000)


@needs_redis
def test_a_server_that_goes_away_is_one_clear_error() -> None:
    with RedisServer() as server:
        store = RedisStore(server.url, timeout=1.0)
        assert store.reserve(fresh_key(), "a", 1000).granted
        server.stop()
        with pytest.raises(BudgetStoreUnavailable, match="cannot be used"):
            store.reserve(fresh_key(), "a", 1000)
