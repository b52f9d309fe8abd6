"""Small wording helpers shared by every layer that talks to the person."""

from __future__ import annotations


def counted(number: int, noun: str) -> str:
    """`1 request`, `2 requests` (for nouns that take an s; `1,200 tokens` with thousands separated)."""
    return f"{number:,} {noun}{'' if number == 1 else 's'}"


def dollars(usd: float) -> str:
    """USD as people read it: "$0.13"; a sum under a cent to four places, "$0.0042", so it does not show as $0.00."""
    if usd >= 0.01 or usd == 0:
        return f"${usd:,.2f}"
    if usd < 0.0001:
        return "<$0.0001"
    return f"${usd:.4f}".rstrip("0")
