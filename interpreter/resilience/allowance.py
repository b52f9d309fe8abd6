"""The completion allowance: the tokens a request reserves for its reply in a TPM budget, learned per model.

OpenAI counts a request against its tokens-per-minute limit as its prompt plus `max_tokens` when the request sends
one, else an amount of its own, at once, before the reply is written. What it took shows in the drop of
`x-ratelimit-remaining-tokens` between two responses (the limiter measures it); less the prompt the usage reports,
that is the allowance the server charged. A server without those headers is taken at its usage's completion tokens.
(The prompt's own share of a reservation is the estimator's: `TokenEstimator.padded`.)

Before anything is learned a request reserves START, what every request reserved before this was learned: more than
the servers seen charge (OpenAI's is prompt plus a few hundred), so the first requests never earn a 429. Then the
largest of the last RECENT takes, plus MARGIN: it follows a growing charge at once (never below the last take), and
a charge that shrinks after RECENT requests.
"""

from __future__ import annotations

from collections import deque

START = 1_000
RECENT = 8  # takes remembered per model: one short reply must not shrink the reservation of the next long one
MARGIN = 8  # tokens: a take is measured on this machine's clock, off by the refill of a few milliseconds


class Allowances:
    """What each model's requests reserve for their replies, learned from what the server took."""

    def __init__(self, *, start: int = START, recent: int = RECENT, margin: int = MARGIN) -> None:
        self._start = start
        self._recent = recent
        self._margin = margin
        self._takes: dict[str, deque[int]] = {}

    def tokens(self, model: str) -> int:
        """The tokens a request to `model` reserves for its reply now."""
        takes = self._takes.get(model)
        return max(takes) + self._margin if takes else self._start

    def learn(self, model: str, taken: int) -> None:
        """Remember that the server took `taken` tokens beyond the prompt for a request to `model`."""
        self._takes.setdefault(model, deque(maxlen=self._recent)).append(max(0, taken))
