"""OutputCap: decodes a run's output as it arrives and keeps a bounded head and tail of it for the model."""

from __future__ import annotations

import codecs
import re

# Text up to a lone carriage return is what a progress bar redraws over; the model only needs the last frame.
# A match may start only where a line or a frame starts (the lookbehind): tried from every character of a long
# line, as the pattern alone would be, it scans that line's rest each time (200 KB took 80 s; now linear).
_OVERWRITTEN = re.compile(r"(?<![^\r\n])[^\r\n]*\r(?!\n)")


class OutputCap:
    """Shows the first ~2/3 of `cap` characters as they come, keeps the last ~1/3, counts what is cut."""

    def __init__(self, cap: int) -> None:
        self._decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")
        self._head_room = cap * 2 // 3
        self._tail_room = cap - self._head_room
        self._head: list[str] = []
        self._tail = ""
        self._cut = 0
        self._ends_line = True

    def feed(self, data: bytes) -> str:
        """Take raw output bytes; return the text to show now (empty once the head is full)."""
        return self.add(self._decoder.decode(data))

    def finish(self) -> str:
        """Flush a multibyte character left incomplete at the end; return the text to show now."""
        return self.add(self._decoder.decode(b"", final=True))

    def add(self, text: str) -> str:
        """Take text; return the part that still fits in the head, keeping the rest in the tail."""
        shown = text[: self._head_room]
        if shown:
            self._head_room -= len(shown)
            self._head.append(shown)
        if len(shown) < len(text):
            kept = self._tail + text[len(shown) :]
            self._cut += max(0, len(kept) - self._tail_room)
            self._tail = kept[len(kept) - self._tail_room :] if self._tail_room else ""
        if text:
            self._ends_line = text.endswith("\n")
        return shown

    def note(self, text: str) -> str:
        """Add a note of ours on a line of its own; return the part to show now."""
        return self.add(("" if self._ends_line else "\n") + f"[{text}]\n")

    @property
    def cut(self) -> int:
        """How many characters were left out between the head and the tail."""
        return self._cut

    @property
    def tail(self) -> str:
        """What was kept after the head: text the screen has not shown yet."""
        return _OVERWRITTEN.sub("", self._tail)

    @property
    def output(self) -> str:
        """What the model gets: the head, a note of the cut if any, and the tail."""
        head = _OVERWRITTEN.sub("", "".join(self._head))
        gap = f"\n[... {self._cut:,} characters cut ...]\n" if self._cut else ""
        return head + gap + self.tail
