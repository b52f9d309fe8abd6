"""The shared budget as a value: its buckets, the queue of sessions waiting their turn, the reservations in flight.

A store loads the Ledger of a budget, applies one rule (reserve, observe, leave) and writes it back, all in one
transaction; the Redis store runs the same rules as a Lua script (`redis.LEDGER_SCRIPT`, tested against the same
contract). Times are seconds on the store's clock.

- reserve: a session takes a place at the back of the queue (or keeps its own). It goes when what every session
  before it and itself need fits in the buckets: first come, first served, and nobody starves. A place is kept
  only while its session keeps asking (LEASE): the place of a session killed while waiting is gone within seconds.
- observe: the server's headers set the levels, less what other sessions reserved and have not yet heard back
  about (the server has not counted those yet); the session's own reservation is settled. Headers of a request
  granted before the one whose headers last set the levels are older news: they set nothing, and the reservation
  they settle (which those newer headers took for one still in flight) is given back.
- Before any answer has come back, nobody knows the limits: one request goes out, and the others wait for what
  its answer says (a crowd starting at once would otherwise all go, and all but the first few earn a 429).
- A reservation nobody settles (its session died mid-request) stops counting after HELD_FOR seconds.
- What a request was charged: the drop of the remaining tokens from the mark (what the server said when nothing
  else was in flight) to its own headers, refill counted; told only when nothing else was in flight meanwhile
  (`Held.alone`), so that the drop is its charge alone and the sessions can learn what to reserve. The refill is
  counted from the grant of the request whose headers set the mark (before the server charged it) to when these
  headers were heard (after): a busy machine's delays can make the charge look larger, never smaller.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable
from dataclasses import asdict, dataclass, field

from interpreter.resilience.limiter import LABELS, SLACK, Bucket, Headroom, Reading

LEASE = 5.0  # seconds a place in the queue is kept without its session asking again (it asks every second or less)
RECHECK = 0.25  # the first in line asks again at least this often: it sees a settled reservation soon
RECHECK_BEHIND = 1.0  # the others ask less often: a crowd asking four times a second can keep the store busy
HELD_FOR = 10.0  # seconds an unsettled reservation counts: a request's headers come back long before
ACTIVE_FOR = 60.0  # seconds a session counts as sharing the budget after it last used it


@dataclass
class Ticket:
    """A session's place in the queue: what it asks for, and until when the place is kept."""

    session: str
    tokens: int
    expires: float


@dataclass
class Held:
    """A reservation in flight: tokens taken (at `at`) by a request whose response has not come back yet."""

    tokens: int
    expires: float
    at: float = 0.0
    alone: bool = False  # granted after a mark, nothing else in flight since: its headers tell its charge


@dataclass(frozen=True)
class Turn:
    """The answer to a reservation: `granted`, or wait about `wait` seconds, for `limit` ("TPM"), behind `ahead`."""

    granted: bool
    wait: float = 0.0
    ahead: int = 0
    others: int = 0  # other sessions that used the budget lately
    limit: str = ""


@dataclass(frozen=True)
class View:
    """The shared state as one session sees it: the buckets refilled to now, other sessions, sessions waiting."""

    limits: tuple[Headroom, ...] = ()
    others: int = 0
    waiting: int = 0


