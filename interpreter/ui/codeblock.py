"""How a code cell looks on a terminal: a header naming its language, then the highlighted code."""

from __future__ import annotations

from rich.console import Group, RenderableType
from rich.syntax import Syntax
from rich.text import Text

from interpreter.messages import CodeCell
from interpreter.ui.labels import lexer
from interpreter.ui.markdown import CODE_THEME


def code_block(cell: CodeCell, note: str = "") -> RenderableType:
    """A code cell: a header naming its language, then the highlighted code."""
    header = Text(f"{cell.language}{note}", style="bold cyan")
    code = cell.code.rstrip("\n")
    return Group(header, Syntax(code, lexer(cell.language), theme=CODE_THEME, word_wrap=True, padding=(0, 1)))
