"""Files that one process at a time holds, files written whole, and files grown at their end: flock-based locks,
atomic private writes, and synced appends.

A lock is an exclusive `flock` on a file that holds its holder's PID; the kernel drops it when the process dies,
however it dies. An atomic write goes to a private (0600) temp file beside its target, held locked while it is
written (so a sweep of leftovers can tell a save under way from a killed one), then renamed over the target. An
append adds bytes at the end of a file that is still the one its writer left (the same inode and size), and syncs
them: a crash midway can leave only a torn end, never change what was there.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import tempfile
from pathlib import Path


def lock(path: Path) -> int | None:
    """An exclusive lock on `path`, with our PID in it: its fd; None if impossible here; BlockingIOError if taken."""
    while True:
        try:
            fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
        except OSError:
            return None  # cannot be created (a read-only home): go on without a lock
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            raise
        except OSError:  # locks not supported here (some network file systems)
            os.close(fd)
            return None
        if _is_file_at(fd, path):
            _write_pid(fd)
            return fd
        os.close(fd)  # its holder removed it between our open and our lock: lock the file now at `path`


def _write_pid(fd: int) -> None:
    """Our PID into the lock file, for `holder`; on a full disk the lock holds all the same, its holder unnamed."""
    with contextlib.suppress(OSError):
        os.ftruncate(fd, 0)
        os.write(fd, f"{os.getpid()}\n".encode())


def _is_file_at(fd: int, path: Path) -> bool:
    """Whether `fd` is still the file at `path` (not one removed from there since it was opened)."""
    try:
        return os.fstat(fd).st_ino == path.stat().st_ino
    except FileNotFoundError:
        return False


def holder(path: Path) -> str:
    """`PID 1234`: the process holding the lock at `path`, as it wrote there."""
    try:
        pid = path.read_text(encoding="ascii").strip()
    except (OSError, UnicodeError):
        pid = ""
    return f"PID {pid}" if pid.isdigit() else "PID unknown"


def is_held(path: Path) -> bool:
    """Whether a live process holds a lock on the file at `path` (a save under way holds its temp file)."""
    fd = os.open(path, os.O_RDONLY)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return True
    finally:
        os.close(fd)
    return False


def write_atomically(path: Path, text: str) -> os.stat_result:
    """Write `text` to a private temp file beside `path`, locked while it is written, then rename it over `path`;
    the file's status once written (its inode and size, for `append`)."""
    fd, temp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.stem}.", suffix=".tmp")  # mkstemp makes it 0600
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)  # tells another session's sweep that this save is alive
        with os.fdopen(fd, "w", encoding="utf-8") as file:
            file.write(text)
            file.flush()
            os.fsync(file.fileno())
            written = os.fstat(file.fileno())
            os.replace(temp, path)
    except BaseException:
        with contextlib.suppress(OSError):  # the folder locked meanwhile: a sweep removes it later
            Path(temp).unlink(missing_ok=True)
        raise
    return written


def append(path: Path, data: bytes, *, expected: tuple[int, int]) -> tuple[int, int] | None:
    """Add `data` at the end of `path` and sync it, if `path` is still the file whose (inode, size) is `expected`:
    its (inode, size) then; None, writing nothing, when it is not (gone, replaced or changed since)."""
    try:
        fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CLOEXEC)
    except FileNotFoundError:
        return None
    try:
        status = os.fstat(fd)
        if (status.st_ino, status.st_size) != expected:
            return None
        rest = memoryview(data)
        while rest:  # a write may take part of the bytes (a disk filling up); the next one then says why
            rest = rest[os.write(fd, rest) :]
        os.fsync(fd)
        return status.st_ino, status.st_size + len(data)
    finally:
        os.close(fd)
