"""How a code cell looks on a terminal: a header naming its language, then the highlighted code."""

from __future__ import annotations

from rich.console import Group, RenderableType
from rich.syntax import Syntax
from rich.text import Text

from interpreter.messages import CodeCell
from interpreter.ui.labels import lexer
from interpreter.ui.markdown import CODE_THEME
from interpreter.ui.untrusted import visible


def code_block(cell: CodeCell, note: str = "") -> RenderableType:
    """A code cell: a header naming its language, then the highlighted code, its control characters as stand-ins."""
    header = Text(visible(f"{cell.language}{note}"), style="bold cyan")
    code = visible(cell.code).rstrip("\n")
    return Group(header, Syntax(code, lexer(cell.language), theme=CODE_THEME, word_wrap=True, padding=(0, 1)))
