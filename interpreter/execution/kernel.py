"""Kernel: runs the cells of one language in one long-lived worker, with named states, interrupts and restarts.

    IDLE ──run()──▶ RUNNING ──the cell completes, or its worker exits──▶ IDLE
                       │ interrupt(), Ctrl-C, a dropped run, the timeout: SIGINT to the worker's group
                       ▼
                  INTERRUPTING ──the cell completes within the grace period──▶ IDLE, state kept, and
                       │         every other process of the worker's group killed (what left it with setsid stays)
                       └─────────the grace period passes: the worker's tree is killed──▶ IDLE, state lost
    any state ──close()──▶ CLOSED: every process ended; no more cells

A worker that was lost is replaced by the next run, which says so. Processes a cell leaves running (background
jobs, detached daemons) are named in that run's output and live until the worker ends (see `execution`).
"""

from __future__ import annotations

import enum
import signal
import threading
import time
from collections.abc import Callable, Generator, Iterator, Mapping
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path

from interpreter.errors import ExecutionError
from interpreter.execution.figures import FigureInbox
from interpreter.execution.languages import Language
from interpreter.execution.output import OutputCap
from interpreter.execution.process import GroupProcess
from interpreter.execution.supervisor import Proc, command_line
from interpreter.execution.worker import Worker
from interpreter.messages import Notice, OutputChunk, RunResult, Runtime

# How often a waiting run checks that its worker is alive: a background job may hold every pipe open after the
# worker died, so neither EOF nor a status would ever tell us.
_TICK = 0.05
# How many of the processes a cell left running its note names; the rest are counted.
_NAMED = 5
_COMMAND_WIDTH = 40
# How long to let processes a cell just started settle before naming them.
_SETTLE = 0.02


class KernelState(enum.Enum):
    """Where a kernel is in its life."""

    IDLE = "idle"  # no cell is running; the worker, if one was started, waits for the next
    RUNNING = "running"  # a cell is running
    INTERRUPTING = "interrupting"  # the cell got SIGINT; past the grace period its worker is killed
    CLOSED = "closed"  # every process is ended and no cell will run


class _End(enum.Enum):
    """How a cell ended."""

    COMPLETED = "completed"  # the worker reported the cell's status
    EXITED = "exited"  # the worker process ended
    KILLED = "killed"  # it did not stop within the grace period, so we ended the worker
    CLOSED = "closed"  # the kernel was closed under it


class _Stop(enum.Enum):
    """Why a cell was sent SIGINT."""

    TIMEOUT = "timeout"
    INTERRUPT = "interrupt"


@dataclass
class _Cell:
    """The cell being run: its worker, its output so far, and how and when it must stop."""

    worker: Worker
    cap: OutputCap
    deadline: float | None  # when the timeout sends SIGINT
    lock: threading.Lock = field(default_factory=threading.Lock)  # held while the worker is read
    stop: _Stop | None = None  # why SIGINT was sent, once it was
    kill_at: float | None = None  # when the grace period after SIGINT ends
    requested: bool = False  # interrupt() from another thread, for the reading thread to act on
    unshown: str = ""  # output read by interrupt() that the run has not yielded yet
    outcome: tuple[_End, int | None] | None = None  # how it ended, and the status when there is one


