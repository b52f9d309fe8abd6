"""Asking before running: `Run this code? [y/N/e]`; `e` opens $EDITOR on the code, then shows it and asks again.

An editor that returns at once (`code` or `subl` without `--wait`, `EDITOR=true`) leaves the code as it was: it is
shown again and the question asked again, never run unasked.
"""

from __future__ import annotations

import os
import shlex
import subprocess
import tempfile
from collections.abc import Callable
from pathlib import Path

from interpreter.errors import EditorFailed, FileRefused
from interpreter.messages import CodeCell, CodeProposed, Decision
from interpreter.settings.directories import reason
from interpreter.trust.regular_files import read_regular

QUESTION = "Run this code? [y/N/e] "
SANDBOXED_QUESTION = "Run this code (sandboxed)? [y/N/e] "
FALLBACK_EDITOR = "vi"  # what git and crontab start when neither $VISUAL nor $EDITOR is set
_SUFFIXES = {"python": ".py", "shell": ".sh", "javascript": ".js", "ruby": ".rb", "r": ".R"}
_SET_ONE = "set $EDITOR, e.g. export EDITOR=nano"
EDITED_LIMIT = 64 * 1024 * 1024  # bytes of edited code read back: far past any cell, short of filling the memory


class Approver:
    """Decides whether a cell runs: always with auto-run, else by asking; end of input means no.

    After `e` the code as edited is shown (`show`) and the question asked again, every time: what runs is what was
    shown last. An editor that fails is told (`tell`, one line) and the question is asked again, so nothing is
    declined unseen.
    """

    def __init__(
        self,
        ask: Callable[[str], str | None],
        *,
        tell: Callable[[str], None],
        show: Callable[[CodeProposed], None],
        auto_run: bool = False,
        edit: Callable[[CodeCell], str] | None = None,
        sandboxed: Callable[[], bool] = lambda: False,
    ) -> None:
        self._ask = ask
        self._sandboxed = sandboxed  # asked each time: %sandbox changes it during a session
        self._tell = tell
        self._show = show
        self.auto_run = auto_run  # %auto-run changes it during a session
        self._edit = edit or edit_in_editor

    def __call__(self, cell: CodeCell) -> Decision:
        """The person's decision about `cell`."""
        if self.auto_run:
            return Decision(run=True, cell=cell)
        shown = cell
        while True:
            answer = (self._ask(SANDBOXED_QUESTION if self._sandboxed() else QUESTION) or "").strip().lower()
            if answer in ("y", "yes"):
                return Decision(run=True, cell=shown)
            if answer not in ("e", "edit"):
                return Decision(run=False)
            try:
                code = self._edit(shown)
            except EditorFailed as exc:
                self._tell(str(exc))  # then the question again: the person may still run the code, or decline it
                continue
            if not code.strip():
                return Decision(run=False)
            shown = cell if code == cell.code.rstrip("\n") else CodeCell(cell.language, code)
            self._show(CodeProposed(shown, edited=shown != cell))


def edit_in_editor(cell: CodeCell) -> str:
    """Open $VISUAL or $EDITOR (else vi) on the cell's code and return the edited code; EditorFailed if it fails."""
    variable, command = _editor()
    # The editor may remove the file or the folder (EDITOR=rm): cleaning up after it is best effort.
    with tempfile.TemporaryDirectory(ignore_cleanup_errors=True) as folder:
        path = Path(folder) / f"cell{_SUFFIXES.get(cell.language, '.txt')}"
        path.write_text(cell.code, encoding="utf-8")
        try:
            status = subprocess.run([*command, str(path)], check=False).returncode
        except OSError as exc:
            raise EditorFailed(_cannot_start(variable, command[0], exc)) from exc
        if status != 0:  # never run code the person meant to change, when the editor says it failed
            raise EditorFailed(f"the editor {command[0]} exited with status {status}: the code was not changed")
        return _read_back(path, command[0])


def _read_back(path: Path, program: str) -> str:
    """The code the editor left in `path`: a regular file, not a link swapped in; EditorFailed if there is none."""
    if not path.is_symlink() and not path.exists():
        raise EditorFailed(f"the editor {program} left no file to read: the code was not changed")
    try:
        edited = read_regular(path, limit=EDITED_LIMIT, follow=False)
    except FileRefused as exc:
        raise EditorFailed(f"the editor {program} left no code to read ({exc}): the code was not changed") from exc
    return edited.decode("utf-8", errors="replace").rstrip("\n")


def _editor() -> tuple[str | None, list[str]]:
    """The variable that names the editor (None: the fallback) and its command line; EditorFailed when unusable."""
    variable = next((name for name in ("VISUAL", "EDITOR") if os.environ.get(name, "").strip()), None)
    try:
        command = shlex.split(os.environ[variable]) if variable else [FALLBACK_EDITOR]
    except ValueError as exc:  # unbalanced quotes
        raise EditorFailed(f"cannot read ${variable} ({exc}): {_SET_ONE}") from exc
    return variable, command


def _cannot_start(variable: str | None, program: str, error: OSError) -> str:
    """The line for an editor that could not be started."""
    if variable is None:
        return f"no editor: $VISUAL and $EDITOR are not set and {program} is not installed; {_SET_ONE}"
    why = "not found" if isinstance(error, FileNotFoundError) else reason(error)
    return f"cannot start the editor {program} (${variable}): {why}; {_SET_ONE}"
