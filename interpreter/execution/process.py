"""GroupProcess: a child leading its own process group, and the one place such processes are ended."""

from __future__ import annotations

import contextlib
import enum
import os
import signal
import subprocess
from collections.abc import Mapping, Sequence
from pathlib import Path

from interpreter.errors import ExecutionError


class ProcessState(enum.Enum):
    """Where a group process is in its life."""

    RUNNING = "running"  # the leader is alive
    EXITED = "exited"  # the leader ended on its own; background jobs of its group may live on
    CLOSED = "closed"  # we ended the whole group and reaped the leader


class GroupProcess:
    """A child started in a new session, so signals reach it and everything it started, and nothing else."""

    def __init__(self, popen: subprocess.Popen[bytes]) -> None:
        self._popen = popen
        self.state = ProcessState.RUNNING

    @classmethod
    def start(
        cls, argv: Sequence[str], *, cwd: Path | None, env: Mapping[str, str], pass_fds: Sequence[int]
    ) -> GroupProcess:
        """Start `argv` with stdin at EOF and stdout and stderr merged, in order, into one pipe."""
        try:
            popen = subprocess.Popen(
                argv,
                cwd=None if cwd is None else str(cwd),  # so an error names it plainly
                env=env,
                pass_fds=pass_fds,
                start_new_session=True,
                stdin=subprocess.DEVNULL,
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,
            )
        except OSError as exc:
            raise ExecutionError(f"could not start {Path(argv[0]).name}: {exc}") from exc
        return cls(popen)

    @property
    def pid(self) -> int:
        """The leader's process id, which is also the group id."""
        return self._popen.pid

    @property
    def output_fd(self) -> int:
        """The read end of the pipe that carries the group's stdout and stderr."""
        assert self._popen.stdout is not None  # started with stdout=PIPE
        return self._popen.stdout.fileno()

    def poll(self) -> int | None:
        """The leader's exit status (negative: killed by that signal), or None while it runs."""
        status = self._popen.poll()
        if status is not None and self.state is ProcessState.RUNNING:
            self.state = ProcessState.EXITED
        return status

    def signal(self, signum: int) -> None:
        """Send `signum` to every process of the group; a group that is already gone is fine."""
        if self.state is ProcessState.CLOSED:
            return
        # PermissionError: macOS answers EPERM for a group whose members are all zombies.
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(self.pid, signum)

    def close(self, term_wait: float) -> None:
        """End the whole group: SIGTERM, up to `term_wait` s for the leader, then SIGKILL; reap the leader."""
        if self.state is ProcessState.CLOSED:
            return
        try:
            self.signal(signal.SIGTERM)
            with contextlib.suppress(subprocess.TimeoutExpired):
                self._popen.wait(term_wait)
        finally:
            # Background jobs outlive a leader that obeyed SIGTERM quickly; this ends them too.
            self.signal(signal.SIGKILL)
            self._popen.wait()
            assert self._popen.stdout is not None
            self._popen.stdout.close()
            self.state = ProcessState.CLOSED
