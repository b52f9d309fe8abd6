"""The Python worker: runs cells like the REPL does, reading them from one pipe and reporting on another.

Usage: python -u python_worker.py CELL_FD DONE_FD. A cell is UTF-8 code ended by a NUL byte; after each cell
the worker writes its exit status as a decimal line to DONE_FD. Started by path, without importing the
`interpreter` package, so that it starts fast and the user's namespace and sys.path hold nothing of ours.
"""

from __future__ import annotations

import ast
import builtins
import contextlib
import io
import linecache
import os
import signal
import sys
import traceback
import types
from collections.abc import Iterator
from typing import Any

_READ_SIZE = 1 << 16


def _ignore_interrupt(signum: int, frame: types.FrameType | None) -> None:
    """SIGINT handler of an idle worker: there is no cell to stop, and the worker must live on."""


@contextlib.contextmanager
def _interruptible() -> Iterator[None]:
    """Let SIGINT raise KeyboardInterrupt while a cell runs, as in the REPL; a handler the cell set stays."""
    if signal.getsignal(signal.SIGINT) is _ignore_interrupt:
        signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        yield
    finally:
        if signal.getsignal(signal.SIGINT) is signal.default_int_handler:
            signal.signal(signal.SIGINT, _ignore_interrupt)


def main() -> None:
    """Serve cells until the cell pipe is closed."""
    cell_fd, done_fd = int(sys.argv[1]), int(sys.argv[2])
    # Processes the cells start must not hold the protocol pipes open.
    os.set_inheritable(cell_fd, False)
    os.set_inheritable(done_fd, False)
    sys.argv = [""]
    if sys.path[0] == os.path.dirname(os.path.realpath(__file__)):
        sys.path[0] = ""  # like the REPL: imports look in the working directory, not in this file's directory
    namespace = _main_namespace()
    signal.signal(signal.SIGINT, _ignore_interrupt)
    standard = _Standard()
    for number, source in enumerate(_cells(cell_fd), start=1):
        status = _run(source, f"<cell {number}>", namespace)
        _flush()
        standard.restore()
        os.write(done_fd, b"%d\n" % status)


class _Standard:
    """The worker's stdin, stdout and stderr, as streams and as descriptors, put back after a cell changed them.

    So a cell that silenced output (`sys.stdout = open(os.devnull, "w")`, `os.dup2(devnull, 1)`, closing a
    stream) does not silence every later cell; the cell's output says what was put back, so the model knows.
    """

    _NAMES = ("stdin", "stdout", "stderr")

    def __init__(self) -> None:
        self._streams = {name: getattr(sys, name) for name in self._NAMES}
        self._saved = {fd: os.dup(fd) for fd in range(len(self._NAMES))}  # not inherited by the cells' processes

    def restore(self) -> None:
        """Put back what the last cell changed, saying so on stdout."""
        changed = [f"fd {fd}" for fd, saved in self._saved.items() if self._restore_fd(fd, saved)]
        changed += [f"sys.{name}" for name in self._NAMES if self._restore_stream(name)]
        if changed:
            sys.stdout.write(f"[this cell replaced or closed {', '.join(changed)}; restored for the next cell]\n")
            sys.stdout.flush()

    @staticmethod
    def _restore_fd(fd: int, saved: int) -> bool:
        """Point `fd` at the file it started with again; whether it had been moved or closed."""
        with contextlib.suppress(OSError):  # a closed fd has no status
            now, then = os.fstat(fd), os.fstat(saved)
            if (now.st_dev, now.st_ino) == (then.st_dev, then.st_ino):
                return False
        os.dup2(saved, fd)
        return True

    def _restore_stream(self, name: str) -> bool:
        """Make `sys.<name>` the worker's own, usable stream again; whether it had been replaced or closed."""
        stream = self._streams[name]
        if getattr(sys, name) is stream and not stream.closed:
            return False
        if stream.closed:
            stream = self._streams[name] = _reopen(stream, self._NAMES.index(name))
        setattr(sys, name, stream)
        return True


def _reopen(stream: Any, fd: int) -> io.TextIOWrapper:
    """A new text stream on `fd`, for a standard stream that was closed, encoded as it was."""
    raw = open(fd, "rb" if fd == 0 else "wb", buffering=0, closefd=False)  # noqa: SIM115 - it lives on
    return io.TextIOWrapper(raw, stream.encoding, stream.errors, line_buffering=True, write_through=True)


def _main_namespace() -> dict[str, Any]:
    """A fresh `__main__` module for the cells, so pickle and multiprocessing find what they define."""
    module = types.ModuleType("__main__")
    module.__dict__["__builtins__"] = builtins
    sys.modules["__main__"] = module
    return module.__dict__


def _cells(fd: int) -> Iterator[str]:
    """Each NUL-terminated cell read from `fd`, until it is closed."""
    pending = b""
    while data := os.read(fd, _READ_SIZE):
        pending += data
        *cells, pending = pending.split(b"\0")
        for cell in cells:
            yield cell.decode("utf-8", "replace")


def _run(source: str, filename: str, namespace: dict[str, Any]) -> int:
    """Run one cell, interruptible; its exit status."""
    # Registered like IPython does, so tracebacks can show the cell's lines.
    linecache.cache[filename] = (len(source), None, source.splitlines(keepends=True), filename)
    try:
        with _interruptible():
            return _execute(source, filename, namespace)
    except KeyboardInterrupt:  # arrived after the cell's own code, while its outcome was being reported
        return 1


def _execute(source: str, filename: str, namespace: dict[str, Any]) -> int:
    """Run the cell, showing a final expression's value; print a traceback of the cell's code if it fails."""
    try:
        tree = ast.parse(source, filename)
    except SyntaxError as error:
        sys.stderr.write("".join(traceback.format_exception_only(type(error), error)))
        return 1
    last = tree.body.pop() if tree.body and isinstance(tree.body[-1], ast.Expr) else None
    try:
        exec(compile(tree, filename, "exec", dont_inherit=True), namespace)
        if last is not None:
            # "single" mode is the REPL's: it hands the value to sys.displayhook (repr, None skipped).
            exec(compile(ast.Interactive(body=[last]), filename, "single", dont_inherit=True), namespace)
    except SystemExit as exit_:
        return _exit_status(exit_)
    except BaseException as error:
        _print_traceback(error)
        return 1
    return 0


def _exit_status(exit_: SystemExit) -> int:
    """The status sys.exit() asked for, printing a message given instead of a number, as Python does."""
    if exit_.code is None:
        return 0
    if isinstance(exit_.code, int):
        return exit_.code
    print(exit_.code, file=sys.stderr)
    return 1


def _print_traceback(error: BaseException) -> None:
    """Print the error's traceback without this file's frames."""
    tb = error.__traceback__
    while tb is not None and tb.tb_frame.f_code.co_filename == __file__:
        tb = tb.tb_next
    traceback.print_exception(type(error), error, tb)


def _flush() -> None:
    """Push out what the cell printed before reporting it done."""
    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(Exception):  # the cell may have closed or replaced the stream
            stream.flush()


if __name__ == "__main__":
    main()
