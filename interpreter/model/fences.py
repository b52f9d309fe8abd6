"""Finding fenced code blocks in a model's answer, for servers without function calling (--no-tools).

The answer is read line by line, each closing fence found by bisection: time grows with the answer's length (times a
log), where a regex retried from every unclosed fence grows with its square (an hour for a hostile reply at the cap).
"""

from __future__ import annotations

import bisect
import re
from collections.abc import Callable

from interpreter.messages import CodeCell

# An opening fence line (``` or longer, or ~~~), then an info string; a closing line is the same fence alone.
_OPENING = re.compile(r"(?P<fence>`{3,}|~{3,})[ \t]*(?P<info>[^\n`]*)")
_CLOSING = re.compile(r"(?P<fence>`{3,}|~{3,})[ \t]*")


def code_cells(text: str, is_language: Callable[[str], bool]) -> list[CodeCell]:
    """The fenced blocks of `text` whose info string names a language, in order; other blocks are prose.

    A block runs from an opening fence to the next line holding the same fence alone; an unclosed one is prose.
    """
    lines = text.split("\n")
    closings = _closings(lines)
    cells = []
    number = 0
    while number < len(lines) - 1:  # an opening fence needs a line after it
        opening = _OPENING.fullmatch(lines[number])
        end = _next(closings.get(opening["fence"], []), number) if opening else None
        if opening is None or end is None:
            number += 1
            continue
        words = opening["info"].split()
        language = words[0].lower() if words else ""
        if language and is_language(language):
            cells.append(CodeCell(language=language, code="\n".join(lines[number + 1 : end]).rstrip("\n")))
        number = end + 1
    return cells


def _closings(lines: list[str]) -> dict[str, list[int]]:
    """The numbers of the lines that can close a block, by the fence they close, in order."""
    found: dict[str, list[int]] = {}
    for number, line in enumerate(lines):
        if match := _CLOSING.fullmatch(line):
            found.setdefault(match["fence"], []).append(number)
    return found


def _next(numbers: list[int], after: int) -> int | None:
    """The first of the sorted `numbers` past `after`; None when there is none."""
    index = bisect.bisect_right(numbers, after)
    return numbers[index] if index < len(numbers) else None
