"""LiveRegion: the few rows under the transcript that change, rewritten in place, only the cells that differ."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterable, Iterator

from rich.color import ColorSystem
from rich.console import COLOR_SYSTEMS, Console, RenderableType
from rich.segment import Segment

from interpreter.resilience.diagnostics import LOGGER_NAME
from interpreter.ui.cells import Row, cell_width, dim_stand_ins, encode, encode_line, rewrite, row_of
from interpreter.ui.frame import Frame, View

SYNC_BEGIN = "\x1b[?2026h"  # DEC mode 2026: hold painting until SYNC_END; terminals without it ignore both
SYNC_END = "\x1b[?2026l"
HIDE_CURSOR = "\x1b[?25l"
SHOW_CURSOR = "\x1b[?25h"
ERASE_BELOW = "\x1b[J"


class LiveRegion:
    """Prints finished rows once and keeps a Frame drawn beneath them, each write one synchronized terminal frame.

    Nothing is erased and repainted: every row on screen is compared with what should be there, and only the cells
    that differ are written (then EL where a row got shorter). A countdown rewrites a digit or two; a streamed word
    is written once. The renderer's `show` and the ticker's `refresh` (10 Hz) hold one lock.
    """

    def __init__(self, console: Console, frame: Frame, *, refresh_per_second: float = 10) -> None:
        self._console = console
        self._frame = frame
        self._interval = 1 / refresh_per_second
        self._lock = threading.Lock()
        self._rows: list[Row] = []  # the region as drawn, top first; its top row is where the cursor was at start
        self._row = 0  # the cursor's row, counted from the region's top
        self._size: tuple[int, int] = (0, 0)  # the terminal's (width, height) when the rows were drawn
        self._ticker: _Ticker | None = None

    def show(self, view: View, printed: RenderableType | None = None) -> None:
        """Print `printed` above the region, once, and show `view` in the region (none when `view` is empty).

        A change to a region already up is drawn by the next tick (at most 10 a second), however many come.
        """
        with self._lock:
            self._frame.view = view
            if printed is None and self._rows and not view.empty and self._ticking:
                return
            self._draw([] if printed is None else self._lines(printed), self._frame_rows())
            active = bool(self._rows)
        self._keep_ticking(active)

    def write_above(self, codes: Callable[[], str | None]) -> None:
        """Write the codes of ours `codes()` makes, which Rich cannot measure (an inline image), above the region on
        rows of their own; the region is down while they are made (so a query to the terminal meets no redraw)."""
        with self._lock:
            self._draw([], [])  # the region comes down: the cursor at the start of the row below the transcript
            if (made := codes()) is not None:
                self._console.file.write(f"{made}\n")
            self._rows, self._row = [], 0
            self._draw([], self._frame_rows())
            active = bool(self._rows)
        self._keep_ticking(active)

    def refresh(self) -> None:
        """Redraw the region if what it shows has changed (the clock moved on, the terminal was resized)."""
        with self._lock:
            if self._rows and self._frame.key(self._console.size) != self._frame.drawn:
                self._draw([], self._frame_rows())

    def _frame_rows(self) -> list[Row]:
        return [] if self._frame.view.empty else [_cells(line) for line in self._lines(self._frame)]

    def _lines(self, renderable: RenderableType) -> Iterator[list[Segment]]:
        """`renderable` as lines of segments at the terminal's width, one at a time (colour dropped under NO_COLOR).

        One at a time, so printing a block of many megabytes (a large cell's code) keeps only its text in memory.
        """
        console, width = self._console, self._console.options.max_width
        for split in Segment.split_lines(console.render(renderable, console.options)):
            text = "".join(segment.text for segment in split if not segment.control)
            # Cropped to the width, as Rich's render_lines crops, but measured without looking at every character.
            line = Segment.adjust_line_length(split, width, pad=False) if cell_width(text) > width else split
            yield list(Segment.remove_color(line)) if console.no_color else line

    def _draw(self, printed: Iterable[list[Segment]], region: list[Row]) -> None:
        """Turn the screen from the rows drawn last into `printed` + `region`, `printed` staying above for good."""
        # With no region up, the cursor waits at the start of the row below the last thing printed.
        pen = _Pen(self._row, bottom=max(len(self._rows) - 1, self._row), at_line_start=not self._rows)
        size = (self._console.size.width, self._console.size.height)
        resized = self._rows and size != self._size
        old = self._forget(pen) if resized else self._rows
        color_system = COLOR_SYSTEMS.get(self._console.color_system or "")
        count = 0
        for count, line in enumerate(printed, start=1):
            _put(pen, count - 1, old, line, color_system)
        for index, row in enumerate(region, start=count):
            _put(pen, index, old, row, color_system)
        self._finish(pen, count, len(region), len(old))
        self._write(pen.text(), touches_region=bool(old or region), was_shown=bool(self._rows), shown=bool(region))
        self._rows, self._row, self._size = region, pen.row - count, size

    def _forget(self, pen: _Pen) -> list[Row]:
        """After a resize the old rows may have moved or wrapped: erase from the region's top and draw it anew."""
        pen.go(max(0, pen.row - (self._console.size.height - 1)))  # rows above the screen's top are out of reach
        pen.restart()
        pen.write("\r" + ERASE_BELOW)
        return []

    @staticmethod
    def _finish(pen: _Pen, printed: int, region: int, old: int) -> None:
        """Erase old rows left below the new ones; with no region left, end at the start of the row below."""
        if region:
            if printed + region < old:
                pen.go(printed + region)
                pen.write("\r" + ERASE_BELOW)
            return
        pen.go(printed)
        if not pen.at_line_start:
            pen.write("\r")
        if printed < old:
            pen.write(ERASE_BELOW)

    def _write(self, text: str, *, touches_region: bool, was_shown: bool, shown: bool) -> None:
        """Write one frame: synchronized when it touches the region; the cursor hidden while a region is up."""
        if not text and was_shown == shown:
            return
        if touches_region:
            cursor = HIDE_CURSOR if shown and not was_shown else SHOW_CURSOR if was_shown and not shown else ""
            text = f"{SYNC_BEGIN}{text}{cursor}{SYNC_END}"
        self._console.file.write(text)
        self._console.file.flush()

    @property
    def _ticking(self) -> bool:
        return self._ticker is not None and self._ticker.is_alive()

    def _keep_ticking(self, active: bool) -> None:
        """Run the ticker while a region is up, and only then (a new one if the last one failed)."""
        if active and not self._ticking:
            self._ticker = _Ticker(self.refresh, self._interval)
            self._ticker.start()
        elif not active and self._ticker is not None:
            ticker, self._ticker = self._ticker, None
            ticker.stop()


def _cells(line: list[Segment]) -> Row:
    """A line of segments as the cells it fills, the gate's stand-ins dim."""
    return dim_stand_ins(row_of(line))


def _put(pen: _Pen, index: int, old: list[Row], line: Row | list[Segment], color_system: ColorSystem | None) -> None:
    """Draw row `index`: over a row on screen, only the cells that differ; below them, written out whole."""
    if index < len(old):
        row = line if isinstance(line, tuple) else _cells(line)
        if codes := rewrite(old[index], row, color_system):
            pen.go(index)
            pen.write(codes)
        return
    pen.go(index)
    codes = encode(line, color_system) if isinstance(line, tuple) else encode_line(line, color_system)
    pen.write(("" if pen.at_line_start else "\r") + codes)


class _Pen:
    """Builds the codes of one frame, tracking the cursor's row (counted from the region's top)."""

    def __init__(self, row: int, *, bottom: int, at_line_start: bool) -> None:
        self.row = row
        self.at_line_start = at_line_start  # whether the cursor is known to be in the first column
        self._bottom = bottom  # the lowest row that exists on the screen; rows below it are made with newlines
        self._parts: list[str] = []

    def go(self, row: int) -> None:
        """Move to `row`: up or down within the rows that exist, newlines (scrolling if need be) past them."""
        if row == self.row:
            return
        self.at_line_start = False
        if row < self.row:
            self._parts.append(f"\x1b[{self.row - row}A")
        else:
            if (down := min(row, self._bottom) - self.row) > 0:
                self._parts.append(f"\x1b[{down}B")
            if (new := row - max(self.row, self._bottom)) > 0:
                self._parts.append("\n" * new)  # a tty makes each "\n" a CR LF
                self._bottom = row
                self.at_line_start = True
        self.row = row

    def restart(self) -> None:
        """Count rows from here: the rows below are gone."""
        self.row = self._bottom = 0

    def write(self, codes: str) -> None:
        if codes:
            self._parts.append(codes)
            self.at_line_start = False

    def text(self) -> str:
        return "".join(self._parts)


class _Ticker(threading.Thread):
    """Calls `tick` every `interval` seconds until stopped; a tick that fails ends it (the next `show` draws).

    A failed write means the terminal is gone; anything else is a bug, logged rather than dumped on the screen.
    """

    def __init__(self, tick: Callable[[], None], interval: float) -> None:
        super().__init__(name="live-region", daemon=True)
        self._tick = tick
        self._interval = interval
        self._stopped = threading.Event()

    def run(self) -> None:
        while not self._stopped.wait(self._interval):
            try:
                self._tick()
            except OSError:
                return
            except Exception:
                logging.getLogger(f"{LOGGER_NAME}.screen").exception("the live region stopped refreshing")
                return

    def stop(self) -> None:
        self._stopped.set()
        if self is not threading.current_thread():
            self.join()
