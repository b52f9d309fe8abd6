"""Where the shared budget is kept: the Store protocol, the store a setting opens, the key a budget is filed under."""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from pathlib import Path
from typing import Protocol

from interpreter.resilience.limiter import Reading
from interpreter.resilience.shared.ledger import Turn, View
from interpreter.resilience.shared.setting import OFF, SQLITE
from interpreter.trust.redaction import redact_url

BUDGET_FILE = "budget.sqlite3"


class Store(Protocol):
    """A place where sessions keep the ledgers of the budgets they share; each call is one atomic step."""

    where: str  # what the person is shown: "sqlite /home/…/budget.sqlite3", "redis://host:6379/0"

    def reserve(self, key: str, session: str, tokens: int) -> Turn:
        """Take a request of `tokens` tokens out of budget `key` for `session`, or keep its place in line."""
        ...

    def observe(self, key: str, session: str, found: Sequence[Reading]) -> int | None:
        """Settle `session`'s reservation and set budget `key`'s levels from the server's headers; what its
        request was charged, when nothing else was in flight meanwhile (`Ledger.observe`)."""
        ...

    def leave(self, key: str, session: str) -> None:
        """Forget `session` in budget `key`."""
        ...

    def view(self, key: str, session: str) -> View:
        """Budget `key` as `session` sees it now."""
        ...

    def close(self) -> None:
        """Let go of the file or connection."""
        ...


def open_store(setting: str, home: Path | None) -> Store | None:
    """The store the setting names, not opened yet; None for `off`, and for `sqlite` when `home` cannot be written."""
    if setting == OFF:
        return None
    if setting != SQLITE:
        from interpreter.resilience.shared.redis import RedisStore  # noqa: PLC0415 - redis-py only when chosen

        return RedisStore(setting)
    if home is None:  # the session said already that nothing is kept there: the budget is not either
        return None
    from interpreter.resilience.shared.sqlite import SqliteStore  # noqa: PLC0415 - sqlite3 only when used

    return SqliteStore(home / BUDGET_FILE)


def budget_key(api_base: str, api_key: str, model: str) -> str:
    """What a rate limit belongs to: the endpoint, the key, the model; stored, so credentials only as a hash.

    The endpoint is kept redacted (readable in the store), and hashed whole with the key: two accounts on one
    server, told apart only by a password or key in the URL, keep budgets of their own.
    """
    base = api_base.rstrip("/")
    digest = hashlib.sha256(f"{base}\n{api_key}".encode()).hexdigest()[:16]
    return f"{redact_url(base)}|{digest}|{model}"
