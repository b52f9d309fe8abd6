"""Figures cells draw: sent by the python worker over its own pipe, checked, then kept as numbered PNG files.

The worker (python_worker.py) writes each matplotlib figure a cell shows, or leaves open, to its done pipe as one
line, `figure <base64 of the PNG>`; done_pipe.py hands each such line to the kernel's FigureInbox, and after the cell
the executor has the FigureShelf write them to INTERPRETER_HOME/outputs/<conversation id>/figure-N.png, N counting
on from the conversation's last figure, so `%open N` finds one whatever session drew it.

Why a pipe, not a folder: a cell runs in the worker's own process and may write /tmp even when sandboxed, so a spool
folder could be renamed and replaced by a symlink to a folder of the person's, whose pictures the tool then moved
and deleted. Over the pipe the tool takes bytes only. A cell can write that pipe too (it is a descriptor of its
process), so whatever comes is checked: a PNG within FIGURE_LIMIT is filed, anything else is refused with a line,
and at most FIGURES_PER_CELL are kept. Filing only ever creates new files in the tool's own folder, opened beneath
it without following a link; no path a cell could name is followed, moved or deleted.
"""

from __future__ import annotations

import binascii
import contextlib
import errno
import os
import re
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path

from interpreter.errors import ExecutionError, FileRefused
from interpreter.messages import Figure
from interpreter.trust.regular_files import read_regular, size_text

