"""The Python worker: runs cells like the REPL does, reading them from one pipe and reporting on another.

Usage: python -u python_worker.py CELL_FD DONE_FD. A cell is UTF-8 code ended by a NUL byte; after each cell
the worker writes its exit status as a decimal line to DONE_FD. Started by path, without importing the
`interpreter` package, so that it starts fast and the user's namespace and sys.path hold nothing of ours. It runs
on the person's Python, so it must run on any CPython 3.8 or newer with the standard library alone.

Figures: matplotlib gets a non-interactive backend (no window, no hang without a display). Each figure a cell shows
(`plt.show()`) or leaves open is drawn as PNG and closed, as a notebook does, and sent to the tool on DONE_FD as a
line `figure <base64>` before the cell's status: no file, no folder, nothing named to the processes cells start
(figures.py says why). matplotlib is never imported here: a cell that does not use it does not pay for it.
"""

from __future__ import annotations

import ast
import binascii
import builtins
import contextlib
import importlib
import importlib.machinery
import io
import linecache
import os
import signal
import sys
import traceback
import types
from collections.abc import Iterator, Sequence
from typing import Any

_READ_SIZE = 1 << 16
_FIGURE_LINE = b"figure "  # what starts a figure's line on the done pipe (figures.py reads it)
_BACKEND = "steady_interpreter_backend"  # the matplotlib backend below, found by the import hook alone


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
    figures = _Figures.install(done_fd)
    worker = os.getpid()
    for number, source in enumerate(_cells(cell_fd), start=1):
        status = _run(source, f"<cell {number}>", namespace, worker)
        figures.save_open()
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


class _Figures:
    """Sends matplotlib's open figures as PNG lines on the done pipe `fd`, then closes them."""

    def __init__(self, fd: int) -> None:
        self._fd = fd

    @classmethod
    def install(cls, fd: int) -> _Figures:
        """Give matplotlib a backend here that sends figures on `fd`, and Agg (no window) to the cells' processes."""
        os.environ["MPLBACKEND"] = "Agg"  # what the cells' own processes get: no window
        figures = cls(fd)
        sys.meta_path.insert(0, _MatplotlibHook(figures))
        return figures

    def show(self, *args: object, **kwargs: object) -> None:
        """`plt.show()`: send every open figure and close it."""
        pyplot = sys.modules["matplotlib.pyplot"]
        for number in pyplot.get_fignums():
            picture = io.BytesIO()
            pyplot.figure(number).savefig(picture, format="png")
            self._send(picture.getvalue())
        pyplot.close("all")

    def _send(self, png: bytes) -> None:
        """One figure's line, written whole (a pipe may take a long line in parts)."""
        line = memoryview(_FIGURE_LINE + binascii.b2a_base64(png, newline=False) + b"\n")
        while line:
            line = line[os.write(self._fd, line) :]

    def save_open(self) -> None:
        """After a cell: send the figures it left open, if it used pyplot; a failure is said on stderr."""
        if "matplotlib.pyplot" not in sys.modules:
            return
        try:
            self.show()
        except Exception as error:  # any failure of a figure's drawing must not end the worker
            sys.stderr.write(f"[a figure could not be saved: {type(error).__name__}: {error}]\n")


class _MatplotlibHook:
    """An import hook: once matplotlib is imported it uses the backend below, which the hook alone can find.

    Only the worker's own process uses it; the processes cells start get MPLBACKEND=Agg, which they can load.
    """

    def __init__(self, figures: _Figures) -> None:
        self._figures = figures

    def find_spec(
        self, name: str, path: Sequence[str] | None = None, target: types.ModuleType | None = None
    ) -> importlib.machinery.ModuleSpec | None:
        """Our backend's spec; matplotlib's, as the other finders find it, set to choose that backend."""
        if name == _BACKEND:
            # The import system takes any loader with create_module and exec_module; importlib.abc costs start-up.
            return importlib.machinery.ModuleSpec(name, _Backend(self._figures))  # type: ignore[arg-type]
        if name != "matplotlib":
            return None
        for finder in sys.meta_path:
            found = None if finder is self else getattr(finder, "find_spec", None)
            spec: importlib.machinery.ModuleSpec | None = found(name, path, target) if found is not None else None
            if spec is not None and spec.loader is not None:
                spec.loader = _ChoosingBackend(spec.loader)  # type: ignore[assignment] # a loader, as above
                return spec
        return None


class _ChoosingBackend:
    """matplotlib's own loader, which then sets our backend (before pyplot is imported, so it is the first)."""

    def __init__(self, loader: Any) -> None:
        self._loader = loader

    def __getattr__(self, name: str) -> Any:
        return getattr(self._loader, name)

    def create_module(self, spec: importlib.machinery.ModuleSpec) -> types.ModuleType | None:
        return self._loader.create_module(spec)  # type: ignore[no-any-return]

    def exec_module(self, module: types.ModuleType) -> None:
        self._loader.exec_module(module)
        module.rcParams["backend"] = "module://" + _BACKEND


class _Backend:
    """Loads the backend matplotlib is given: Agg's canvas, and a `show` that saves the figures."""

    def __init__(self, figures: _Figures) -> None:
        self._figures = figures

    def create_module(self, spec: importlib.machinery.ModuleSpec) -> None:
        return None

    def exec_module(self, module: types.ModuleType) -> None:
        agg = importlib.import_module("matplotlib.backends.backend_agg")  # by name: not a dependency of ours
        module.FigureCanvas = agg.FigureCanvasAgg  # type: ignore[attr-defined]
        module.FigureManager = agg.FigureManagerBase  # type: ignore[attr-defined]
        module.show = self._figures.show  # type: ignore[attr-defined]


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


def _run(source: str, filename: str, namespace: dict[str, Any], worker: int) -> int:
    """Run one cell, interruptible; its exit status. A process the cell forked ends here instead of returning."""
    # Registered like IPython does, so tracebacks can show the cell's lines.
    linecache.cache[filename] = (len(source), None, source.splitlines(keepends=True), filename)
    status = 1
    try:
        with _interruptible():
            status = _execute(source, filename, namespace)
    except KeyboardInterrupt:  # arrived after the cell's own code, while its outcome was being reported
        pass
    finally:
        # A forked child that left the cell's code (KeyboardInterrupt, sys.exit, its last line) must not go on
        # to the worker's loop: it would take the next cells and report on the worker's pipes.
        if os.getpid() != worker:
            _flush()
            os._exit(status & 0xFF)
    return status


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
