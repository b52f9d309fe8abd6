"""What a request makes of each message, kept from one request to the next: its wire form, an output shortened to fit
the context window.

A message never changes (a frozen value; %undo, trimming and a loaded conversation make new ones), so what was made
of it is found again by its identity, for as long as what else it was made from (the server, say) is the same. Only what
the last request met is kept: memory follows the conversation sent, and a message left out is let go.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable
from typing import Generic, TypeVar

from interpreter.messages import Message

T = TypeVar("T")
K = TypeVar("K", bound=Hashable)


class Kept(Generic[T]):
    """Values made from messages, each found again by the message's identity and a key; see the module docstring."""

    def __init__(self) -> None:
        # id(message) -> (the message, held so that its id is not reused; the key; the value)
        self._last: dict[int, tuple[Message, Hashable, T]] = {}
        self._now: dict[int, tuple[Message, Hashable, T]] = {}

    def get(self, message: Message, key: K, make: Callable[[Message, K], T]) -> T:
        """The value `make(message, key)` made: kept from the last request, else made now."""
        entry = self._last.get(id(message)) or self._now.get(id(message))
        if entry is None or entry[0] is not message or entry[1] != key:
            entry = (message, key, make(message, key))
        self._now[id(message)] = entry
        return entry[2]

    def request_done(self) -> None:
        """A request was built: keep what it met, let the rest go."""
        self._last, self._now = self._now, {}
