"""Thoughts: the model's reasoning while it streams, until the answer begins; both renderers keep one."""

from __future__ import annotations

from collections.abc import Callable

from interpreter.ui.labels import duration

TAIL_CHARS = 1_000  # of the reasoning, the end the live rows can show (a few rows; a redraw stays cheap)


class Thoughts:
    """Reasoning streaming in: since when, and what it says (the whole text is kept for --verbose)."""

    def __init__(self, clock: Callable[[], float]) -> None:
        self._clock = clock
        self._since: float | None = None
        self._text: list[str] = []
        self._tail = ""

    def add(self, text: str) -> None:
        """Another piece of reasoning."""
        if self._since is None:
            self._since = self._clock()
        self._text.append(text)
        self._tail = (self._tail + text)[-TAIL_CHARS:]  # not the whole text joined again for every piece

    def tail(self) -> str:
        """The end of the reasoning so far, for the live rows; empty when none is streaming."""
        return self._tail.strip()

    def end(self) -> tuple[str, str] | None:
        """Once the reasoning is over: the transcript's line ("thought for 4.2s") and its text; None if none came."""
        if self._since is None:
            return None
        line = f"thought for {duration(self._clock() - self._since)}"
        text = "".join(self._text).strip()
        self._since, self._text, self._tail = None, [], ""
        return line, text
