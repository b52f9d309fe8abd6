"""Worker: a started language worker process and the parent's ends of the pipes of the cell protocol.

The protocol: a cell is its UTF-8 code and a NUL byte, written to the worker's cell pipe; when the cell is
done the worker writes its exit status as a decimal line to the done pipe, after a line for each figure it drew
(done_pipe.py reads them). Output travels apart, on stdout and stderr, so nothing the code prints can be mistaken
for the protocol.
"""

from __future__ import annotations

import contextlib
import os
import selectors
from collections.abc import Callable, Iterator, Mapping, Sequence
from pathlib import Path

from interpreter.execution.done_pipe import DoneLines
from interpreter.execution.figures import FigureInbox
from interpreter.execution.process import GroupProcess

_READ_SIZE = 1 << 16
# What is left in the output pipe when a cell completes is at most the pipe's capacity (64 KiB by default,
# 1 MiB at most on Linux); stopping there means a background job that keeps writing cannot hold the run open.
_DRAIN_LIMIT = 1 << 20
# How long close() lets the worker obey SIGTERM before SIGKILL.
_TERM_WAIT = 1.0

Command = Callable[[int, int], list[str]]


class Worker:
    """A worker process with its cell pipe (we write), done pipe (we read) and output pipe (we read)."""

    def __init__(self, process: GroupProcess, cell_fd: int, done_fd: int, figures: FigureInbox) -> None:
        self.process = process
        self._closed = False
        self._cell_fd = cell_fd
        self._done_fd = done_fd
        self._done = DoneLines(figures)
        self._selector = selectors.DefaultSelector()
        for fd in (process.output_fd, done_fd):
            os.set_blocking(fd, False)
            self._selector.register(fd, selectors.EVENT_READ)
        self._open = {process.output_fd, done_fd}

    @classmethod
    def start(
        cls,
        command: Command,
        *,
        cwd: Path | None,
        env: Mapping[str, str],
        sweep_orphans: bool,
        figures: FigureInbox,
        sandbox: Sequence[str] = (),
    ) -> Worker:
        """Start the worker `command(cell_fd, done_fd)` describes, handing it the child ends of both pipes.

        The figures it sends go to `figures`. With `sandbox` arguments it is sandboxed (see sandbox.py).
        """
        cell_read, cell_write = os.pipe()
        done_read, done_write = os.pipe()
        try:
            process = GroupProcess.start(
                command(cell_read, done_write),
                cwd=cwd,
                env=env,
                pass_fds=(cell_read, done_write),
                term_wait=_TERM_WAIT,
                sweep_orphans=sweep_orphans,
                sandbox=sandbox,
            )
        except BaseException:
            os.close(cell_write)
            os.close(done_read)
            raise
        finally:
            os.close(cell_read)
            os.close(done_write)
        return cls(process, cell_write, done_read, figures)

    def send(self, code: str) -> None:
        """Hand the worker one cell (a worker that already died is noticed by `read`)."""
        data = code.encode("utf-8", "replace") + b"\0"
        with contextlib.suppress(BrokenPipeError):
            while data:
                data = data[os.write(self._cell_fd, data) :]

    def read(self, timeout: float) -> tuple[bytes, int | None]:
        """Wait up to `timeout` seconds; return the output that arrived and the cell's status if it came."""
        output, status = b"", None
        for key, _ in self._selector.select(timeout):
            if key.fd == self._done_fd:
                status = self._read_status()
            else:
                output = self._read_output()
        return output, status

    def drain(self) -> Iterator[bytes]:
        """The output already in the pipe, read without waiting."""
        total = 0
        while total < _DRAIN_LIMIT and (data := self._read_output()):
            total += len(data)
            yield data

    def close(self) -> None:
        """End the worker's whole process tree and close our pipe ends; closing twice is fine."""
        if self._closed:
            return
        self._closed = True
        try:
            self.process.close(_TERM_WAIT)
        finally:
            self._selector.close()
            os.close(self._cell_fd)
            os.close(self._done_fd)

    def _read_output(self) -> bytes:
        """What the output pipe holds now (b"" when empty or closed)."""
        fd = self.process.output_fd
        if fd not in self._open:
            return b""
        try:
            data = os.read(fd, _READ_SIZE)
        except BlockingIOError:
            return b""
        if not data:
            self._stop_watching(fd)
        return data

    def _read_status(self) -> int | None:
        """Read the done pipe; the status once its whole line has arrived (figures before it go to the inbox)."""
        data = os.read(self._done_fd, _READ_SIZE)
        if not data:
            self._stop_watching(self._done_fd)
        return self._done.feed(data)

    def _stop_watching(self, fd: int) -> None:
        """Forget a pipe whose writers are all gone, so select does not report its EOF forever."""
        self._open.discard(fd)
        self._selector.unregister(fd)
