"""The lines a worker writes on its done pipe, read back with a bound on what is held.

Each cell ends with its exit status as a decimal line. Before it, the python worker writes a line
`figure <base64 PNG>` for each figure the cell drew (see figures.py). The cell runs in the worker's own process and
can write this pipe as well, so no line is trusted: a figure line goes to the FigureInbox, which checks it; one too
long to be a figure is dropped, up to its newline, as it comes; a line that is neither is ignored.
"""

from __future__ import annotations

import contextlib

from interpreter.execution.figures import FIGURE_LINE, LINE_LIMIT, FigureInbox


class DoneLines:
    """Splits what the done pipe gives into lines: statuses are returned, figures handed to the inbox."""

    def __init__(self, figures: FigureInbox) -> None:
        self._figures = figures
        self._pending = bytearray()
        self._dropping = False  # within a line too long to be a figure: the rest of it is dropped
        self._unsearched = 0  # where a newline in what is pending may be

    def feed(self, data: bytes) -> int | None:
        """Take in `data`; the first status among the lines it completes (lines after it wait for the next call)."""
        self._pending += data
        while (end := self._pending.find(b"\n", self._unsearched)) >= 0:
            line = bytes(self._pending[:end])
            del self._pending[: end + 1]
            self._unsearched = 0
            status = self._line(line)
            if status is not None:
                return status
        self._unsearched = len(self._pending)  # no newline before here: a long line is not searched again and again
        self._bound()
        return None

    def _line(self, line: bytes) -> int | None:
        """The status a whole line gives, if it is one; a figure's line is handed on."""
        if self._dropping:
            self._dropping = False  # the end of a line too long to be a figure
        elif line.startswith(FIGURE_LINE):
            self._figures.receive(line[len(FIGURE_LINE) :])
        else:
            with contextlib.suppress(ValueError):  # neither a figure nor a status: a cell wrote it, and it is ignored
                return int(line)
        return None

    def _bound(self) -> None:
        """Drop an unfinished line once it is longer than any figure's: its figure is refused."""
        if len(self._pending) <= LINE_LIMIT:
            return
        if not self._dropping:
            self._figures.refuse_large()
        self._dropping = True
        self._pending.clear()
        self._unsearched = 0
