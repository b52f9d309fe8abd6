"""Split streamed markdown into finished blocks, never inside a code fence."""

from __future__ import annotations

import re

_FENCE_OPEN = re.compile(r"^ {0,3}(`{3,}|~{3,})(.*)$")


def _opening_fence(line: str) -> str | None:
    """The fence marker `line` opens (e.g. "```"), or None when it opens none."""
    match = _FENCE_OPEN.match(line)
    if match is None:
        return None
    marker, info = match.groups()
    if marker[0] == "`" and "`" in info:
        return None  # a backtick fence's info string may not hold a backtick (CommonMark)
    return marker


def _closes(line: str, marker: str) -> bool:
    """Whether `line` closes a fence opened with `marker`."""
    indent = len(line) - len(line.lstrip(" "))
    stripped = line.strip()
    return indent <= 3 and len(stripped) >= len(marker) and set(stripped) == {marker[0]}


class BlockSplitter:
    """Feed markdown as it streams in; get back each finished block once.

    A block ends at a closing code fence, or at a blank line outside a fence. A blank line's block is released
    when the next line arrives unindented: an indented line continues a list item or a code block.
    """

    def __init__(self) -> None:
        self._lines: list[str] = []
        self._partial = ""
        self._fence: str | None = None
        self._fence_line = ""  # the line that opened the fence in progress
        self._after_blank = False

    @property
    def pending(self) -> str:
        """The block in progress, including an unfinished last line."""
        lines = [*self._lines, ""] if self._after_blank else self._lines
        return "\n".join([*lines, self._partial]).strip("\n")

    def tail(self, lines: int) -> str:
        """The end of the block in progress, cheap to render however long it grows.

        Inside a code fence that is still open, that is the fence's opening line and the last `lines` lines (each
        line of code is at least one row, so the rows shown are the same); anywhere else, the whole block.
        """
        if self._fence is None or len(self._lines) <= lines + 1:
            return self.pending
        return "\n".join([self._fence_line, *self._lines[-lines:], self._partial]).strip("\n")

    def feed(self, text: str) -> list[str]:
        """Take more text; return the blocks it finished."""
        *lines, self._partial = (self._partial + text).split("\n")
        done: list[str] = []
        for line in lines:
            done.extend(self._take(line))
        return done

    def flush(self) -> str | None:
        """End the stream: return what is left (if anything) and start afresh."""
        rest = self.pending
        self._lines, self._partial, self._fence, self._after_blank = [], "", None, False
        return rest or None

    def _take(self, line: str) -> list[str]:
        """Add one complete line; return the blocks it finished."""
        if self._fence is not None:
            self._lines.append(line)
            if _closes(line, self._fence):
                self._fence = None
                return [self._release()]
            return []
        if not line.strip():
            self._after_blank = bool(self._lines)
            return []
        done = [self._release()] if self._after_blank and not line[:1].isspace() else []
        if self._after_blank and not done:
            self._lines.append("")
        self._after_blank = False
        self._lines.append(line)
        self._fence = _opening_fence(line)
        self._fence_line = line
        return done

    def _release(self) -> str:
        """Hand over the current block and start the next."""
        block = "\n".join(self._lines)
        self._lines = []
        self._after_blank = False
        return block
