"""Finding fenced code blocks in a model's answer, for servers without function calling (--no-tools)."""

from __future__ import annotations

import re
from collections.abc import Callable

from interpreter.messages import CodeCell

# An opening fence at the start of a line (``` or longer, or ~~~), an info string, the body, the same fence closing.
_FENCE = re.compile(
    r"^(?P<fence>`{3,}|~{3,})[ \t]*(?P<info>[^\n`]*)\n(?P<body>.*?)^(?P=fence)[ \t]*$",
    re.MULTILINE | re.DOTALL,
)


def code_cells(text: str, is_language: Callable[[str], bool]) -> list[CodeCell]:
    """The fenced blocks of `text` whose info string names a language, in order; other blocks are prose."""
    cells = []
    for match in _FENCE.finditer(text):
        words = match["info"].split()
        language = words[0].lower() if words else ""
        if language and is_language(language):
            cells.append(CodeCell(language=language, code=match["body"].rstrip("\n")))
    return cells
