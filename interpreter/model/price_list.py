"""genai-prices' bundled snapshot, read for one model: its context window and its prices, as listed today.

genai-prices (by the pydantic team) lists about 1,400 models of some 30 providers. Importing it costs ~150 ms, so it
is imported only here, inside `listing`, which the catalogue calls off the main thread once the first request is out;
its `update_prices` (which fetches a newer list from the network) is never called. A price with tiers counts at its
base (the price below the first tier, where a session's requests are); of prices that change with the time of day
(DeepSeek's off-peak hours) the one in force at `now` counts.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from typing import TYPE_CHECKING

from interpreter.model.prices import Prices

if TYPE_CHECKING:
    from genai_prices.types import ModelInfo, TieredPrices

SOURCE = "genai-prices"


@dataclass(frozen=True)
class Listing:
    """What genai-prices lists for a model: its window and its prices, each None where it lists none."""

    window: int | None
    prices: Prices | None


def listing(model: str, api_base: str | None, *, now: datetime | None = None) -> Listing | None:
    """The listing of `model` as served at `api_base`; by the model's name alone when the endpoint is not one of
    genai-prices' providers (a proxy or a local server); None when it lists no such model."""
    from genai_prices.data_snapshot import get_snapshot  # noqa: PLC0415 - ~150 ms: only once a request is out

    snapshot = get_snapshot()
    for base in dict.fromkeys((api_base, None)):
        try:
            _provider, info = snapshot.find_provider_model(model, None, None, base)
        except LookupError:
            continue
        return Listing(info.context_window, _prices(info, now or datetime.now(UTC)))
    return None


def _prices(info: ModelInfo, now: datetime) -> Prices | None:
    """The model's prices in force at `now`; None without both an input and an output price."""
    price = info.get_prices(now)
    rates = [_base(getattr(price, name, None)) for name in ("input_mtok", "output_mtok", "cache_read_mtok")]
    if rates[0] is None or rates[1] is None:
        return None
    return Prices(rates[0], rates[1], rates[2])


def _base(rate: Decimal | TieredPrices | None) -> float | None:
    """USD per million tokens: the rate itself, or a tiered rate's base."""
    if rate is None:
        return None
    return float(rate if isinstance(rate, Decimal) else rate.base)