OUTPUTS = "outputs"
FIGURE_LINE = b"figure "  # what starts a figure's line on the done pipe (python_worker.py writes it)
# matplotlib writes a default figure (6.4 x 4.8 in at 100 dpi) in tens of kB, and a dense one at 300 dpi in a few MB;
# 8 MiB is past any ordinary figure (twice what the model is ever sent: vision.MAX_IMAGE_BYTES) while bounding what
# a runaway or forging cell makes the tool hold: FIGURES_PER_CELL of them, 160 MiB, at worst.
FIGURE_LIMIT = 8 << 20
FIGURES_PER_CELL = 20  # more is a loop drawing without end, not figures anyone will look at
LINE_LIMIT = len(FIGURE_LINE) + 4 * -(-FIGURE_LIMIT // 3)  # the longest figure line: base64 of FIGURE_LIMIT bytes
_PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
_HEADER = 24  # the signature, then the IHDR chunk's length, type, width and height
_CREATE = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC
_NAME = re.compile(r"figure-([0-9]+)\.png")
_FOLDER = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC


class FigureInbox:
    """The figures a worker sent since they were last taken: each checked as it comes, and lines for those refused."""

    def __init__(self) -> None:
        self._pictures: list[bytes] = []
        self._refused: list[str] = []
        self._over = 0  # figures past FIGURES_PER_CELL

    def receive(self, encoded: bytes) -> None:
        """One figure line's base64 text: kept if it is a PNG within the caps, else refused with a line saying why."""
        try:
            data = binascii.a2b_base64(encoded, strict_mode=True)
        except binascii.Error:
            return self._refuse("it was garbled on its way (not base64)")
        if len(data) > FIGURE_LIMIT:
            return self.refuse_large()
        if png_dimensions(data) is None:
            return self._refuse("it is not a PNG picture")
        if len(self._pictures) == FIGURES_PER_CELL:
            self._over += 1
            return None
        self._pictures.append(data)
        return None

    def refuse_large(self) -> None:
        """A figure over FIGURE_LIMIT came (its line is dropped unread): say so."""
        self._refuse(f"it is over the {size_text(FIGURE_LIMIT)} a figure may be (save it to a file instead)")

    def take(self) -> tuple[list[bytes], list[str]]:
        """The pictures kept and the lines of those refused since the last call, in the order they came."""
        if self._over:
            self._refused.append(f"{self._over} more figures were not kept: a cell keeps at most {FIGURES_PER_CELL}")
        taken = self._pictures, self._refused
        self._pictures, self._refused, self._over = [], [], 0
        return taken

    def _refuse(self, why: str) -> None:
        self._refused.append(f"a figure was not kept: {why}")


class FigureShelf:
    """Where a session's figures are kept: the current conversation's folder beneath `root`."""

    def __init__(self, root: Path, conversation: Callable[[], str]) -> None:
        self._root = root.absolute()  # figures are named by absolute paths (and file:// links)
        self._conversation = conversation  # the id of the conversation going on now

    def file(self, pictures: Sequence[bytes]) -> list[Figure]:
        """Write `pictures` (checked PNGs) into the conversation's folder as its next figures; ExecutionError if not."""
        if not pictures:
            return []
        folder = self.folder()
        try:
            with _opened_folder(self._root, folder.name) as folder_fd:
                return [_keep(data, folder, folder_fd) for data in pictures]
        except OSError as exc:
            raise ExecutionError(f"a figure could not be kept in {folder}: {_reason(exc)}") from exc

    def folder(self) -> Path:
        """The current conversation's folder of figures."""
        return self._root / self._conversation()

    def find(self, number: int) -> Path | None:
        """Figure `number` of the current conversation, if it exists as a file (a link there is not followed)."""
        path = self.folder() / f"figure-{number}.png"
        return path if path.is_file() and not path.is_symlink() else None


def png_dimensions(data: bytes) -> tuple[int, int] | None:
    """(width, height) of the PNG picture `data` begins; None when it does not begin one."""
    if len(data) < _HEADER or not data.startswith(_PNG_SIGNATURE) or data[12:16] != b"IHDR":
        return None
    return int.from_bytes(data[16:20], "big"), int.from_bytes(data[20:24], "big")


def read_figure(path: Path, limit: int) -> bytes | None:
    """The PNG file at `path`, a regular file of at most `limit` bytes, not a link; None when it is anything else."""
    try:
        data = read_regular(path, limit=limit, follow=False)
    except FileRefused:
        return None
    return data if png_dimensions(data) is not None else None


@contextlib.contextmanager
def _opened_folder(root: Path, name: str) -> Iterator[int]:
    """A descriptor of the folder `name` beneath `root`, made if need be; a link in its place is not followed."""
    root.mkdir(parents=True, exist_ok=True, mode=0o700)
    root_fd = os.open(root, _FOLDER)
    try:
        with contextlib.suppress(FileExistsError):
            os.mkdir(name, 0o700, dir_fd=root_fd)
        folder_fd = os.open(name, _FOLDER, dir_fd=root_fd)
    finally:
        os.close(root_fd)
    try:
        yield folder_fd
    finally:
        os.close(folder_fd)


def _keep(data: bytes, folder: Path, folder_fd: int) -> Figure:
    """Write one picture into the folder as a new file, the next figure; whatever is there already is left alone."""
    fd, number = _create(folder_fd, 1 + max((_number(name) for name in os.listdir(folder_fd)), default=0))
    try:
        with open(fd, "wb") as file:
            file.write(data)
    except OSError:  # a full disk: the file just made holds part of a picture, or none, and is never a figure
        with contextlib.suppress(OSError):
            os.unlink(f"figure-{number}.png", dir_fd=folder_fd)  # a link a cell put there instead goes, not its target
        raise
    width, height = png_dimensions(data) or (0, 0)
    return Figure(number, str(folder / f"figure-{number}.png"), width, height)


def _create(folder_fd: int, number: int) -> tuple[int, int]:
    """A new file figure-N.png, N from `number` on, and N: a name taken (even by a link) is passed over, not opened."""
    while True:
        try:
            return os.open(f"figure-{number}.png", _CREATE, 0o600, dir_fd=folder_fd), number
        except FileExistsError:
            number += 1


def _reason(error: OSError) -> str:
    """Why filing failed, in words (a link to a folder, opened without following, fails as not being one)."""
    if error.errno in (errno.ELOOP, errno.ENOTDIR):
        return "a link or a file is where its folder should be, and it is not followed"
    return error.strerror or str(error)


def _number(name: str) -> int:
    """N of figure-N.png; 0 for a name of another form."""
    found = _NAME.fullmatch(name)
    return int(found[1]) if found else 0
