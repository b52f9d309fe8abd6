"""Screen rows as cells, and the escape codes that turn one row into another by rewriting only the cells that differ."""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from itertools import groupby

from rich.cells import get_character_cell_size
from rich.color import ColorSystem
from rich.segment import Segment
from rich.style import Style

from interpreter.ui.untrusted import STAND_IN

Cell = tuple[str, Style | None]  # what one terminal cell holds; the right half of a wide character holds ""
Row = tuple[Cell, ...]

ERASE_LINE = "\x1b[K"  # EL: clear from the cursor to the end of the row
_BLANK: Cell = (" ", None)
_DIM = Style(dim=True)
MERGE_GAP = 4  # equal cells between two changes cheaper to rewrite than to jump over (a jump costs 4-5 bytes)
_NOT_PRINTABLE_ASCII = re.compile(r"[^\x20-\x7e]")


def cell_width(text: str) -> int:
    """The cells `text` fills, as `rich.cells.cell_len` counts them, looking one by one only at the characters
    that are not printable ASCII (Rich looks at every character of a line that holds one: slow on megabytes)."""
    others = _NOT_PRINTABLE_ASCII.findall(text)
    return len(text) - len(others) + sum(map(get_character_cell_size, others))


def row_of(segments: Iterable[Segment]) -> Row:
    """The cells a row of segments fills, left to right."""
    cells: list[Cell] = []
    for text, style, control in segments:
        if control:
            continue
        for char in text:
            width = get_character_cell_size(char)
            if width == 0 and cells:  # a combining mark joins the character before it
                cells[-1] = (cells[-1][0] + char, cells[-1][1])
            elif width:
                cells.append((char, style))
                if width == 2:
                    cells.append(("", style))
    return tuple(cells)


def dim_stand_ins(row: Row) -> Row:
    """`row` with the stand-ins the gate put for control characters (␛, ⟨U+202E⟩) drawn dim, set apart from text."""
    text = "".join(char for char, _ in row)
    spans = [match.span() for match in STAND_IN.finditer(text)]
    if not spans:
        return row
    cells: list[Cell] = []
    offset = 0
    for char, style in row:
        dim = any(start <= offset < end for start, end in spans)
        cells.append((char, (_DIM if style is None else style + _DIM) if dim else style))
        offset += len(char)
    return tuple(cells)


def encode(cells: Sequence[Cell], color_system: ColorSystem | None) -> str:
    """The text and style codes that write `cells` from the cursor on."""
    return "".join(
        _styled("".join(char for char, _ in run), style, color_system) for style, run in groupby(cells, key=_style)
    )


def encode_line(line: list[Segment], color_system: ColorSystem | None) -> str:
    """The codes that write a line of segments from the cursor on: as `encode` writes its cells, without making
    them (a printed block may be megabytes of code)."""
    text = "".join(segment.text for segment in line if not segment.control)
    if STAND_IN.search(text):
        return encode(dim_stand_ins(row_of(line)), color_system)
    return "".join(
        _styled(segment.text, segment.style, color_system) for segment in Segment.simplify(line) if not segment.control
    )


def changed_spans(old: Row, new: Row) -> list[tuple[int, int]]:
    """The spans [start, end) of `new` to write over `old`: whole wide characters, changes close together merged."""
    spans: list[tuple[int, int]] = []
    for index in range(len(new)):
        if index < len(old) and old[index] == new[index]:
            continue
        start, end = _whole_characters(old, new, index)
        if spans and start - spans[-1][1] <= MERGE_GAP:
            start = spans.pop()[0]
        spans.append((start, min(end, len(new))))
    return spans


def rewrite(old: Row, new: Row, color_system: ColorSystem | None) -> str:
    """The codes that turn row `old` into row `new`, the cursor anywhere on that row: jumps, changed cells, EL."""
    parts = [f"\x1b[{start + 1}G{encode(new[start:end], color_system)}" for start, end in changed_spans(old, new)]
    if len(new) < len(old) and any(cell != _BLANK for cell in old[len(new) :]):
        parts.append(f"\x1b[{len(new) + 1}G{ERASE_LINE}")
    return "".join(parts)


def _whole_characters(old: Row, new: Row, index: int) -> tuple[int, int]:
    """The cells to write for a change at `index`: a wide character in either row is written whole."""
    start, end = index, index + 1
    if start > 0 and (_right_half(old, start) or _right_half(new, start)):
        start -= 1
    while _right_half(old, end) or _right_half(new, end):
        end += 1
    return start, end


def _right_half(row: Row, index: int) -> bool:
    return index < len(row) and row[index][0] == ""


def _style(cell: Cell) -> Style | None:
    return cell[1]


def _styled(text: str, style: Style | None, color_system: ColorSystem | None) -> str:
    return text if style is None else style.render(text, color_system=color_system)