class Kernel:
    """One language's worker: started on first use, kept between cells, replaced when it was lost."""

    def __init__(
        self,
        language: Language,
        runtime: Runtime,
        *,
        cwd: Path | None,
        env: Mapping[str, str],
        output_cap: int,
        grace: float,
        clock: Callable[[], float],
        sweep_orphans: bool = False,
        sandbox: tuple[str, ...] | None = None,
        intro: str = "",
        banner: str = "",
    ) -> None:
        self.state = KernelState.IDLE
        self._language = language
        self._runtime = runtime
        self._intro = intro  # a note of ours for the first cell's output, which the model is told too
        self._banner = banner  # a notice for the person before the first cell's output (which Python runs it)
        self._command = partial(language.command, runtime.path)
        self._cwd = cwd
        self._env = env
        self._output_cap = output_cap
        self._grace = grace
        self._clock = clock
        self._sweep_orphans = sweep_orphans
        self._sandbox = sandbox  # None: not sandboxed; else the supervisor's sandbox arguments (see sandbox.py)
        self._worker: Worker | None = None
        self._cell: _Cell | None = None
        self._lost = False
        self._reported: set[tuple[int, int]] = set()  # (pid, start) of processes a run already named
        self.figures = FigureInbox()  # what its workers sent of figures, until the executor takes them

    def run(self, code: str, timeout: float | None) -> Generator[OutputChunk | Notice | RunResult, None, None]:
        """Run one cell, yielding its output as it comes and its RunResult last; close() it to stop the cell."""
        if self.state is KernelState.CLOSED:
            raise ExecutionError("the executor is closed")
        if self._cell is not None:
            raise ExecutionError(f"a {self._language.name} cell is already running")
        started = self._clock()
        worker, restarted = self._ensure_worker()
        between = _between_cells(worker)
        # The timeout is the cell's: starting the worker does not count.
        cell = _Cell(worker, OutputCap(self._output_cap), None if timeout is None else self._clock() + timeout)
        self._cell, self.state = cell, KernelState.RUNNING
        try:
            worker.send(code)  # first: from here on, stopping the run means stopping the cell
            if self._banner:
                yield Notice(self._banner)
            if self._intro:
                yield from _show(cell.cap.note(self._intro))
            self._intro = self._banner = ""
            if restarted:
                yield from _show(cell.cap.note(_RESTARTED.format(name=self._language.name)))
            yield from _show(_set_apart(cell.cap, between))
            end, status = yield from self._wait(cell)
            left = self._left_running(worker) if end is _End.COMPLETED else ""
        except (KeyboardInterrupt, GeneratorExit):
            # Ctrl-C, or the caller dropped the run: stop the cell, keeping the worker if the cell obeys SIGINT.
            with cell.lock:
                self._stop(cell)
            raise
        except BaseException:
            # SIGTERM or SIGHUP to us (SystemExit), or a bug: no time for a grace period.
            with cell.lock:
                self._end(cell, _End.KILLED)
            raise
        finally:
            if cell.outcome is None:  # stopping it was cut short (Ctrl-C again): the worker's state is unknown
                self._end(cell, _End.KILLED)
            self._release(cell)
        yield from _show(cell.cap.finish())
        for note in (self._closing_note(cell, end, status, timeout), left):
            if note:
                yield from _show(cell.cap.note(note))
        yield RunResult(
            output=cell.cap.output,
            exit_status=None if cell.stop else status,
            cut_chars=cell.cap.cut,
            tail=cell.cap.tail,
            elapsed=self._clock() - started,
            interrupted=cell.stop is not None,
            restarted=restarted,
            sandboxed=self._sandbox is not None,
            runtime=self._runtime,
        )

    def interrupt(self) -> bool:
        """Stop the running cell as Ctrl-C does; False when none is running.

        Called from the thread that runs the cell (its KeyboardInterrupt handler, say), it sends SIGINT, waits
        up to the grace period, kills the worker past that, and returns once the cell has ended; the run, if
        resumed, yields the rest of the output and a RunResult. Called from another thread while that thread
        reads the cell, it only asks: the reading thread stops the cell.
        """
        cell = self._cell
        if cell is None or cell.outcome is not None or cell.stop is not None:
            return False
        if not cell.lock.acquire(blocking=False):
            cell.requested = True
            return True
        try:
            self._stop(cell)
        finally:
            cell.lock.release()
        return True

    def close(self) -> None:
        """End the worker's whole process tree, if one was started, and refuse to run more cells."""
        self.state = KernelState.CLOSED
        cell = self._cell
        if cell is not None:
            with cell.lock:
                self._end(cell, _End.CLOSED)
        worker, self._worker = self._worker, None
        if worker is not None:
            worker.close()

    def prepare(self) -> None:
        """Start the worker ahead of the first cell (it boots while other work goes on); idle kernels only."""
        if self.state is KernelState.IDLE:
            self._ensure_worker()

    def _ensure_worker(self) -> tuple[Worker, bool]:
        """The live worker, started if needed, and whether it replaces one that was lost."""
        if self._worker is not None and self._worker.process.poll() is not None:
            self._discard(self._worker)
        if self._worker is not None:
            return self._worker, False
        self._worker = Worker.start(
            self._command,
            cwd=self._cwd,
            env=self._env,
            sweep_orphans=self._sweep_orphans,
            figures=self.figures,
            sandbox=self._sandbox or (),
        )
        self._sweep_orphans = False
        self._reported.clear()
        # A language that keeps no state between cells loses nothing worth a word.
        restarted, self._lost = self._lost and self._language.keeps_state, False
        return self._worker, restarted

    def _wait(self, cell: _Cell) -> Generator[OutputChunk, None, tuple[_End, int | None]]:
        """Yield the cell's output as it comes until it has ended; how it ended."""
        while True:
            with cell.lock:
                text = self._step(cell)
            yield from _show(text)
            if cell.outcome is not None:
                return cell.outcome

    def _step(self, cell: _Cell) -> str:
        """One tick of a cell: read its output, notice its end, apply its timeout and grace period."""
        if cell.outcome is not None:
            text, cell.unshown = cell.unshown, ""
            return text
        if cell.requested and cell.stop is None:
            self._signal_stop(cell, _Stop.INTERRUPT)
        limit = cell.kill_at if cell.stop else cell.deadline
        wait = _TICK if limit is None else max(0.0, min(_TICK, limit - self._clock()))
        output, status = cell.worker.read(wait)
        text = cell.cap.feed(output)
        end = _End.COMPLETED
        if status is None:
            end, status = _End.EXITED, cell.worker.process.poll()
        if status is not None:
            text += "".join(cell.cap.feed(data) for data in cell.worker.drain())
            self._end(cell, end, status)
            return text
        # Only now, so a cell that ended just in time is not sent SIGINT: an idle shell would die of it.
        now = self._clock()
        if cell.stop is None and cell.deadline is not None and now >= cell.deadline:
            self._signal_stop(cell, _Stop.TIMEOUT)
        elif cell.kill_at is not None and now >= cell.kill_at:
            self._end(cell, _End.KILLED)
        return text

    def _stop(self, cell: _Cell) -> None:
        """Interrupt the cell now and wait until it has ended, keeping its output for the run to yield."""
        if cell.stop is None and cell.outcome is None:
            self._signal_stop(cell, _Stop.INTERRUPT)
        while cell.outcome is None:
            cell.unshown += self._step(cell)

    def _signal_stop(self, cell: _Cell, why: _Stop) -> None:
        """SIGINT to the cell's process group; the grace period starts."""
        cell.stop, cell.kill_at = why, self._clock() + self._grace
        if self.state is KernelState.RUNNING:
            self.state = KernelState.INTERRUPTING
        cell.worker.process.signal(signal.SIGINT)

    def _end(self, cell: _Cell, end: _End, status: int | None = None) -> None:
        """Record how the cell ended, ending its worker unless it just completed; the kernel is free again."""
        if cell.outcome is not None:
            return
        cell.outcome = (end, status)
        if end is not _End.COMPLETED:
            self._discard(cell.worker)
        elif cell.stop is not None:  # the cell obeyed SIGINT; what it forked may not have, nor leave when told
            cell.worker.process.end_group()
        self._release(cell)

    def _release(self, cell: _Cell) -> None:
        """The kernel no longer runs `cell`."""
        if self._cell is cell:
            self._cell = None
            if self.state is not KernelState.CLOSED:
                self.state = KernelState.IDLE

    def _discard(self, worker: Worker) -> None:
        """End a worker whose state is gone; the next run starts a new one and says so."""
        if worker is self._worker:
            self._worker = None
            self._lost = True
        worker.close()

    def _left_running(self, worker: Worker) -> str:
        """A note naming the processes the cell left running that no earlier note named ("" if none)."""
        if not self._new_descendants(worker):
            return ""
        # Look again a moment later: a process just forked shows its parent's command line until it execs, and
        # `setsid` leaves the session only once it runs.
        time.sleep(_SETTLE)
        found = self._new_descendants(worker)
        self._reported.update((proc.pid, proc.start) for proc in found)
        named = ", ".join(_describe(proc, worker.process) for proc in found[:_NAMED])
        more = f" and {len(found) - _NAMED} more" if len(found) > _NAMED else ""
        until = f"ended when the session ends or the {self._language.name} process is replaced"
        return f"still running: {named}{more} ({until})" if found else ""

    def _new_descendants(self, worker: Worker) -> list[Proc]:
        """The processes below the worker that no earlier note named, oldest first."""
        found = [proc for proc in worker.process.descendants() if (proc.pid, proc.start) not in self._reported]
        return sorted(found, key=lambda proc: (proc.start, proc.pid))

    def _closing_note(self, cell: _Cell, end: _End, status: int | None, timeout: float | None) -> str:
        """What the model is told about how the cell ended, beyond its output ("" if it just completed)."""
        name = self._language.name
        stopped = f"timed out after {timeout:g} s" if cell.stop is _Stop.TIMEOUT else "interrupted"
        if end is _End.CLOSED:
            return f"stopped: the {name} process was ended because the session is ending"
        if cell.stop is _Stop.TIMEOUT and end is _End.COMPLETED:
            return f"{stopped} and was interrupted"
        if cell.stop and end is _End.COMPLETED:
            return stopped
        if cell.stop:
            lost = ", so its state is lost" if self._language.keeps_state else ""
            return f"{stopped}; the {name} process was stopped{lost}"
        if end is _End.EXITED:
            return f"the {name} process {_describe_exit(status)}; the next cell starts a new one"
        return ""


