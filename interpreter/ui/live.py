"""SyncedLive: Rich's Live region, each repaint wrapped in synchronized-output markers (no flicker)."""

from __future__ import annotations

from rich.console import Console, ConsoleRenderable
from rich.control import Control
from rich.live import Live
from rich.segment import ControlType, Segment

from interpreter.ui.frame import Frame

_BEGIN = "\x1b[?2026h"  # DEC mode 2026: hold painting until the end marker; terminals without it ignore both
_END = "\x1b[?2026l"


class _Marker(Control):
    """A raw escape sequence, written as is and taking no width (Rich has no ControlType for this mode)."""

    def __init__(self, escape: str) -> None:
        # Any control code makes the segment zero-width; only Rich's legacy-Windows writer reads the code,
        # and SyncedLive writes no markers there.
        self.segment = Segment(escape, None, [(ControlType.CURSOR_FORWARD, 0)])


class SyncedLive(Live):
    """A Live region for a Frame, repainted only when the frame changed, each write one atomic terminal frame.

    The erase when it stops is not bracketed: it clears rows the final (bracketed) repaint left empty.
    """

    def __init__(self, frame: Frame, console: Console, refresh_per_second: float) -> None:
        super().__init__(frame, console=console, transient=True, refresh_per_second=refresh_per_second)
        self._frame = frame
        frame.drawn = None  # this region has drawn nothing yet

    def refresh(self) -> None:
        """Repaint, unless that would draw just what is on the screen."""
        if self._frame.key(self.console.size) != self._frame.drawn:
            super().refresh()

    def process_renderables(self, renderables: list[ConsoleRenderable]) -> list[ConsoleRenderable]:
        """Bracket one write, the repaint included, in the markers."""
        processed = super().process_renderables(renderables)
        return [_Marker(_BEGIN), *processed, _Marker(_END)] if self._synced else processed

    @property
    def _synced(self) -> bool:
        """Whether to write markers: on an interactive terminal that understands escape codes."""
        return self.console.is_interactive and not self.console.legacy_windows
