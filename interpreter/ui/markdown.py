"""Markdown as the transcript shows it: as Rich renders it, less the blank rows around some blocks, links honest."""

from __future__ import annotations

from rich.console import Console, ConsoleOptions, RenderableType, RenderResult
from rich.markdown import Markdown
from rich.segment import Segment

from interpreter.ui.links import honest
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


class ModelMarkdown(Markdown):
    """Rich's Markdown of the model's text, every parsed text through the gate and every link honest (`ui.links`).

    The gate runs on the source and again on what the parser made of it: an entity (`&#x202e;`, `&#x2028;`) becomes
    the character it names only when parsed.
    """

    def __init__(self, text: str) -> None:
        super().__init__(visible(text), code_theme=CODE_THEME)
        for token in self.parsed:
            token.content = visible(token.content)
            if token.children:
                for child in token.children:
                    child.content = visible(child.content)
                    child.attrs = {name: visible(str(value)) for name, value in child.attrs.items()}
                token.children = honest(token.children)


def markdown(text: str) -> RenderableType:
    """`text` (the model's) rendered as markdown, trimmed, its hidden characters shown as stand-ins."""
    return Trimmed(ModelMarkdown(text))
