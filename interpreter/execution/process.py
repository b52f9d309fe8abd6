"""GroupProcess: a worker in a process group of its own under a supervisor, and the one place such processes end.

The supervisor (supervisor.py) is our child, in a new session; the worker is its child, leading its own process
group in that session. Signals for the running code go straight to the worker's group, and what a stopped cell
left in that group can be ended without the worker (`end_group`). Ending the worker means closing the
supervisor's lifeline: the supervisor then ends the worker's whole tree, orphans and detached daemons included,
and exits. Should this process die, even by SIGKILL, the lifeline closes all the same.
"""

from __future__ import annotations

import contextlib
import enum
import os
import signal
import socket
import subprocess
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path

from interpreter.errors import ExecutionError
from interpreter.execution import supervisor
from interpreter.execution.supervisor import Proc

# How long the supervisor may take, beyond the term wait, to kill the tree before we kill it and its worker.
_SUPERVISOR_SLACK = 10.0
# How many times end_group looks again for processes of the group, which it stops and kills each time.
_END_ROUNDS = 20
# How long the supervisor may take to start the worker and tell us its pid.
_START_TIMEOUT = 30.0


class ProcessState(enum.Enum):
    """Where a group process is in its life."""

    RUNNING = "running"  # the worker is alive
    EXITED = "exited"  # the worker ended on its own (the supervisor then ended the rest of its tree)
    CLOSED = "closed"  # we ended the whole tree and reaped the supervisor


class GroupProcess:
    """A worker leading its own process group, under a supervisor that ends its whole tree."""

    def __init__(self, popen: subprocess.Popen[bytes], lifeline: socket.socket, worker: int) -> None:
        self._popen = popen
        self._lifeline = lifeline
        self.pid = worker
        self.state = ProcessState.RUNNING

    @classmethod
    def start(
        cls,
        argv: Sequence[str],
        *,
        cwd: Path | None,
        env: Mapping[str, str],
        pass_fds: Sequence[int],
        term_wait: float,
        sweep_orphans: bool = False,
        sandbox: Sequence[str] = (),
    ) -> GroupProcess:
        """Start `argv` with stdin at EOF and stdout and stderr merged, in order, into one pipe.

        With `sandbox` arguments the worker is sandboxed (see sandbox.py); `pid` is then the worker's own.
        """
        ours, theirs = socket.socketpair()
        command = [*supervisor.command(sys.executable), str(theirs.fileno()), f"{term_wait}"]
        command += ["1" if sweep_orphans else "0", *sandbox, "--", *argv]
        try:
            popen = subprocess.Popen(
                command,
                cwd=None if cwd is None else str(cwd),  # so an error names it plainly
                env=env,
                pass_fds=(*pass_fds, theirs.fileno()),
                start_new_session=True,
                stdin=subprocess.DEVNULL,
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,
            )
        except OSError as exc:
            ours.close()
            raise ExecutionError(f"could not start {Path(argv[0]).name}: {exc}") from exc
        finally:
            theirs.close()
        process = cls(popen, ours, 0)
        try:
            process.pid = process._worker_pid(Path(argv[0]).name)
        except BaseException:
            process.close(term_wait)
            raise
        return process

    @property
    def session(self) -> int:
        """The id of the worker's session: the supervisor's pid."""
        return self._popen.pid

    @property
    def output_fd(self) -> int:
        """The read end of the pipe that carries the group's stdout and stderr."""
        assert self._popen.stdout is not None  # started with stdout=PIPE
        return self._popen.stdout.fileno()

    def poll(self) -> int | None:
        """The worker's exit status (negative: killed by that signal), or None while it runs."""
        status = self._popen.poll()  # the supervisor exits as its worker did
        if status is not None and self.state is ProcessState.RUNNING:
            self.state = ProcessState.EXITED
        return status

    def signal(self, signum: int) -> None:
        """Send `signum` to every process of the worker's group; a group that is already gone is fine."""
        if self.state is not ProcessState.RUNNING or self.pid <= 0:
            return
        # PermissionError: macOS answers EPERM for a group whose members are all zombies.
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(self.pid, signum)

    def end_group(self) -> None:
        """SIGKILL every process of the worker's group but the worker itself, until none is left.

        The group is stopped first, all at once: a process forking meanwhile has its child stopped too (Linux
        delivers a group's signal to a fork under way), so none of them can start another while we look.
        """
        for _ in range(_END_ROUNDS):
            self.signal(signal.SIGSTOP)
            try:
                others = [proc.pid for proc in supervisor.group_members(self.pid) if proc.pid != self.pid]
                supervisor.kill_all(others)
            finally:  # the worker, and where /proc cannot show the others (not Linux), them too, as they were
                self.signal(signal.SIGCONT)
            if not others:
                return

    def descendants(self) -> list[Proc]:
        """The processes below the worker now, each with its group and session (empty without /proc)."""
        # Only pids above the supervisor's: what it started came later (a wrap-around may hide some here;
        # the supervisor's own search, when it ends the tree, does not skip any).
        found = supervisor.descendants(self._popen.pid, newer_than=self._popen.pid)
        parents = {proc.pid: proc.ppid for proc in found}
        between, pid = {self.pid}, parents.get(self.pid, 0)  # the worker, and the sandbox's processes above it
        while pid in parents and pid not in between:  # up to the supervisor's child (bwrap's, when it runs)
            between.add(pid)
            pid = parents[pid]
        return [proc for proc in found if proc.pid not in between]

    def close(self, term_wait: float) -> None:
        """End the whole tree: SIGTERM, up to `term_wait` s for the worker, then SIGKILL; reap the supervisor."""
        if self.state is ProcessState.CLOSED:
            return
        try:
            # EOF for the supervisor: from here on it ends the tree even if we are interrupted. Our end reads EOF
            # in turn once the supervisor has exited (Popen.wait with a timeout would poll, adding milliseconds).
            with contextlib.suppress(OSError):
                self._lifeline.shutdown(socket.SHUT_WR)
            if not self._supervisor_exited(term_wait + _SUPERVISOR_SLACK):  # it hangs: end it, and the group
                self.signal(signal.SIGKILL)
                self._popen.kill()
            self._popen.wait()
        finally:
            self._lifeline.close()
            assert self._popen.stdout is not None
            self._popen.stdout.close()
            self.state = ProcessState.CLOSED

    def _supervisor_exited(self, timeout: float) -> bool:
        """Wait up to `timeout` s for the supervisor's end of the lifeline to close, which it does by exiting."""
        self._lifeline.settimeout(timeout)
        try:
            while self._lifeline.recv(64):
                pass
        except TimeoutError:
            return False
        except OSError:  # the connection was reset: it is gone as well
            pass
        return True

    def _worker_pid(self, name: str) -> int:
        """Read the worker's pid, which the supervisor reports once it has started it."""
        self._lifeline.settimeout(_START_TIMEOUT)
        line = b""
        with contextlib.suppress(OSError):
            while not line.endswith(b"\n") and (data := self._lifeline.recv(64)):
                line += data
        if not line.endswith(b"\n"):
            raise ExecutionError(f"could not start {name}: its supervisor ended before starting it")
        return int(line)
