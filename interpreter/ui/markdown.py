"""Markdown as the transcript shows it: as Rich renders it, less the blank rows around some blocks."""

from __future__ import annotations

from rich.console import Console, ConsoleOptions, RenderableType, RenderResult
from rich.markdown import Markdown
from rich.segment import Segment

from interpreter.ui.untrusted import visible

CODE_THEME = "monokai"


def _blank(segment: Segment) -> bool:
    """Whether a segment shows nothing: a control code, or spaces without a background colour."""
    style = segment.style
    return bool(segment.control) or (not segment.text.strip() and (style is None or style.bgcolor is None))


def _rstripped(row: list[Segment]) -> list[Segment]:
    """`row` without the spaces Rich pads it with (fewer bytes to write, nothing trailing to copy)."""
    row = list(row)
    while row and not row[-1].control and _blank(row[-1]):
        row.pop()
    if row and not row[-1].control and (row[-1].style is None or row[-1].style.bgcolor is None):
        text, style, control = row[-1]
        row[-1] = Segment(text.rstrip(" "), style, control)
    return row


class Trimmed:
    """Draws `renderable` less its blank rows on top and bottom and the padding at the end of each row."""

    def __init__(self, renderable: RenderableType) -> None:
        self.renderable = renderable

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        """Render the rows between the first and the last that show something."""
        rows = console.render_lines(self.renderable, options, pad=False)
        shown = [index for index, row in enumerate(rows) if not all(map(_blank, row))]
        for row in rows[shown[0] : shown[-1] + 1] if shown else []:
            yield from _rstripped(row)
            yield Segment.line()


def markdown(text: str) -> RenderableType:
    """`text` (the model's) rendered as markdown, trimmed, its control characters shown as stand-ins."""
    return Trimmed(Markdown(visible(text), code_theme=CODE_THEME))
