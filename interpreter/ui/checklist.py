"""The doctor's report: a Rich table on a terminal, aligned plain text (no escape codes) anywhere else.

A check's facts may quote the server, so they pass the gate (`ui.untrusted.visible`).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, TextIO

from interpreter.ui.renderer import is_terminal
from interpreter.ui.untrusted import STAND_IN, visible

if TYPE_CHECKING:
    from interpreter.doctor.check import Check

_MARKS = {"ok": ("✓ ok", "green"), "failed": ("✗ failed", "bold red"), "skipped": ("- skipped", "dim")}


def summary(checks: Sequence[Check]) -> str:
    """`all 7 checks passed`, or `2 of 7 checks failed`."""
    failed = sum(check.status.value == "failed" for check in checks)
    if not failed:
        return f"all {len(checks)} checks passed"
    return f"{failed} of {len(checks)} checks failed"


def print_checklist(checks: Sequence[Check], file: TextIO, *, terminal: bool | None = None) -> None:
    """Print the checks as a table, then the summary line; `terminal` None detects whether `file` is one."""
    if terminal if terminal is not None else is_terminal(file):
        _print_table(checks, file)
    else:
        file.write(plain_text(checks))
    file.flush()


def plain_text(checks: Sequence[Check]) -> str:
    """The report as aligned columns: name, status, facts; a fix on its own line under a failure."""
    width = max((len(check.name) for check in checks), default=0) + 2
    lines = []
    for check in checks:
        status = check.status.value.upper() if check.status.value == "failed" else check.status.value
        lines.append(f"{check.name:<{width}}{status:<9}{visible(check.detail)}")
        if check.fix:
            lines.append(f"{'':<{width + 9}}fix: {check.fix}")
    return "\n".join([*lines, "", summary(checks), ""])


def _print_table(checks: Sequence[Check], file: TextIO) -> None:
    """The report as a Rich table, the fix under each failure's facts."""
    # Rich takes a while to import; only a report on a terminal pays for it.
    from rich.console import Console  # noqa: PLC0415
    from rich.table import Table  # noqa: PLC0415
    from rich.text import Text  # noqa: PLC0415

    table = Table(box=None, show_header=False, pad_edge=False, padding=(0, 2, 0, 0))
    table.add_column(style="bold", no_wrap=True)
    table.add_column(no_wrap=True)
    table.add_column(overflow="fold")
    for check in checks:
        mark, style = _MARKS[check.status.value]
        detail = Text(visible(check.detail))  # the server's words may be in it
        detail.highlight_regex(STAND_IN, "dim")
        if check.fix:
            detail.append(f"\nfix: {check.fix}", style="yellow")
        table.add_row(check.name, Text(mark, style=style), detail)
    console = Console(file=file, force_terminal=True, highlight=False)
    console.print(table)
    console.print(summary(checks), style="bold")
