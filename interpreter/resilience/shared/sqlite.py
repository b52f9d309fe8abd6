"""The default store: one SQLite file under the home, shared by every session of a person on one machine.

WAL mode, so a reader never waits for a writer; each step is one short `BEGIN IMMEDIATE` transaction (read a
budget's ledger, apply one rule, write it back), so two sessions never interleave. A file that stays locked longer
than `lock_wait`, cannot be opened, or is not a database raises BudgetStoreUnavailable: the session then limits
itself alone. SQLite releases the locks of a process that dies, even by SIGKILL, and rolls back its transaction.
"""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

from interpreter.errors import BudgetStoreUnavailable
from interpreter.resilience.limiter import Reading
from interpreter.resilience.shared.ledger import Ledger, Turn, View

LOCK_WAIT = 10.0  # seconds to wait for the lock: each step holds it a millisecond, but a crowd of sessions
# starting at once on a busy machine can keep one waiting for seconds (SQLite serves waiters in no order)
_SCHEMA = "CREATE TABLE IF NOT EXISTS ledgers (key TEXT PRIMARY KEY, state TEXT NOT NULL)"


class SqliteStore:
    """Budgets kept in one SQLite file; the connection is opened at first use and closed by `close()`."""

    def __init__(self, path: Path, *, lock_wait: float = LOCK_WAIT, clock: Callable[[], float] = time.time) -> None:
        self.path = path
        self.where = f"sqlite {path}"
        self._lock_wait = lock_wait
        self._clock = clock
        self._connection: sqlite3.Connection | None = None

    def reserve(self, key: str, session: str, tokens: int) -> Turn:
        """Take a request of `tokens` tokens out of budget `key` for `session`, or keep its place in line."""
        with self._ledger(key) as ledger:
            return ledger.reserve(session, tokens, self._clock())

    def observe(self, key: str, session: str, found: Sequence[Reading]) -> int | None:
        """Settle `session`'s reservation and set budget `key`'s levels from the server's headers; what its
        request was charged, when the ledger can tell."""
        heard = self._clock()  # before the lock, which a crowd of sessions can hold for a while: when it was heard
        with self._ledger(key) as ledger:
            return ledger.observe(session, found, heard)

    def leave(self, key: str, session: str) -> None:
        """Forget `session` in budget `key`."""
        with self._ledger(key) as ledger:
            ledger.leave(session)

    def view(self, key: str, session: str) -> View:
        """Budget `key` as `session` sees it now."""
        with self._ledger(key) as ledger:
            return ledger.view(session, self._clock())

    def close(self) -> None:
        """Close the connection, if one was opened."""
        if self._connection is not None:
            self._connection.close()
            self._connection = None

    @contextmanager
    def _ledger(self, key: str) -> Iterator[Ledger]:
        """Budget `key`'s ledger inside one write transaction, written back when the block ends without error."""
        try:
            connection = self._connect()
            connection.execute("BEGIN IMMEDIATE")  # the write lock now: no other session reads a stale ledger
            try:
                row = connection.execute("SELECT state FROM ledgers WHERE key = ?", (key,)).fetchone()
                ledger = Ledger.loads(row[0] if row else None)
                yield ledger
                connection.execute("INSERT OR REPLACE INTO ledgers (key, state) VALUES (?, ?)", (key, ledger.dumps()))
                connection.execute("COMMIT")
            finally:
                if connection.in_transaction:
                    connection.execute("ROLLBACK")
        except sqlite3.Error as exc:
            self.close()  # a damaged or replaced file is opened afresh next time
            raise BudgetStoreUnavailable(f"the shared budget file {self.path} cannot be used: {exc}") from exc

    def _connect(self) -> sqlite3.Connection:
        """The open connection, or a new one on a file set up for sharing (WAL, the table)."""
        if self._connection is None:
            try:
                self.path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
            except OSError as exc:
                raise sqlite3.OperationalError(f"cannot create {self.path.parent}: {exc.strerror}") from exc
            # isolation_level=None: transactions are begun and ended here, explicitly, and kept short.
            connection = sqlite3.connect(self.path, timeout=self._lock_wait, isolation_level=None)
            self._connection = connection
            connection.execute("PRAGMA journal_mode=WAL")
            connection.execute("PRAGMA synchronous=NORMAL")  # WAL stays consistent; a power cut may lose a step
            connection.execute(_SCHEMA)
        return self._connection
