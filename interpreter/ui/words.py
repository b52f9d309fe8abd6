"""Small wording helpers shared by every layer that talks to the person."""

from __future__ import annotations


def counted(number: int, noun: str) -> str:
    """`1 request`, `2 requests` (for nouns that take an s; `1,200 tokens` with thousands separated)."""
    return f"{number:,} {noun}{'' if number == 1 else 's'}"
