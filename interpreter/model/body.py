"""A request's body as the JSON bytes sent, each message's text kept from one request to the next.

The wire form of a message that did not change is the very same object from one request to the next (`kept.py`),
so its JSON text is found again by identity; and while a conversation only grows, the last request's list is the
start of this one's, so its text is taken whole and only the new messages are encoded (800 messages, 350 KB:
1.3 ms a request through json.dumps, 0.1 ms grown). Encoded as the SDK encodes a body
(`openai._utils._json.openapi_dumps`): UTF-8, no spaces, no NaN.
"""

from __future__ import annotations

import json
import operator
from collections.abc import Mapping
from typing import Any

Texts = dict[int, tuple[object, bytes]]  # id(item) -> (the item, held so that its id is not reused; its JSON text)


class BodyText:
    """Request bodies as JSON bytes, the items of their long list each encoded once (see the module docstring)."""

    def __init__(self) -> None:
        self._texts: Texts = {}
        self._items: list[object] = []  # the last request's list, in order
        self._joined = b""  # their texts, joined

    def encode(self, request: Mapping[str, Any], listed: str) -> bytes:
        """`request` as JSON bytes; each item of its list `listed` ("messages", "input") from its kept text."""
        items = list(request[listed])
        self._joined = self._grown(items) if self._starts(items) else self._anew(items)
        self._items = items
        rest = _dumps({key: value for key, value in request.items() if key != listed})
        comma = b"," if len(rest) > 2 else b""  # `{}`: nothing else in the body
        return b"".join([rest[:-1], comma, f'"{listed}":['.encode(), self._joined, b"]}"])

    def _starts(self, items: list[object]) -> bool:
        """Whether the last request's list is the start of `items`, item for item (the same objects)."""
        held = self._items
        return bool(held) and len(items) >= len(held) and all(map(operator.is_, held, items))

    def _grown(self, items: list[object]) -> bytes:
        """The last request's text with the items after it added."""
        added = [self._text(item, self._texts) for item in items[len(self._items) :]]
        return b",".join([self._joined, *added]) if added else self._joined

    def _anew(self, items: list[object]) -> bytes:
        """The text of `items`, each item's found again when it was sent before; only these are kept."""
        texts: Texts = {}
        joined = b",".join([self._text(item, texts) for item in items])
        self._texts = texts
        return joined

    def _text(self, item: object, into: Texts) -> bytes:
        """The JSON text of `item`, kept (in `into`) when it is the same object as one sent before."""
        entry = self._texts.get(id(item))
        if entry is None or entry[0] is not item:
            entry = (item, _dumps(item))
        into[id(item)] = entry
        return entry[1]


def _dumps(value: object) -> bytes:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"), allow_nan=False).encode()
