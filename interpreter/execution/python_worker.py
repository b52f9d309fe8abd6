"""The Python worker: runs cells like the REPL does, reading them from one pipe and reporting on another.

Usage: python -u python_worker.py CELL_FD DONE_FD. A cell is UTF-8 code ended by a NUL byte; after each cell
the worker writes its exit status as a decimal line to DONE_FD. Started by path, without importing the
`interpreter` package, so that it starts fast and the user's namespace and sys.path hold nothing of ours.
"""

from __future__ import annotations

import ast
import builtins
import contextlib
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
    for number, source in enumerate(_cells(cell_fd), start=1):
        status = _run(source, f"<cell {number}>", namespace)
        _flush()
        os.write(done_fd, b"%d\n" % status)


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
