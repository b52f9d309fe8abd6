"""The Redis store: sessions on several machines share one budget, each step one atomic Lua script.

The script applies the ledger's rules (see `ledger.py`; both are held to the same contract by the tests) to a
budget's ledger, kept as one JSON value that expires when no session touched it for a day. Its clock is the Redis
server's (`TIME`), one clock for every machine; tests give one of their own. A server that cannot be reached or
refuses raises BudgetStoreUnavailable: the session then limits itself alone. Imported only when a redis:// store
is chosen: redis-py costs start-up time nobody else should pay.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from typing import Any

import redis
from redis.backoff import NoBackoff
from redis.retry import Retry

from interpreter.errors import BudgetStoreUnavailable
from interpreter.resilience.limiter import LABELS, SLACK, Headroom, Reading
from interpreter.resilience.shared.ledger import ACTIVE_FOR, HELD_FOR, LEASE, RECHECK_BEHIND, Turn, View
from interpreter.trust.redaction import redact_text, redact_url

TIMEOUT = 2.0  # seconds to connect or to get an answer: a store that is slower is no help
KEPT_FOR = 86_400  # seconds a budget's ledger outlives its last use
PREFIX = "steady-interpreter:budget:"

# ARGV: op, session, now ("" for the server's clock), argument (tokens, or readings as JSON), LEASE, HELD_FOR,
# ACTIVE_FOR, KEPT_FOR, SLACK, RECHECK_BEHIND. Readings spell "unknown" as limit 0, remaining -1, reset -1 (cjson's null
# is not nil).
LEDGER_SCRIPT = """
local op, session, argument = ARGV[1], ARGV[2], ARGV[4]
local lease, held_for, active_for, kept_for = tonumber(ARGV[5]), tonumber(ARGV[6]), tonumber(ARGV[7]), ARGV[8]
local now, slack, recheck_behind = tonumber(ARGV[3]), tonumber(ARGV[9]), tonumber(ARGV[10])
if not now then
  local time = redis.call('TIME')
  now = tonumber(time[1]) + tonumber(time[2]) / 1e6
end
local ok, state = pcall(cjson.decode, redis.call('GET', KEYS[1]) or '{}')
if not ok or type(state) ~= 'table' then state = {} end
local function part(name) return type(state[name]) == 'table' and state[name] or {} end
local buckets, held, seen, queue = part('buckets'), part('held'), part('seen'), {}
local answered, applied, mark = state.answered == true, tonumber(state.applied) or 0, part('mark')
for _, bucket in pairs(buckets) do
  local at = math.max(now, bucket.at)
  bucket.level = math.min(bucket.limit, bucket.level + (at - bucket.at) * bucket.limit / 60)
  bucket.at = at
end
for _, ticket in ipairs(part('queue')) do
  if ticket.expires > now then table.insert(queue, ticket) end
end
for name, reservation in pairs(held) do
  if reservation.expires <= now then held[name], mark = nil, {} end
end
for name, at in pairs(seen) do
  if at <= now - active_for then seen[name] = nil end
end
local function others()
  local count = 0
  for name in pairs(seen) do if name ~= session then count = count + 1 end end
  return count
end
local function cost(kind, tokens) if kind == 'requests' then return 1 end return tokens end

local result = {}
if op == 'reserve' then
  local tokens = tonumber(argument)
  seen[session] = now
  local position
  for index, ticket in ipairs(queue) do if ticket.session == session then position = index end end
  if not position then
    table.insert(queue, {session = session, tokens = tokens, expires = 0})
    position = #queue
  end
  queue[position].tokens = tokens
  queue[position].expires = now + lease
  local needed = {requests = position, tokens = 0}
  for index = 1, position do needed.tokens = needed.tokens + queue[index].tokens end
  local wait, limit = 0, ''
  for kind, bucket in pairs(buckets) do
    local needs = math.max(0, needed[kind] - bucket.level - slack) * 60 / bucket.limit
    if needs > wait then wait, limit = needs, kind end
  end
  local probing = false
  if not answered then
    for name in pairs(held) do if name ~= session then probing = true end end
  end
  local never = buckets.tokens ~= nil and tokens > buckets.tokens.limit
  if probing then
    result = {granted = false, wait = recheck_behind, ahead = position - 1, others = others(), limit = ''}
  elseif wait > 0 and not (position == 1 and never) then
    result = {granted = false, wait = wait, ahead = position - 1, others = others(), limit = limit}
  else
    table.remove(queue, position)
    for kind, bucket in pairs(buckets) do bucket.level = bucket.level - cost(kind, tokens) end
    local alone = mark[1] ~= nil and next(held) == nil
    for _, reservation in pairs(held) do reservation.alone = false end
    held[session] = {tokens = tokens, expires = now + held_for, at = now, alone = alone}
    result = {granted = true, wait = 0, ahead = 0, others = others()}
  end
