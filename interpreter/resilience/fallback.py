"""The fallback chain: another model while the one asked for is rate limited or down, and back once its wait passes.

A chain is the model asked for, then the fallbacks in order; each is a Route, its adapter wrapped in a
ResilientModel of its own. A request goes to the first route that is not busy. A route becomes busy, and the
request moves on to the next free one, when

- it is about to wait longer than `after` seconds for a wait the server named or its rate limits predict: the wait
  is not sat out (its stream is left at the countdown), and the route stays busy until that wait would have ended;
- its circuit breaker is open (the server looks down): busy until the breaker lets a probe through;
- it was refused for good for what another model may not be refused for (out of credit or quota, a per-day limit,
  a model not found, a request over its tokens-per-minute limit): busy for the wait the server named, else for good.

Never for what no other model fixes: a refused key, a bad request, a conversation too long. With no free route to
move to, the route in use goes on as it would alone (it waits, or fails with its own line). The first request after
a busy route's wait has passed goes back to it. Each change of model is one ModelSwitched item. Messages go to each
route as they are, and its adapter puts them in that server's form (`wire.py`).
"""

from __future__ import annotations

import dataclasses
import logging
import math
import time
from collections import Counter
from collections.abc import Callable, Generator, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from interpreter.errors import ApiError, AttemptFailed, GaveUp
from interpreter.messages import Message, ModelSwitched, Reply, StreamBroken, StreamItem, Waiting
from interpreter.model.context import Named
from interpreter.resilience.classify import classify
from interpreter.resilience.diagnostics import LOGGER_NAME
from interpreter.resilience.durations import format_wait
from interpreter.resilience.limiter import Headroom
from interpreter.resilience.model import ResilientModel, Traffic

BREAKER_OPEN = "down (circuit breaker open)"


@dataclass(frozen=True)
class Route:
    """One model of the chain: its adapter (which knows the model's name), the resilient model wrapping that adapter,
    and the profile whose endpoint and key it uses when not the session's own."""

    chat: Named
    model: ResilientModel
    profile: str | None = None

    @property
    def name(self) -> str:
        """The model's name, as requests name it."""
        return self.chat.model

    @property
    def label(self) -> str:
        """The model as lines name it: `llama3 (profile local)` for one on another endpoint."""
        return f"{self.name} (profile {self.profile})" if self.profile else self.name


@dataclass(frozen=True)
class Busy:
    """A route not to be asked, for `reason`, until `until` (the chain's clock; inf: for good) while named `name`."""

    name: str
    until: float
    reason: str


