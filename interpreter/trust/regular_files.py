"""Reading a file the tool was pointed at: a regular file only, checked on the open descriptor, read bounded.

A path named by a person, a conversation or a cell may be a FIFO (an open blocks until a writer comes), a device
(`/dev/zero` never ends), a directory, or a symlink swapped in after any check by name. So the file is opened
non-blocking (a FIFO opens at once), checked with `fstat` on that descriptor (what is checked is what is read),
and read up to a limit: anything else is FileRefused, one line naming the path and what it is.
"""

from __future__ import annotations

import errno
import os
import stat
from pathlib import Path

from interpreter.errors import FileRefused

_KINDS = (
    (stat.S_ISDIR, "a directory"),
    (stat.S_ISFIFO, "a FIFO (named pipe)"),
    (stat.S_ISCHR, "a character device"),
    (stat.S_ISBLK, "a block device"),
    (stat.S_ISSOCK, "a socket"),
)
_CHUNK = 1 << 16


def read_regular(path: str | Path, *, limit: int, follow: bool = True, dir_fd: int | None = None) -> bytes:
    """The bytes of the regular file `path`, at most `limit` of them; FileRefused for anything else.

    `follow=False` refuses a symlink as the last part of the path; `dir_fd` resolves a relative path in that folder.
    """
    flags = os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC | (0 if follow else os.O_NOFOLLOW)
    try:
        fd = os.open(path, flags, dir_fd=dir_fd)
    except OSError as exc:
        raise FileRefused(f"cannot read {path}: {_reason(exc, follow)}") from exc
    try:
        return _read_checked(fd, path, limit)
    finally:
        os.close(fd)


def describe(mode: int) -> str:
    """What a file of this mode is, in words ("a FIFO (named pipe)"); "a regular file" for one."""
    return next((words for test, words in _KINDS if test(mode)), "a regular file" if stat.S_ISREG(mode) else "odd")


def size_text(size: int) -> str:
    """A byte count the way people read it: 812 B, 1.2 kB, 3.4 MB."""
    amount, unit = float(size), "B"
    for bigger in ("kB", "MB", "GB"):
        if amount < 1000:
            break
        amount, unit = amount / 1000, bigger
    return f"{size} B" if unit == "B" else f"{amount:.1f} {unit}"


def _read_checked(fd: int, path: str | Path, limit: int) -> bytes:
    """Check that `fd` is a regular file within `limit`, then read it (bounded, should it grow meanwhile)."""
    status = os.fstat(fd)
    if not stat.S_ISREG(status.st_mode):
        raise FileRefused(f"cannot read {path}: it is {describe(status.st_mode)}, not a regular file")
    if status.st_size > limit:
        raise FileRefused(f"cannot read {path}: it is {size_text(status.st_size)}, over the {size_text(limit)} read")
    os.set_blocking(fd, True)
    chunks: list[bytes] = []
    total = 0
    while total <= limit:
        chunk = os.read(fd, min(_CHUNK, limit + 1 - total))
        if not chunk:
            return b"".join(chunks)
        chunks.append(chunk)
        total += len(chunk)
    raise FileRefused(f"cannot read {path}: it grew past {size_text(limit)} while being read")


def _reason(error: OSError, follow: bool) -> str:
    """Why an open failed, in words (ELOOP without following means the path is a symlink)."""
    if error.errno == errno.ELOOP and not follow:
        return "it is a symbolic link, which is not followed here"
    return error.strerror or str(error)