elseif op == 'observe' then
  seen[session] = now
  local settled = held[session]
  local alone = settled ~= nil and settled.alone == true
  held[session] = nil
  local fresh = not answered
  if settled then
    fresh = settled.at >= applied
    if fresh then
      applied = settled.at
    else
      for kind, bucket in pairs(buckets) do
        bucket.level = math.min(bucket.limit, bucket.level + cost(kind, settled.tokens))
      end
    end
  end
  answered = true
  for _, reading in ipairs(cjson.decode(argument)) do
    local bucket = buckets[reading.kind]
    if reading.limit > 0 then
      if not bucket then
        bucket = {limit = reading.limit, level = reading.limit, at = now, seen = 0}
        buckets[reading.kind] = bucket
      end
      bucket.limit = reading.limit
      bucket.level = math.min(bucket.level, reading.limit)
    end
    if bucket then
      local level
      if reading.remaining >= 0 then
        level = math.min(reading.remaining, bucket.limit)
      elseif reading.reset > 0 then
        level = math.max(0, bucket.limit - reading.reset * bucket.limit / 60)
      end
      if level and fresh then
        local in_flight = 0
        for _, reservation in pairs(held) do in_flight = in_flight + cost(reading.kind, reservation.tokens) end
        bucket.level = math.max(-bucket.limit, level - in_flight)
      end
      if fresh and reading.kind == 'tokens' then
        if alone and reading.remaining >= 0 and mark[1] ~= nil then
          local before = math.min(bucket.limit, mark[1] + math.max(0, now - mark[2]) * bucket.limit / 60)
          result = {taken = math.floor(before - reading.remaining + 0.5)}
        end
        if reading.remaining >= 0 and next(held) == nil then
          mark = {reading.remaining, settled and settled.at or now}
        else
          mark = {}
        end
      end
      bucket.seen = now
    end
  end
elseif op == 'leave' then
  local kept = {}
  for _, ticket in ipairs(queue) do if ticket.session ~= session then table.insert(kept, ticket) end end
  queue = kept
  held[session] = nil
  seen[session] = nil
elseif op == 'view' then
  local limits = {}
  for _, kind in ipairs({'requests', 'tokens'}) do
    local bucket = buckets[kind]
    if bucket then
      local level = math.max(0, math.floor(bucket.level))
      table.insert(limits, {kind = kind, limit = bucket.limit, remaining = level, age = now - bucket.seen})
    end
  end
  result = {limits = limits, others = others(), waiting = #queue}
end
state = {
  buckets = buckets, queue = queue, held = held, seen = seen, answered = answered, applied = applied, mark = mark
}
redis.call('SET', KEYS[1], cjson.encode(state), 'EX', kept_for)
return cjson.encode(result)
"""


class RedisStore:
    """Budgets kept in a Redis server; connects at first use, once (no retries: the session falls back instead)."""

    def __init__(self, url: str, *, clock: Callable[[], float] | None = None, timeout: float = TIMEOUT) -> None:
        self.where = redact_url(url)
        self._clock = clock
        options: dict[str, Any] = {"socket_timeout": timeout, "socket_connect_timeout": timeout}
        self._client = redis.Redis.from_url(url, retry=Retry(NoBackoff(), 0), **options)
        self._script = self._client.register_script(LEDGER_SCRIPT)

    def reserve(self, key: str, session: str, tokens: int) -> Turn:
        """Take a request of `tokens` tokens out of budget `key` for `session`, or keep its place in line."""
        answer = self._run("reserve", key, session, str(tokens))
        limit = LABELS.get(answer.get("limit", ""), "")
        return Turn(bool(answer["granted"]), float(answer["wait"]), int(answer["ahead"]), int(answer["others"]), limit)

    def observe(self, key: str, session: str, found: Sequence[Reading]) -> int | None:
        """Settle `session`'s reservation and set budget `key`'s levels from the server's headers; what its
        request was charged, when the ledger can tell."""
        answer = self._run("observe", key, session, json.dumps([_wire(reading) for reading in found]))
        taken = answer.get("taken")
        return None if taken is None else int(taken)

    def leave(self, key: str, session: str) -> None:
        """Forget `session` in budget `key`."""
        self._run("leave", key, session)

    def view(self, key: str, session: str) -> View:
        """Budget `key` as `session` sees it now."""
        answer = self._run("view", key, session)
        limits = tuple(
            Headroom(LABELS[found["kind"]], int(found["limit"]), int(found["remaining"]), float(found["age"]))
            for found in answer.get("limits") or []  # cjson writes an empty list as {}
        )
        return View(limits, int(answer["others"]), int(answer["waiting"]))

    def close(self) -> None:
        """Close the connections."""
        self._client.close()

    def _run(self, op: str, key: str, session: str, argument: str = "") -> dict[str, Any]:
        """One step of the script on budget `key`; its answer."""
        now = "" if self._clock is None else repr(self._clock())
        settings = [LEASE, HELD_FOR, ACTIVE_FOR, KEPT_FOR, SLACK, RECHECK_BEHIND]
        arguments: list[str | float] = [op, session, now, argument, *settings]
        try:
            answer = self._script(keys=[PREFIX + key], args=arguments)
        except redis.RedisError as exc:
            raise BudgetStoreUnavailable(
                f"the shared budget at {self.where} cannot be used: {redact_text(str(exc))}"
            ) from exc
        found: dict[str, Any] = json.loads(answer)
        return found


def _wire(reading: Reading) -> dict[str, object]:
    """A reading as the script takes it: "unknown" spelled 0 (limit) and -1 (remaining, reset)."""
    remaining = -1 if reading.remaining is None else reading.remaining
    reset = -1.0 if reading.reset is None else reading.reset
    return {"kind": reading.kind, "limit": reading.limit or 0, "remaining": remaining, "reset": reset}
