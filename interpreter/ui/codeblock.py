"""How a code cell looks on a terminal: a header naming its language, then the code, highlighted unless very long."""

from __future__ import annotations

from rich.cells import chop_cells
from rich.console import Console, ConsoleOptions, Group, RenderableType, RenderResult
from rich.segment import Segment
from rich.syntax import Syntax
from rich.text import Text

from interpreter.messages import CodeCell
from interpreter.ui.cells import cell_width
from interpreter.ui.labels import lexer
from interpreter.ui.markdown import CODE_THEME
from interpreter.ui.untrusted import visible

# Characters of code highlighted, at most (about 1,000 lines): highlighting and wrapping through Rich cost ~5 s a
# megabyte, a hundred times what printing the same code piped costs; nobody reads 10 MB of code for its colours.
HIGHLIGHT_LIMIT = 64 * 1024
TAB_SIZE = 4  # as Syntax expands tabs


def code_block(cell: CodeCell, note: str = "") -> RenderableType:
    """A code cell: a header naming its language, then the code, its hidden characters as stand-ins."""
    header = Text(visible(f"{cell.language}{note}"), style="bold cyan")
    code = visible(cell.code).rstrip("\n")
    if len(code) > HIGHLIGHT_LIMIT:
        return Group(header, PlainCode(code))
    return Group(header, Syntax(code, lexer(cell.language), theme=CODE_THEME, word_wrap=True, padding=(0, 1)))


class PlainCode:
    """Code as it is, a column of space on its left, each line wrapped at the width: for code too long to highlight.

    Drawn a line at a time, so its rows are never all held at once.
    """

    def __init__(self, code: str) -> None:
        self.code = code

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        """Yield each line of the code as rows of the width less the two columns of padding."""
        width = max(1, options.max_width - 2)
        for raw in self.code.split("\n"):
            line = raw.expandtabs(TAB_SIZE)
            for piece in [line] if cell_width(line) <= width else chop_cells(line, width):
                yield Segment(f" {piece}")
                yield Segment.line()
