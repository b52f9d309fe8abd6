"""Kernel: runs the cells of one language in one long-lived worker, with timeouts, interrupts and restarts."""

from __future__ import annotations

import enum
import signal
from collections.abc import Callable, Generator, Iterator, Mapping
from functools import partial
from pathlib import Path
from typing import TypeVar

from interpreter.errors import ExecutionError
from interpreter.execution.languages import Language
from interpreter.execution.output import OutputCap
from interpreter.execution.worker import Worker
from interpreter.messages import OutputChunk, RunResult

# How often a waiting run checks that its worker is alive: a background job may hold every pipe open after the
# worker died, so neither EOF nor a status would ever tell us.
_TICK = 0.05

T = TypeVar("T")
Pump = Generator[OutputChunk, None, "tuple[_End, int | None]"]


class _End(enum.Enum):
    """How waiting for a cell ended."""

    COMPLETED = "completed"  # the worker reported the cell's status
    EXITED = "exited"  # the worker process ended
    TIMED_OUT = "timed out"  # the deadline passed first


class Kernel:
    """One language's worker: started on first use, kept between cells, replaced when it was lost."""

    def __init__(
        self,
        language: Language,
        executable: str,
        *,
        cwd: Path | None,
        env: Mapping[str, str],
        output_cap: int,
        grace: float,
        clock: Callable[[], float],
    ) -> None:
        self._language = language
        self._command = partial(language.command, executable)
        self._cwd = cwd
        self._env = env
        self._output_cap = output_cap
        self._grace = grace
        self._clock = clock
        self._worker: Worker | None = None
        self._lost = False
        self._busy = False
        self._closed = False

    def run(self, code: str, timeout: float | None) -> Generator[OutputChunk | RunResult, None, None]:
        """Run one cell, yielding its output as it comes and its RunResult last."""
        if self._closed:
            raise ExecutionError("the executor is closed")
        if self._busy:
            raise ExecutionError(f"a {self._language.name} cell is already running")
        self._busy = True
        try:
            yield from self._run(code, timeout)
        finally:
            self._busy = False

    def close(self) -> None:
        """End the worker, if one was started, and refuse to run more cells."""
        self._closed = True
        worker, self._worker = self._worker, None
        if worker is not None:
            worker.close()

    def _run(self, code: str, timeout: float | None) -> Iterator[OutputChunk | RunResult]:
        """Start the worker if needed, run the cell, and describe how it ended."""
        started = self._clock()
        cap = OutputCap(self._output_cap)
        worker, restarted = self._ensure_worker()
        if restarted:
            yield from _show(cap.note(_RESTARTED.format(name=self._language.name)))
        # The timeout is the cell's: starting the worker does not count.
        deadline = None if timeout is None else self._clock() + timeout
        try:
            worker.send(code)
            end, status = yield from self._pump(worker, cap, deadline)
            timed_out = end is _End.TIMED_OUT
            if timed_out:
                end, status = yield from self._escalate(worker, cap)
        except BaseException:
            # Ctrl-C, or the caller dropped the run: stop the cell before letting the exception go on.
            if worker is self._worker and worker.in_cell:
                _exhaust(self._escalate(worker, cap))
            raise
        if end is _End.EXITED:
            self._discard(worker)
        yield from _show(cap.finish())
        note = self._closing_note(end, status, timeout if timed_out else None)
        if note:
            yield from _show(cap.note(note))
        yield RunResult(
            output=cap.output,
            exit_status=None if timed_out else status,
            cut_bytes=cap.cut,
            tail=cap.tail,
            elapsed=self._clock() - started,
            interrupted=timed_out,
            restarted=restarted,
        )

    def _ensure_worker(self) -> tuple[Worker, bool]:
        """The live worker, started if needed, and whether it replaces one that was lost."""
        if self._worker is not None and self._worker.process.poll() is not None:
            self._discard(self._worker)
        if self._worker is not None:
            return self._worker, False
        self._worker = Worker.start(self._command, cwd=self._cwd, env=self._env)
        restarted, self._lost = self._lost, False
        return self._worker, restarted

    def _pump(self, worker: Worker, cap: OutputCap, deadline: float | None) -> Pump:
        """Yield output until the cell completes, the worker ends, or `deadline` passes."""
        while True:
            wait = _TICK if deadline is None else min(_TICK, deadline - self._clock())
            if wait <= 0:
                return _End.TIMED_OUT, None
            output, status = worker.read(wait)
            yield from _show(cap.feed(output))
            end = _End.COMPLETED
            if status is None:
                end, status = _End.EXITED, worker.process.poll()
            if status is not None:
                for data in worker.drain():
                    yield from _show(cap.feed(data))
                return end, status

    def _escalate(self, worker: Worker, cap: OutputCap) -> Pump:
        """Interrupt the cell (SIGINT) and give it `grace` seconds to complete; past that, kill the worker."""
        end, status = _End.TIMED_OUT, None
        try:
            worker.process.signal(signal.SIGINT)
            end, status = yield from self._pump(worker, cap, self._clock() + self._grace)
        finally:
            if end is not _End.COMPLETED:
                self._discard(worker)
        return end, status

    def _discard(self, worker: Worker) -> None:
        """End a worker whose state is gone; the next run starts a new one and says so."""
        if worker is self._worker:
            self._worker = None
            self._lost = True
        worker.close()

    def _closing_note(self, end: _End, status: int | None, timed_out_after: float | None) -> str:
        """What the model is told about how the cell ended, beyond its output ("" if it just completed)."""
        name = self._language.name
        if timed_out_after is not None and end is _End.COMPLETED:
            return f"timed out after {timed_out_after:g} s and was interrupted"
        if timed_out_after is not None:
            return f"timed out after {timed_out_after:g} s; the {name} process was stopped, so its state is lost"
        if end is _End.EXITED:
            return f"the {name} process {_describe_exit(status)}; the next cell starts a new one"
        return ""


_RESTARTED = (
    "started a new {name} process: the previous one ended, so variables and other state from earlier cells are gone"
)


def _describe_exit(status: int | None) -> str:
    """'exited with status 3' or 'was killed by SIGKILL'."""
    if status is None or status >= 0:
        return f"exited with status {status}"
    try:
        return f"was killed by {signal.Signals(-status).name}"
    except ValueError:
        return f"was killed by signal {-status}"


def _show(text: str) -> Iterator[OutputChunk]:
    """One chunk of `text`, or nothing when it is empty."""
    if text:
        yield OutputChunk(text)


def _exhaust(pump: Generator[object, None, T]) -> T:
    """Run a generator to its end, dropping what it yields, and return its value."""
    while True:
        try:
            next(pump)
        except StopIteration as stop:
            value: T = stop.value
            return value
