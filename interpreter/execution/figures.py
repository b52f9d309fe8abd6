"""Figures cells draw: saved by the python worker into a private spool, then kept as numbered PNG files.

The worker (python_worker.py) saves each matplotlib figure a cell shows, or leaves open, into the folder named by
FIGURES_VARIABLE. After the cell, the executor moves them to INTERPRETER_HOME/outputs/<conversation id>/figure-N.png,
N counting on from the conversation's last figure, so `%open N` finds one whatever session drew it.
"""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Callable
from pathlib import Path

from interpreter.errors import ExecutionError
from interpreter.messages import Figure

FIGURES_VARIABLE = "STEADY_INTERPRETER_FIGURES"  # python_worker.py reads this name
OUTPUTS = "outputs"
_PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
_HEADER = 24  # the signature, then the IHDR chunk's length, type, width and height


class FigureShelf:
    """Where a session's figures go: a spool the worker writes, and the current conversation's folder."""

    def __init__(self, root: Path, conversation: Callable[[], str]) -> None:
        self._root = root.absolute()  # figures are named by absolute paths (and file:// links)
        self._conversation = conversation  # the id of the conversation going on now
        self._spool: Path | None = None

    def spool(self) -> Path:
        """The private folder the worker saves into (made on first use, removed by close)."""
        if self._spool is None:
            self._spool = Path(tempfile.mkdtemp(prefix="steady-interpreter-figures-"))
        return self._spool

    def file(self) -> list[Figure]:
        """Move the pictures saved since the last call into the conversation's folder; ExecutionError if it fails."""
        saved = sorted(self._spool.glob("*.png")) if self._spool is not None else []
        if not saved:
            return []
        folder = self.folder()
        try:
            folder.mkdir(parents=True, exist_ok=True, mode=0o700)
            return [self._keep(path, folder) for path in saved if _is_png(path)]
        except OSError as exc:
            raise ExecutionError(f"a figure could not be kept in {folder}: {exc.strerror or exc}") from exc

    def folder(self) -> Path:
        """The current conversation's folder of figures."""
        return self._root / self._conversation()

    def find(self, number: int) -> Path | None:
        """Figure `number` of the current conversation, if it exists."""
        path = self.folder() / f"figure-{number}.png"
        return path if path.is_file() else None

    def close(self) -> None:
        """Remove the spool and whatever is left in it."""
        if self._spool is not None:
            shutil.rmtree(self._spool, ignore_errors=True)
            self._spool = None

    def _keep(self, path: Path, folder: Path) -> Figure:
        """Move one saved picture to the folder as the next figure."""
        number = 1 + max((_number(kept) for kept in folder.glob("figure-*.png")), default=0)
        target = folder / f"figure-{number}.png"
        shutil.move(path, target)  # the spool may be on another filesystem
        width, height = png_size(target) or (0, 0)
        return Figure(number, str(target), width, height)


def png_size(path: Path) -> tuple[int, int] | None:
    """(width, height) of the PNG file at `path`; None when it is not one (or cannot be read)."""
    try:
        with path.open("rb") as file:
            header = file.read(_HEADER)
    except OSError:
        return None
    if len(header) < _HEADER or not header.startswith(_PNG_SIGNATURE) or header[12:16] != b"IHDR":
        return None
    return int.from_bytes(header[16:20], "big"), int.from_bytes(header[20:24], "big")


def _is_png(path: Path) -> bool:
    """Whether `path` holds a PNG picture; anything else a cell left in the spool is removed."""
    if png_size(path) is not None:
        return True
    path.unlink(missing_ok=True)
    return False


def _number(path: Path) -> int:
    """N of figure-N.png; 0 for a name of another form."""
    digits = path.stem.removeprefix("figure-")
    return int(digits) if digits.isdigit() else 0
