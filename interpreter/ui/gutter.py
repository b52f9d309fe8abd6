"""Gutter: a renderable drawn behind a dim bar on every row, to set program output apart."""

from __future__ import annotations

from rich.console import Console, ConsoleOptions, RenderableType, RenderResult
from rich.segment import Segment
from rich.style import Style

_BAR = "│ "


class Gutter:
    """Draws `renderable` indented behind "│ " on each row, wrapped rows included."""

    def __init__(self, renderable: RenderableType) -> None:
        self.renderable = renderable

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        """Render the rows at the narrower width, each after the bar."""
        width = options.max_width - len(_BAR)
        if width < 1:
            yield self.renderable
            return
        bar = Segment(_BAR, Style(dim=True))
        for row in console.render_lines(self.renderable, options.update_width(width), pad=False):
            yield bar
            yield from row
            yield Segment.line()