class FallbackModel:
    """A ChatModel over a chain of routes: the first free one answers; see the module docstring for when one is busy."""

    def __init__(self, routes: Sequence[Route], *, after: float, clock: Callable[[], float] = time.monotonic) -> None:
        if not routes:
            raise ValueError("a fallback chain needs at least the model asked for")
        self._routes = list(routes)
        self._after = after
        self._clock = clock
        self._busy: dict[int, Busy] = {}
        self._current = 0
        self._sent: Counter[str] = Counter()  # requests sent, by the label of the model they named
        self._switches = 0
        self._log = logging.getLogger(f"{LOGGER_NAME}.api")

    @property
    def model(self) -> str:
        """The model the next request goes to; setting it names the model asked for (`%model`)."""
        return self._routes[self._pick()].name

    @model.setter
    def model(self, name: str) -> None:
        self._routes[0].chat.model = name

    @property
    def traffic(self) -> Traffic:
        """What every route's requests cost, together."""
        total = Traffic()
        for route in self._routes:
            for field in dataclasses.fields(Traffic):
                setattr(total, field.name, getattr(total, field.name) + getattr(route.model.traffic, field.name))
        return total

    def headroom(self) -> list[Headroom]:
        """The rate limits of the model in use, as its last response's headers left them."""
        return self._routes[self._current].model.headroom()

    def sharing(self) -> str:
        """Who shares the rate-limit budget of the model in use."""
        return self._routes[self._current].model.sharing()

    def close(self) -> None:
        """Leave every model's shared rate-limit budget."""
        for route in self._routes:
            route.model.close()

    def summary(self) -> str:
        """The session's last line when it waited, was rate limited or used a fallback; "" otherwise."""
        total = self.traffic
        if not (total.rate_limited or total.waited or self._switches):
            return ""
        used = [f"{label} {count}" for label, count in self._sent.items() if count]
        return f"{total.summary()}; by model: {', '.join(used)}" if len(used) > 1 else total.summary()

    def fallbacks(self) -> list[str]:
        """What `%model` adds: the fallbacks in order, and each model now busy with why; [] when none are set."""
        if len(self._routes) == 1:
            return []
        lines = [f"fallback models: {', '.join(route.label for route in self._routes[1:])}"]
        for index, route in enumerate(self._routes):
            if (busy := self._held(index)) is not None:
                lines.append(f"{route.label}: {busy.reason}, {_until(busy.until - self._clock())}")
        return lines

    def stream(self, messages: Sequence[Message], tools: Sequence[dict[str, Any]]) -> Iterator[StreamItem]:
        """Stream one reply from the first free model, moving down the chain while one is busy."""
        request = list(messages)
        index = self._pick()
        if index != self._current:
            yield self._switch(index)
        tried = {index}
        while (gave_way := (yield from self._through(index, request, tools, tried))) is not None:
            self._busy[index], index = gave_way
            tried.add(index)
            yield self._switch(index)

    def _through(
        self, index: int, request: list[Message], tools: Sequence[dict[str, Any]], tried: set[int]
    ) -> Generator[StreamItem, None, tuple[Busy, int] | None]:
        """One route's stream, passed on; (why it is busy, the route to try next) when it gives way to another."""
        route = self._routes[index]
        sent = route.model.traffic.requests
        items = route.model.stream(request, tools)
        try:
            for item in items:
                busy = self._too_long(route, item) if isinstance(item, Waiting) else None
                if busy is not None and (following := self._next_free(tried)) is not None:
                    return busy, following
                if isinstance(item, StreamBroken):
                    request.append(item.message())  # the kept text goes to the next route too, as to a retry
                yield _signed(item, route.name) if isinstance(item, Reply) else item
        except ApiError as error:
            busy = self._refused(route, error)
            if busy is None or (following := self._next_free(tried)) is None:
                raise
            self._log.warning("%s gives way to a fallback: %s", route.label, error)
            return busy, following
        finally:
            items.close()  # a wait given up is never slept
            self._sent[route.label] += route.model.traffic.requests - sent
        return None

    def _too_long(self, route: Route, wait: Waiting) -> Busy | None:
        """Busy until the end of `wait`, when the server named it or the limits predict it, and it is too long."""
        if wait.named and wait.until - self._clock() > self._after:
            return Busy(route.name, wait.until, wait.reason)
        return None

    def _refused(self, route: Route, error: ApiError) -> Busy | None:
        """How long `route` is busy after `error`: breaker open, a long named wait, a refusal of the model itself."""
        now = self._clock()
        if (down := route.model.unavailable_for()) > 0:
            return Busy(route.name, now + down, BREAKER_OPEN)
        cause = error.error if isinstance(error, AttemptFailed | GaveUp) and error.error is not None else error
        verdict = classify(cause)
        named = verdict.hint.seconds if verdict.hint is not None else None
        if verdict.another_model:
            return Busy(route.name, now + named if named is not None else math.inf, verdict.label)
        if verdict.retry and named is not None and named > self._after:
            return Busy(route.name, now + named, verdict.label)
        return None

    def _held(self, index: int) -> Busy | None:
        """Why route `index` may not be asked now; None when it is free."""
        route = self._routes[index]
        if (down := route.model.unavailable_for()) > 0:
            return Busy(route.name, self._clock() + down, BREAKER_OPEN)
        busy = self._busy.get(index)
        if busy is None or busy.name != route.name or busy.until <= self._clock():
            return None  # `%model` named another model, or the wait has passed
        return busy

    def _next_free(self, tried: set[int]) -> int | None:
        """The first free route not yet tried for this request."""
        return next((i for i in range(len(self._routes)) if i not in tried and self._held(i) is None), None)

    def _pick(self) -> int:
        """The route the next request goes to: the first free one; with none free, the one in use goes on."""
        following = self._next_free(set())
        return self._current if following is None else following

    def _switch(self, index: int) -> ModelSwitched:
        """Move to route `index`, and the item that says so."""
        previous, self._current = self._current, index
        self._switches += 1
        back = index < previous
        busy = None if back else self._held(previous)
        seconds = busy.until - self._clock() if busy is not None and math.isfinite(busy.until) else None
        reason = busy.reason if busy is not None else ""
        event = ModelSwitched(self._routes[previous].label, self._routes[index].label, reason, seconds, back=back)
        self._log.warning("model switched: %s -> %s (%s)", event.previous, event.model, event.reason or "back")
        return event


def _signed(reply: Reply, model: str) -> Reply:
    """`reply` with its message marked as written by `model` (the saved conversation keeps that)."""
    return Reply(dataclasses.replace(reply.message, model=model), reply.finish_reason)


def _until(left: float) -> str:
    """ "for good", or "free again in 43s"."""
    return "for good" if math.isinf(left) else f"free again in {format_wait(left)}"
