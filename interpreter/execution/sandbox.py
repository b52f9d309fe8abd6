"""The sandbox of cells (`--sandbox`): what it lets them write, and whether this machine can set it up.

A sandboxed worker may read anywhere, write only beneath the working directory, the temp directory ($TMPDIR, else
/tmp), /dev/shm (shared memory, which multiprocessing needs) and /dev/null, and open no network socket: Landlock
confines writes and TCP (landlock.py), a seccomp filter every socket but Unix ones (seccomp.py). The supervisor
applies both in the worker before the language starts (supervisor.py), so every process a cell starts inherits
them, while `interpreter` itself keeps its network. Where they cannot be set up, no cell runs: never a silent
downgrade to running unconfined.
"""

from __future__ import annotations

import errno
import os
import sys
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path

from interpreter.errors import SandboxUnavailable
from interpreter.execution import landlock, seccomp

FIX = "run without --sandbox (and without sandbox = true in the settings file) to run cells unconfined"
# Writable besides the working and temp directories: what languages need (multiprocessing's semaphores, > /dev/null).
_DEVICES = ("/dev/shm", "/dev/null")


@dataclass(frozen=True)
class Availability:
    """Whether cells can be sandboxed here, the Landlock ABI the kernel offers (0: none), and if not, why."""

    abi: int = 0
    problem: str = ""

    @property
    def available(self) -> bool:
        """Whether the sandbox can be set up."""
        return not self.problem


def probe(
    landlock_abi: Callable[[], int] = landlock.abi,
    seccomp_problem: Callable[[], str] = seccomp.problem,
    platform: str = sys.platform,
) -> Availability:
    """Ask the kernel whether it can confine a worker (one system call; no process is started)."""
    if not platform.startswith("linux"):
        return Availability(problem="the sandbox needs Linux (Landlock and seccomp)")
    try:
        abi = landlock_abi()
    except OSError as exc:
        return Availability(problem=_landlock_problem(exc))
    if abi < landlock.MIN_ABI:
        return Availability(abi, f"Landlock ABI {abi} cannot stop a cell truncating files; ABI 3 (Linux 6.2) can")
    return Availability(abi, seccomp_problem())


def require(availability: Availability) -> None:
    """SandboxUnavailable, one line saying why and what to do, unless the sandbox can be set up."""
    if not availability.available:
        raise SandboxUnavailable(f"cannot sandbox cells: {availability.problem}; {FIX}")


def writable(cwd: Path, environ: Mapping[str, str]) -> tuple[str, ...]:
    """The paths a sandboxed cell may write beneath: the working directory, the temp directory, two devices.

    The working directory always comes first, so a sandbox never has no paths at all (none means not sandboxed).
    """
    temp = environ.get("TMPDIR") or "/tmp"
    others = [os.path.abspath(path) for path in (temp, *_DEVICES) if os.path.exists(path)]
    return tuple(dict.fromkeys([os.path.abspath(cwd), *others]))


def _landlock_problem(error: OSError) -> str:
    """Why the kernel offers no Landlock, from its answer."""
    if error.errno == errno.EOPNOTSUPP:
        return "Landlock is built into this kernel but turned off (add landlock to its lsm= boot parameter)"
    if error.errno == errno.ENOSYS:
        return "this kernel has no Landlock (Linux 6.2 or newer with Landlock is needed)"
    return f"Landlock cannot be used here ({error.strerror})"
