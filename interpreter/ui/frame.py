"""Frame: the small live region under the transcript (the end of the block in progress, a status line)."""

from __future__ import annotations

import math
from collections.abc import Callable, Hashable
from dataclasses import dataclass

from rich.console import Console, ConsoleDimensions, ConsoleOptions, RenderResult
from rich.segment import Segment
from rich.text import Text

from interpreter.messages import CodeCell, CodeDraft
from interpreter.ui.codeblock import code_block
from interpreter.ui.gutter import Gutter
from interpreter.ui.labels import duration
from interpreter.ui.markdown import markdown
from interpreter.ui.untrusted import visible

TAIL_ROWS = 6  # rows of the markdown block in progress the frame shows, at most
_SPINNER = "⠋⠙⠹⠸⠼⠴⠦⠧⠇⠏"


@dataclass(frozen=True)
class Status:
    """The status line: `before` + the time since `started` (or, with `until`, the time left) + `after`."""

    before: str
    started: float
    after: str = ""
    until: float | None = None


@dataclass(frozen=True)
class View:
    """What the frame shows: the markdown block in progress, an unfinished output line, a status.

    `gap` puts a blank row on top, where the section in progress will have one once it is printed.
    """

    text: str = ""
    partial: str = ""
    status: Status | None = None
    gap: bool = False
    draft: CodeDraft | None = None  # a cell the model is still writing
    thought: str = ""  # the end of the model's reasoning while it streams, shown dim

    @property
    def empty(self) -> bool:
        """Whether there is nothing to show (so no live region is needed)."""
        return not (self.text or self.partial or self.status or self.draft or self.thought)


class Frame:
    """Renders the current View, bounded: never taller than TAIL_ROWS + 2 rows or the terminal less one row.

    The renderer swaps in a new `view` (one atomic assignment); the live region's refresh thread reads it.
    """

    def __init__(self, clock: Callable[[], float]) -> None:
        self.view = View()
        self.drawn: Hashable = None  # the key of the last render, so an unchanged frame is not repainted
        self._clock = clock

    def key(self, size: ConsoleDimensions) -> Hashable:
        """All a render depends on: two renders with one key draw the same rows."""
        view = self.view
        return view, None if view.status is None else self._ticks(view.status), size

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        """Render the view's rows, cropped from the top."""
        view = self.view
        ticks = None if view.status is None else self._ticks(view.status)
        self.drawn = view, ticks, options.size
        rows: list[list[Segment]] = []
        if view.thought:
            rows += console.render_lines(Text(visible(view.thought), style="dim"), options, pad=False)[-TAIL_ROWS:]
        if view.text:
            rows += console.render_lines(markdown(view.text), options, pad=False)[-TAIL_ROWS:]
        if view.draft is not None:
            rows += _draft_rows(console, options, view.draft)
        if view.partial:
            line = Text(visible(view.partial), no_wrap=True, overflow="crop")
            rows += console.render_lines(Gutter(line), options, pad=False)[-1:]
        if view.status is not None and ticks is not None:
            rows += console.render_lines(self._status_line(view.status, ticks), options, pad=False)
        if rows and view.gap:
            rows.insert(0, [])
        rows = rows[-max(1, options.size.height - 1) :]
        for index, row in enumerate(rows):
            if index:
                yield Segment.line()
            yield from row

    def _ticks(self, status: Status) -> int:
        """Tenths of a second since `status` started: the status line changes once a tick."""
        return max(0, int((self._clock() - status.started) * 10))

    def _status_line(self, status: Status, ticks: int) -> Text:
        """The status line `ticks` tenths in: "⠹ running python · 3.2s · Ctrl-C to stop", or a countdown."""
        seconds = ticks / 10 if status.until is None else _tenths_left(status.until - self._clock())
        line = Text(no_wrap=True, overflow="ellipsis")
        line.append(_SPINNER[ticks % len(_SPINNER)], style="cyan")
        line.append(f" {status.before}{duration(seconds)}{status.after}", style="dim")
        return line


def _draft_rows(console: Console, options: ConsoleOptions, draft: CodeDraft) -> list[list[Segment]]:
    """A cell being written: its header, then the rows of its last lines (the cost of a redraw stays the same)."""
    tail = "\n".join(draft.code.split("\n")[-TAIL_ROWS:])
    block = code_block(CodeCell(draft.language or "code", tail), " · writing…")
    header, *code = console.render_lines(block, options, pad=False)
    return [header, *code[-(TAIL_ROWS - 1) :]]


def _tenths_left(seconds: float) -> float:
    """Time left, rounded up to a tenth so a countdown never shows less than is left (3.708 s shows 3.8s)."""
    return max(0.0, math.ceil(seconds * 10) / 10)