_RESTARTED = (
    "started a new {name} process: the previous one ended, so variables and other state from earlier cells are gone"
)

# Output that a process an earlier cell left running (`(sleep 5; echo late) &`) printed while no cell ran. It
# shares the cell's pipe, so without a word it would read as the next cell's own. It is read just before that
# cell is sent and shown first, between two notes: apart from the cell's output, yet seen by the person and the
# model, since it may matter (a server's log, a job's result). What such a process prints while a cell runs
# cannot be told apart from the cell's output; the note naming it as still running is the model's clue.
_BETWEEN = "printed between cells by a process an earlier cell left running:"
_BETWEEN_END = "end of that; this cell's output follows"


def _between_cells(worker: Worker) -> str:
    """What reached the worker's output pipe since the last cell completed (it is read now, without waiting)."""
    return b"".join(worker.drain()).decode("utf-8", "replace")


def _set_apart(cap: OutputCap, between: str) -> str:
    """Output that came between cells, headed and ended by notes; the part to show now ("" if there was none)."""
    if not between:
        return ""
    return cap.note(_BETWEEN) + cap.add(between) + cap.note(_BETWEEN_END)


def _describe(proc: Proc, worker: GroupProcess) -> str:
    """'PID 42 (sleep 1000)', saying also when the process left the worker's session or process group."""
    command = command_line(proc.pid)
    if len(command) > _COMMAND_WIDTH:
        command = command[: _COMMAND_WIDTH - 3] + "..."
    if proc.sid != worker.session:
        return f"PID {proc.pid} ({command}; detached with setsid)"
    if proc.pgid != worker.pid:
        return f"PID {proc.pid} ({command}; in a process group of its own)"
    return f"PID {proc.pid} ({command})"


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
