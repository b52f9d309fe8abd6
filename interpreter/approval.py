"""Asking before running: `Run this code? [y/N/e]`, with `e` opening $EDITOR on the code."""

from __future__ import annotations

import os
import shlex
import subprocess
import tempfile
from collections.abc import Callable
from pathlib import Path

from interpreter.messages import CodeCell, Decision

QUESTION = "Run this code? [y/N/e] "
_SUFFIXES = {"python": ".py", "shell": ".sh", "javascript": ".js", "ruby": ".rb", "r": ".R"}


class Approver:
    """Decides whether a cell runs: always with auto-run, else by asking; end of input means no."""

    def __init__(
        self,
        ask: Callable[[str], str | None],
        *,
        auto_run: bool = False,
        edit: Callable[[CodeCell], str | None] | None = None,
    ) -> None:
        self._ask = ask
        self.auto_run = auto_run  # %auto-run changes it during a session
        self._edit = edit or edit_in_editor

    def __call__(self, cell: CodeCell) -> Decision:
        """The person's decision about `cell`."""
        if self.auto_run:
            return Decision(run=True, cell=cell)
        answer = (self._ask(QUESTION) or "").strip().lower()
        if answer in ("y", "yes"):
            return Decision(run=True, cell=cell)
        if answer in ("e", "edit"):
            code = self._edit(cell)
            if code is None or not code.strip():
                return Decision(run=False)
            return Decision(run=True, cell=CodeCell(cell.language, code))
        return Decision(run=False)


def edit_in_editor(cell: CodeCell) -> str | None:
    """Open $VISUAL or $EDITOR (else vi) on the cell's code; the edited code, or None when the editor failed."""
    editor = shlex.split(os.environ.get("VISUAL") or os.environ.get("EDITOR") or "vi")
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / f"cell{_SUFFIXES.get(cell.language, '.txt')}"
        path.write_text(cell.code, encoding="utf-8")
        try:
            subprocess.run([*editor, str(path)], check=True)
        except (OSError, subprocess.CalledProcessError):
            return None  # never run code the person meant to change
        return path.read_text(encoding="utf-8").rstrip("\n")
