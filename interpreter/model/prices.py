"""What tokens cost: a model's prices, and a request's cost from the tokens its server says it used.

Prices are USD per million tokens, as providers publish them. Cached input (the part of a prompt the server had
cached: OpenAI's `cached_tokens`, DeepSeek's `prompt_cache_hit_tokens`) is charged at its own price where there is
one; reasoning tokens are output tokens, already counted in them, so they cost nothing more.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

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
