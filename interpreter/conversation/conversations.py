"""What `interpreter conversations` shows: the saved conversations as aligned lines, and one exported as md or JSON."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Literal

from rich.cells import cell_len, set_cell_size

from interpreter.errors import StorageError
from interpreter.trust.regular_files import size_text
from interpreter.ui.untrusted import visible
from interpreter.ui.words import dollars

if TYPE_CHECKING:
    from interpreter.conversation.storage import Conversation, Summary

MIN_FIRST_LINE = 20  # columns the first line keeps however narrow the terminal


# What `conversations export --format` writes: a readable Markdown transcript, or the stored form (as `%load` reads).
ExportFormat = Literal["md", "json"]


def listing(summaries: Sequence[Summary], width: int = 100) -> str:
    """A header, then one aligned line per conversation (id, last written, messages, size, cost, first line) in
    `width`."""
    rows = [("ID", "UPDATED", "MESSAGES", "SIZE", "COST", "FIRST LINE")]
    rows += [
        (
            s.id,
            f"{s.updated:%Y-%m-%d %H:%M}",
            str(s.messages) if s.readable else "?",
            size_text(s.size),
            _cost(s),
            _first(s),
        )
        for s in summaries
    ]
    widths = [max(len(row[column]) for row in rows) for column in range(5)]
    room = max(MIN_FIRST_LINE, width - sum(widths) - 2 * len(widths))
    return "\n".join(
        f"{ident:<{widths[0]}}  {date:<{widths[1]}}  {count:>{widths[2]}}  {size:>{widths[3]}}  {cost:>{widths[4]}}  "
        f"{cut(first, room)}"
        for ident, date, count, size, cost, first in rows
    )


def export(conversation: Conversation, kind: ExportFormat) -> str:
    """The conversation as a Markdown transcript or as its stored JSON."""
    if kind == "md":
        from interpreter.conversation.transcript import to_markdown  # noqa: PLC0415 - only the Markdown export needs it

        return to_markdown(conversation)
    from interpreter.conversation.storage import to_json  # noqa: PLC0415 - only the JSON export needs it

    return to_json(conversation)


def write(text: str, path: Path) -> None:
    """Write an export to `path`; StorageError naming the file when that fails."""
    try:
        path.write_text(text, encoding="utf-8")
    except OSError as exc:
        raise StorageError(f"cannot write {path}: {exc.strerror}") from exc


def _cost(summary: Summary) -> str:
    """What the conversation's requests cost; "-" when nothing priced was spent (or the file cannot be read)."""
    return dollars(summary.cost) if summary.cost else "-"


def _first(summary: Summary) -> str:
    """The first line of the first user message, or why there is none."""
    if not summary.readable:
        return "(cannot be read)"
    return visible(summary.first_line) or "(no message yet)"


def cut(text: str, room: int) -> str:
    """`text` shortened to `room` terminal cells (a CJK character or an emoji takes two), with an ellipsis if cut."""
    return text if cell_len(text) <= room else set_cell_size(text, room - 1) + "…"
