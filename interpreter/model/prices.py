"""What tokens cost: a model's prices, and a request's cost from the tokens its server says it used.

Prices are USD per million tokens, as providers publish them. Cached input (the part of a prompt the server had
cached: OpenAI's `cached_tokens`, DeepSeek's `prompt_cache_hit_tokens`) is charged at its own price where there is
one; reasoning tokens are output tokens, already counted in them, so they cost nothing more.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Final

PER: Final = 1_000_000  # prices are per this many tokens


@dataclass(frozen=True)
class Prices:
    """USD per million tokens: input, output, and cached input (None: charged as input)."""

    input: float
    output: float
    cached_input: float | None = None

    def cost(self, input_tokens: int, output_tokens: int, cached_tokens: int = 0) -> float:
        """USD for a request that used `input_tokens` (of which `cached_tokens` were cached) and `output_tokens`."""
        cached = min(max(cached_tokens, 0), input_tokens)
        cached_rate = self.input if self.cached_input is None else self.cached_input
        return ((input_tokens - cached) * self.input + cached * cached_rate + output_tokens * self.output) / PER


def published_prices(model: str, api_base: str | None = None) -> Prices | None:
    """`model`'s prices as genai-prices publishes them, today's; None when it knows none.

    The provider is the one `api_base` belongs to, else the one whose names `model` matches (a server it does not
    know, a proxy, may serve a model under its provider's name). A price that steps up past a number of tokens
    counts at its base; of prices that change over time, the one in force now.
    """
    from genai_prices import data_snapshot  # noqa: PLC0415 - ~150 ms: only once a price is needed

    snapshot = data_snapshot.get_snapshot()
    for url in dict.fromkeys((api_base, None)):
        try:
            _, info = snapshot.find_provider_model(model, None, None, url)
        except LookupError:
            continue
        return _prices(info.get_prices(datetime.now(UTC)))
    return None


def _prices(published: Any) -> Prices | None:
    """Ours from a genai-prices ModelPrice (USD per million tokens); None without an input and an output price."""
    rates = [_rate(getattr(published, name, None)) for name in ("input_mtok", "output_mtok", "cache_read_mtok")]
    if rates[0] is None or rates[1] is None:
        return None
    return Prices(rates[0], rates[1], rates[2])


def _rate(price: Any) -> float | None:
    """One price as a float: a tiered one at its base rate (tiers start far past a typical request)."""
    price = getattr(price, "base", price)
    return float(price) if price is not None else None
