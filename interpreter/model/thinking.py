"""A reply's reasoning told apart from its answer: a leading `<think>…</think>` block streamed as content."""

from __future__ import annotations

from enum import Enum

OPEN, CLOSE = "<think>", "</think>"

Piece = tuple[bool, str]
"""Some streamed text: (whether it is reasoning, the text)."""


class _State(Enum):
    START = "start"  # nothing but blanks yet: the reply may still open with <think>
    THINKING = "thinking"  # inside the block
    AFTER = "after"  # the block ended: the blank lines that follow it are dropped
    ANSWER = "answer"


class ThinkSplitter:
    """Splits streamed content into reasoning and answer, whatever the chunks cut (tags included).

    Only a block that opens the reply counts (LM Studio and Ollama stream reasoning models' thoughts so): a
    `<think>` later in an answer is the answer's own text.
    """

    def __init__(self) -> None:
        self._state = _State.START
        self._held = ""  # text that cannot be placed until more arrives (a tag cut short)

    def feed(self, text: str) -> list[Piece]:
        """The pieces `text` completes."""
        held, self._held = self._held + text, ""
        if self._state is _State.START:
            held = self._start(held)
        if self._state is _State.THINKING:
            return self._thinking(held)
        if self._state is _State.AFTER:
            held = held.lstrip()
            self._state = _State.ANSWER if held else _State.AFTER
        return [(False, held)] if held else []

    def flush(self) -> list[Piece]:
        """Whatever was held back, once the stream has ended."""
        held, self._held = self._held, ""
        return [(self._state is _State.THINKING, held)] if held else []

    def _start(self, held: str) -> str:
        """Decide from the first non-blank text whether the reply opens with <think>; the text left to place."""
        stripped = held.lstrip()
        if stripped.startswith(OPEN):
            self._state = _State.THINKING
            return stripped[len(OPEN) :]
        if OPEN.startswith(stripped):  # blanks, or part of the tag: wait for more
            self._held = held
            return ""
        self._state = _State.ANSWER
        return held

    def _thinking(self, held: str) -> list[Piece]:
        """Text inside the block: reasoning up to </think>, the answer after it."""
        end = held.find(CLOSE)
        if end < 0:
            keep = _tag_start(held)
            self._held = held[len(held) - keep :]
            thought = held[: len(held) - keep]
            return [(True, thought)] if thought else []
        self._state = _State.AFTER
        pieces: list[Piece] = [(True, held[:end])] if end else []
        return pieces + self.feed(held[end + len(CLOSE) :])


def _tag_start(text: str) -> int:
    """How many characters at the end of `text` could begin </think>."""
    for size in range(min(len(CLOSE) - 1, len(text)), 0, -1):
        if CLOSE.startswith(text[-size:]):
            return size
    return 0