@dataclass
class Ledger:
    """Everything the sessions sharing one budget know together."""

    buckets: dict[str, Bucket] = field(default_factory=dict)
    queue: list[Ticket] = field(default_factory=list)
    held: dict[str, Held] = field(default_factory=dict)
    seen: dict[str, float] = field(default_factory=dict)
    answered: bool = False  # whether any response came back: until then nobody knows the limits
    applied: float = 0.0  # when the request was granted whose headers last set the levels
    mark: list[float] = field(default_factory=list)  # [remaining tokens, when] said with nothing in flight

    @classmethod
    def loads(cls, text: str | None) -> Ledger:
        """The ledger stored as `text`; a fresh one for nothing or for text that is not a ledger (never fatal)."""
        try:
            data = json.loads(text) if text else {}
            return cls(
                {kind: Bucket(**bucket) for kind, bucket in (data.get("buckets") or {}).items()},
                [Ticket(**ticket) for ticket in data.get("queue") or []],  # Lua's cjson writes an empty list as {}
                {session: Held(**held) for session, held in (data.get("held") or {}).items()},
                dict(data.get("seen") or {}),
                bool(data.get("answered")),
                float(data.get("applied") or 0.0),
                [float(value) for value in data.get("mark") or []],
            )
        except (ValueError, TypeError, AttributeError):  # a damaged ledger costs what it knew, nothing more
            return cls()

    def dumps(self) -> str:
        """The ledger as the text a store keeps."""
        return json.dumps(asdict(self), separators=(",", ":"))

    def reserve(self, session: str, tokens: int, now: float) -> Turn:
        """Let `session` send a request of `tokens` tokens now (taking them), or keep its place and say how long."""
        self._tidy(now)
        self.seen[session] = now
        ticket = self._ticket(session, tokens, now)
        position = self.queue.index(ticket)
        needed = {"requests": position + 1, "tokens": sum(t.tokens for t in self.queue[: position + 1])}
        if not self.answered and any(other != session for other in self.held):
            return Turn(False, RECHECK_BEHIND, position, self._others(session))  # the first answer tells the limits
        waits = {kind: self._wait(bucket, needed[kind]) for kind, bucket in self.buckets.items()}
        kind = max(waits, key=lambda found: waits[found], default="")
        if kind and waits[kind] > 0 and not (position == 0 and self._never_fits(tokens)):
            return Turn(False, waits[kind], position, self._others(session), LABELS[kind])
        self._take(ticket, now)
        return Turn(True, 0.0, 0, self._others(session))

    def observe(self, session: str, found: Iterable[Reading], now: float) -> int | None:
        """Settle `session`'s reservation and set the levels from what the server's headers said; the tokens its
        request was charged, when nothing else was in flight since the mark."""
        self._tidy(now)
        self.seen[session] = now
        mine = self.held.get(session)
        fresh = self._settle(session)
        self.answered = True
        taken = None
        for reading in found:
            bucket = self._learn(reading, now)
            if bucket is None:
                continue
            level = reading.level(bucket.limit)
            if fresh and level is not None:
                in_flight = sum(_cost(reading.kind, held.tokens) for held in self.held.values())
                bucket.level = max(-bucket.limit, level - in_flight)
            if fresh and reading.kind == "tokens":
                taken = self._charged(bucket, reading.remaining, now) if mine and mine.alone else None
                granted = mine.at if mine else now
                self.mark = [] if reading.remaining is None or self.held else [reading.remaining, granted]
            bucket.seen = now
        return taken

    def leave(self, session: str) -> None:
        """Forget `session`: its place in the queue, its reservation, its share."""
        self.queue = [ticket for ticket in self.queue if ticket.session != session]
        self.held.pop(session, None)
        self.seen.pop(session, None)

    def view(self, session: str, now: float) -> View:
        """What `session` is shown of the shared state."""
        self._tidy(now)
        limits = tuple(
            Headroom(LABELS[kind], bucket.limit, max(0, int(bucket.level)), now - bucket.seen)
            for kind, bucket in sorted(self.buckets.items())
        )
        return View(limits, self._others(session), len(self.queue))

    def _tidy(self, now: float) -> None:
        """Refill the buckets to now; drop lapsed places, stale reservations and sessions long gone."""
        for bucket in self.buckets.values():
            bucket.refill(max(now, bucket.at))  # a clock a little behind another's must not drain the bucket
        self.queue = [ticket for ticket in self.queue if ticket.expires > now]
        kept = {session: held for session, held in self.held.items() if held.expires > now}
        if len(kept) < len(self.held):  # a request lapsed: when, or whether, the server counted it is unknown
            self.mark = []
        self.held = kept
        self.seen = {session: at for session, at in self.seen.items() if at > now - ACTIVE_FOR}

    def _take(self, ticket: Ticket, now: float) -> None:
        """Serve `ticket`: out of the queue, its tokens out of the buckets and held until its headers settle them."""
        self.queue.remove(ticket)
        for kind, bucket in self.buckets.items():
            bucket.level -= _cost(kind, ticket.tokens)
        alone = bool(self.mark) and not self.held
        for held in self.held.values():  # its drop will hold this request's charge too
            held.alone = False
        self.held[ticket.session] = Held(ticket.tokens, now + HELD_FOR, now, alone)

    def _settle(self, session: str) -> bool:
        """Settle `session`'s reservation; whether its headers are the newest news, to set the levels by."""
        settled = self.held.pop(session, None)
        if settled is None:  # it lapsed (a request long out) or none was made: news only to a budget knowing nothing
            return not self.answered
        if settled.at >= self.applied:
            self.applied = settled.at
            return True
        for kind, bucket in self.buckets.items():  # newer headers took it for in flight; the server had seen it
            bucket.level = min(bucket.limit, bucket.level + _cost(kind, settled.tokens))
        return False

    def _ticket(self, session: str, tokens: int, now: float) -> Ticket:
        """`session`'s place in the queue, renewed, or a new one at the back."""
        ticket = next((ticket for ticket in self.queue if ticket.session == session), None)
        if ticket is None:
            ticket = Ticket(session, tokens, 0.0)
            self.queue.append(ticket)
        ticket.tokens = tokens
        ticket.expires = now + LEASE
        return ticket

    def _never_fits(self, tokens: int) -> bool:
        """Whether a request is larger than a limit: no wait helps, the server's refusal says so best."""
        return any(tokens > bucket.limit for kind, bucket in self.buckets.items() if kind == "tokens")

    def _learn(self, reading: Reading, now: float) -> Bucket | None:
        """The bucket `reading` speaks of, created or resized when it gives a limit; None if none is known."""
        bucket = self.buckets.get(reading.kind)
        if reading.limit is None:
            return bucket
        if bucket is None:
            bucket = self.buckets[reading.kind] = Bucket(reading.limit, float(reading.limit), now)
        bucket.limit = reading.limit
        bucket.level = min(bucket.level, reading.limit)
        return bucket

    def _charged(self, bucket: Bucket, remaining: int | None, now: float) -> int | None:
        """The drop from the mark, refilled to `now`, to `remaining`: what the one request in between was charged."""
        if remaining is None or not self.mark:
            return None
        level, at = self.mark
        refill = max(0.0, now - at) * bucket.limit / 60  # a clock a little behind another's refills nothing
        return math.floor(min(bucket.limit, level + refill) - remaining + 0.5)

    def _others(self, session: str) -> int:
        """How many other sessions used the budget lately."""
        return sum(1 for other in self.seen if other != session)

    @staticmethod
    def _wait(bucket: Bucket, needed: int) -> float:
        """Seconds until `needed` fits in `bucket`, at its refill rate."""
        return max(0.0, needed - bucket.level - SLACK) * 60 / bucket.limit


def _cost(kind: str, tokens: int) -> int:
    """What a request of `tokens` tokens takes from the bucket of `kind`."""
    return 1 if kind == "requests" else tokens
