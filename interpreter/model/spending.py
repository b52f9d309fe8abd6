"""What a session spends on its models: each request priced from its usage, the totals, and the cap (`--max-cost`).

A request's cost is its usage at the prices of the model that answered (a fallback counts its own). The cap is the
person's limit on what one task may spend: before each request, what the task has spent plus what the request is
expected to cost must stay within it, or the request is not sent.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Final

from interpreter.errors import ConfigError, CostCapReached
from interpreter.messages import Usage
from interpreter.model.prices import Prices
from interpreter.ui.words import counted, dollars

# The completion a request is expected to take, in tokens, before the model has written one this session (a short
# answer or a code cell). After that, the longest completion that model has written this session: the replies of a
# task are much alike. A reply far longer than any before can still take the task a little past the cap; no cap
# short of sending max_tokens could promise more.
EXPECTED_COMPLETION: Final = 256


@dataclass
class Total:
    """Requests, tokens and USD added up; which tokens were estimated, which models had no known price."""

    requests: int = 0
    tokens: int = 0
    cost: float = 0.0  # USD, of the requests whose price is known
    priced: int = 0  # requests whose price is known
    estimated: bool = False  # some request reported no usage: its tokens are estimates
    unpriced: set[str] = field(default_factory=set)

    def add(self, usage: Usage) -> None:
        """Count one request, priced (its `cost` None when the model's price is not known)."""
        self.requests += 1
        self.tokens += usage.tokens
        self.estimated |= usage.estimated
        if usage.cost is None:
            self.unpriced.add(usage.model)
        else:
            self.cost += usage.cost
            self.priced += 1

    def unanswered(self) -> None:
        """Count one request that failed (a 429, a cut stream): sent, so counted as the traffic summary counts it,
        its tokens unknown."""
        self.requests += 1

    def line(self) -> str:
        """ "6 requests · 48,210 tokens · $0.13", with ≈ before estimated tokens and the models with no price."""
        tokens = f"{'≈' if self.estimated else ''}{self.tokens:,} tokens"
        parts = [counted(self.requests, "request"), tokens]
        if self.priced or not self.unpriced:
            parts.append(dollars(self.cost))
        if self.unpriced:
            parts.append(f"no price known for {', '.join(sorted(self.unpriced))}")
        return " · ".join(parts)


class Spending:
    """The session's and the current task's totals, the prices of each model, and the cap."""

    def __init__(self, prices: Callable[[str], Prices | None], *, cap: float | None = None) -> None:
        self.session = Total()
        self.task = Total()
        self.cap = cap
        self._lookup = prices
        self._longest: dict[str, int] = {}  # the longest completion each model has written, in tokens

    def prices(self, model: str) -> Prices | None:
        """`model`'s prices; None when none are known. Asked each time: a server's own prices, which come after
        genai-prices' (the catalogue's order), take over once it has answered."""
        return self._lookup(model)

    def begin_task(self) -> None:
        """A new task starts: the cap counts from nothing again."""
        self.task = Total()

    def enforceable(self, model: str) -> None:
        """ConfigError when a cap is set and `model` has no known price: the cap could not be kept."""
        if self.cap is not None:
            self._capped(model)

    def check(self, model: str, prompt_tokens: int) -> None:
        """CostCapReached when a request to `model` with about `prompt_tokens` would take the task past the cap."""
        if self.cap is None:
            return
        completion = self._longest.get(model, EXPECTED_COMPLETION)
        expected = self._capped(model).cost(prompt_tokens, completion)
        if self.task.cost + expected > self.cap:
            raise CostCapReached(
                f"stopped at --max-cost {dollars(self.cap)}: this task has spent {dollars(self.task.cost)}, "
                f"and the next request would cost about {dollars(expected)} (not sent)"
            )

    def spend(self, model: str, usage: Usage) -> Usage:
        """`usage` of a request `model` answered, priced and counted."""
        prices = self.prices(model)
        cost = (
            None if prices is None else prices.cost(usage.prompt_tokens, usage.completion_tokens, usage.cached_tokens)
        )
        priced = dataclasses.replace(usage, model=model, cost=cost)
        self._longest[model] = max(self._longest.get(model, 0), usage.completion_tokens)
        self.session.add(priced)
        self.task.add(priced)
        return priced

    def unanswered(self) -> None:
        """Count a request that failed before it was answered."""
        self.session.unanswered()
        self.task.unanswered()

    def _capped(self, model: str) -> Prices:
        """`model`'s prices, which a cap needs; ConfigError when none are known."""
        prices = self.prices(model)
        if prices is None:
            raise ConfigError(
                f"--max-cost cannot be kept: no price is known for {model}; set input_price and output_price in a "
                f'[models."{model}"] table of the settings file, or drop --max-cost'
            )
        return prices
