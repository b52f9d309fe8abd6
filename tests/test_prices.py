"""A request's cost from its usage and a model's prices: the arithmetic the usage events and the cost cap rest on."""

from __future__ import annotations

import pytest

from interpreter.model.prices import Prices

GPT_4O = Prices(input=2.50, output=10.00, cached_input=1.25)  # USD per million tokens, OpenAI's published prices


def test_a_request_costs_its_input_and_output_at_their_prices() -> None:
    assert GPT_4O.cost(1_000, 500) == pytest.approx(0.0025 + 0.005)


def test_cached_input_is_charged_at_its_own_price() -> None:
    # 1,000 prompt tokens, 800 of them cached: 200 at $2.50/M, 800 at $1.25/M.
    assert GPT_4O.cost(1_000, 0, cached_tokens=800) == pytest.approx(0.0005 + 0.001)


def test_without_a_cached_price_cached_input_costs_as_input() -> None:
    assert Prices(input=2.0, output=6.0).cost(1_000, 0, cached_tokens=800) == pytest.approx(0.002)


def test_more_cached_tokens_than_input_tokens_never_makes_a_request_cheaper_than_all_cached() -> None:
    assert GPT_4O.cost(100, 0, cached_tokens=5_000) == pytest.approx(100 * 1.25 / 1_000_000)
