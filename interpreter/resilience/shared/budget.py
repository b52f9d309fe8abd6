"""SharedLimiter: the limiter of a session whose rate-limit budget other sessions share through a store.

Every request takes its turn from the store (sessions are served in the order they asked); every response's headers
go back to it. A local RateLimiter learns the same headers all along: when the store cannot be used, the session
says so in one line and limits itself alone with what it learned, for the rest of the session.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable, Mapping
from typing import TypeVar

from interpreter.errors import BudgetStoreUnavailable
from interpreter.resilience.diagnostics import LOGGER_NAME
from interpreter.resilience.limiter import Headroom, Hold, RateLimiter, readings
from interpreter.resilience.shared.ledger import RECHECK, RECHECK_BEHIND, Turn
from interpreter.resilience.shared.store import Store
from interpreter.ui.words import counted

SHARED_REASON = "waiting for the shared budget"
T = TypeVar("T")


class SharedLimiter:
    """A Limiter over a Store, for budget `key()` (the model may change); falls back to `local` when the store fails."""

    def __init__(
        self,
        store: Store,
        key: Callable[[], str],
        *,
        local: RateLimiter,
        say: Callable[[str], None],
        session: str | None = None,
    ) -> None:
        self._store: Store | None = store
        self._where = store.where
        self._key = key
        self._local = local
        self._say = say
        self._session = session or uuid.uuid4().hex
        self._log = logging.getLogger(f"{LOGGER_NAME}.api")

    def reserve(self, tokens: int) -> Hold | None:
        """Take a request of `tokens` tokens out of the shared budget, or say how long to hold it back."""
        turn = self._shared(lambda store: store.reserve(self._key(), self._session, tokens))
        if turn is None:
            return self._local.reserve(tokens)
        if turn.granted:
            self._local.spend(tokens)
            return None
        return Hold(turn.wait, min(turn.wait, RECHECK if turn.ahead == 0 else RECHECK_BEHIND), _reason(turn))

    def observe(self, headers: Mapping[str, str]) -> int | None:
        """Learn from a response's headers, here and in the store (which settles this session's reservation); what
        the request was charged, as the store tells it (the local count sees none of the other sessions' requests)."""
        taken = self._local.observe(headers)
        found = readings(headers)
        shared = self._shared(lambda store: store.observe(self._key(), self._session, found))
        return taken if self._store is None else shared

    def headroom(self) -> list[Headroom]:
        """The shared limits refilled to now; this session's own when the store is not used."""
        view = self._shared(lambda store: store.view(self._key(), self._session))
        return list(view.limits) if view is not None and view.limits else self._local.headroom()

    def sharing(self) -> str:
        """`sqlite /…/budget.sqlite3: 2 other sessions, 1 waiting`, or why this session limits itself alone."""
        view = self._shared(lambda store: store.view(self._key(), self._session))
        if view is None:
            return f"{self._where} cannot be used: this session limits itself alone"
        waiting = f", {view.waiting} waiting" if view.waiting else ""
        return f"{self._where}: {counted(view.others, 'other session')}{waiting}"

    def close(self) -> None:
        """Leave the shared budget (this session's place and reservation go) and close the store."""
        self._shared(lambda store: store.leave(self._key(), self._session))
        if self._store is not None:
            self._store.close()
            self._store = None

    def _shared(self, step: Callable[[Store], T]) -> T | None:
        """`step` on the store; None once the store has failed (said once, then the session limits itself)."""
        if self._store is None:
            return None
        try:
            return step(self._store)
        except BudgetStoreUnavailable as exc:
            self._store.close()
            self._store = None
            self._log.warning("%s", exc)
            self._say(f"{exc}; this session limits its own requests from now on")
            return None


def _reason(turn: Turn) -> str:
    """`waiting for the shared budget · 3 other sessions`; a session alone hears what it always did."""
    if not turn.others:
        return f"rate limit ({turn.limit}) nearly used"
    return f"{SHARED_REASON} · {counted(turn.others, 'other session')}"
