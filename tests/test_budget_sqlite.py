"""The SQLite store's own troubles: a damaged file, a file locked too long, a home it cannot write; and the key."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest
from fakes import FakeClock

from interpreter.errors import BudgetStoreUnavailable
from interpreter.resilience.limiter import Reading
from interpreter.resilience.shared.sqlite import SqliteStore
from interpreter.resilience.shared.store import BUDGET_FILE, budget_key, open_store

KEY = "http://127.0.0.1/v1|0123456789abcdef|gpt-4o"


def test_a_file_that_is_not_a_database_is_one_clear_error(tmp_path: Path) -> None:
    path = tmp_path / "budget.sqlite3"
    path.write_bytes(b"this is not a database, it was overwritten by mistake\n" * 100)
    with pytest.raises(
        BudgetStoreUnavailable, match=rf"the shared budget file {path} cannot be used: .*not a database"
    ):
        SqliteStore(path).reserve(KEY, "a", 1000)


def test_a_file_locked_too_long_is_one_clear_error(tmp_path: Path) -> None:
    path = tmp_path / "budget.sqlite3"
    SqliteStore(path).reserve(KEY, "a", 1000)
    holder = sqlite3.connect(path, isolation_level=None)
    holder.execute("BEGIN EXCLUSIVE")  # another process stuck inside a transaction
    try:
        with pytest.raises(BudgetStoreUnavailable, match="database is locked"):
            SqliteStore(path, lock_wait=0.1).reserve(KEY, "b", 1000)
    finally:
        holder.execute("ROLLBACK")
        holder.close()


def test_a_home_that_cannot_hold_the_file_is_one_clear_error(tmp_path: Path) -> None:
    (tmp_path / "home").write_text("a file where the home should be")
    with pytest.raises(BudgetStoreUnavailable, match="cannot create"):
        SqliteStore(tmp_path / "home" / BUDGET_FILE).reserve(KEY, "a", 1000)


def test_a_damaged_ledger_starts_afresh_instead_of_failing(tmp_path: Path, clock: FakeClock) -> None:
    store = SqliteStore(tmp_path / "budget.sqlite3", clock=clock)
    store.observe(KEY, "a", [Reading("tokens", 6000, 0, None)])
    with sqlite3.connect(tmp_path / "budget.sqlite3") as other:
        other.execute("UPDATE ledgers SET state = '{\"buckets\": [1, 2'")
    assert store.reserve(KEY, "a", 1000).granted  # what it knew is gone; the server's next headers teach it again


def test_the_file_holds_a_hash_of_the_key_never_the_key(tmp_path: Path) -> None:
    secret = "sk-proj-abcdefghijklmnopqrstuvwxyz0123456789"
    store = open_store("sqlite", tmp_path)
    assert store is not None
    store.observe(budget_key("https://api.openai.com/v1", secret, "gpt-4o"), "a", [Reading("tokens", 6000, 10, None)])
    store.close()
    stored = b"".join(path.read_bytes() for path in tmp_path.iterdir())
    assert b"api.openai.com" in stored
    assert secret.encode() not in stored and secret[-8:].encode() not in stored


def test_off_opens_no_store(tmp_path: Path) -> None:
    assert open_store("off", tmp_path) is None
    assert not any(tmp_path.iterdir())
