"""The sandbox of cells (`--sandbox`): which one this machine can build, and the supervisor's arguments for it.

A sandboxed worker may read anywhere but the tool's own files, write only beneath the working directory, the temp
directory ($TMPDIR, else /tmp) and a private /dev, and open no network socket. Bubblewrap builds it where it can
make a user namespace (bubblewrap.py): the root read-only, INTERPRETER_HOME not visible, the network namespace
unshared, plus the seccomp filter (seccomp.py), which refuses every socket but Unix ones and sets NO_NEW_PRIVS.
Where bwrap is missing or user namespaces are off, Landlock (landlock.py) with the same filter is the fallback,
and what it does not cover (FALLBACK_GAPS) is said once, never silently. The supervisor (supervisor.py) sets
either up in the worker before the language starts, so every process a cell starts inherits it, while
`interpreter` itself keeps its network. Where neither can be set up, no cell runs: never a silent downgrade to
running unconfined.
"""

from __future__ import annotations

import errno
import os
import sys
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from interpreter.errors import SandboxUnavailable
from interpreter.execution import bubblewrap, landlock, seccomp

FIX = "run without --sandbox (and without sandbox = true in the settings file) to run cells unconfined"
FALLBACK_GAPS = (
    "read INTERPRETER_HOME (the settings file and its key, every conversation, the shared budget) "
    "and change the modes, owners and times of files outside"
)
LANDLOCK, BWRAP = "landlock", "bwrap"  # the first of the supervisor's sandbox arguments: which sandbox follows
# Writable besides the working and temp directories: what languages need (multiprocessing's semaphores, > /dev/null).
_DEVICES = ("/dev/shm", "/dev/null")


@dataclass(frozen=True)
class Availability:
    """Which sandbox this machine can build: bubblewrap (`bwrap` names it), else Landlock at `abi`; or why none."""

    abi: int = 0
    problem: str = ""  # why cells cannot be sandboxed at all
    bwrap: str = ""  # the bubblewrap program, when it can set up the sandbox here
    version: str = ""  # its own words for its version
    without_bwrap: str = ""  # why bubblewrap is not used, when it is not

    @property
    def available(self) -> bool:
        """Whether the sandbox can be set up."""
        return not self.problem

    def name(self) -> str:
        """The sandbox cells get, as doctor names it."""
        if self.bwrap:
            return f"{self.version or 'bubblewrap'} ({self.bwrap}) and a seccomp filter"
        return f"Landlock ABI {self.abi} and a seccomp filter"

    def fallback_note(self) -> str:
        """What the person is told once when Landlock stands in for bubblewrap ("" when it does not)."""
        if not self.available or self.bwrap:
            return ""
        alone = "so Landlock and seccomp confine cells alone: they can still"
        return f"sandbox: {self.without_bwrap}, {alone} {FALLBACK_GAPS}"


def _bubblewrap() -> Availability:
    """bwrap, when it is on PATH (outside the directories cells write) and can set up the sandbox here."""
    program = bubblewrap.find(os.environ.get("PATH"), writable(Path.cwd(), os.environ))
    if program is None:
        return Availability(without_bwrap="bubblewrap is not installed (no bwrap on PATH)")
    version = bubblewrap.version_line(program)
    problem = bubblewrap.problem(program, version)
    return Availability(bwrap="" if problem else program, version=version, without_bwrap=problem)


def probe(
    landlock_abi: Callable[[], int] = landlock.abi,
    seccomp_problem: Callable[[], str] = seccomp.problem,
    platform: str = sys.platform,
    bwrap: Callable[[], Availability] = _bubblewrap,
) -> Availability:
    """Ask the machine which sandbox it can build: bwrap is run once if found; Landlock costs one system call."""
    if not platform.startswith("linux"):
        return Availability(problem="the sandbox needs Linux (bubblewrap, or Landlock, and seccomp)")
    if problem := seccomp_problem():
        return Availability(problem=problem)
    found = bwrap()
    if found.bwrap:
        return found
    try:
        abi = landlock_abi()
    except OSError as exc:
        return Availability(problem=f"{found.without_bwrap}, and {_landlock_problem(exc)}")
    if abi < landlock.MIN_ABI:
        old = f"Landlock ABI {abi} cannot stop a cell truncating files; ABI 3 (Linux 6.2) can"
        return Availability(abi, f"{found.without_bwrap}, and {old}")
    return Availability(abi, without_bwrap=found.without_bwrap)


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


def hidden(private: Iterable[Path]) -> tuple[str, ...]:
    """Where the `private` paths (the home, the settings file) really are, those that exist, none inside another."""
    kept: list[str] = []
    for path in (os.path.realpath(path) for path in private if path.exists()):
        if not any(bubblewrap.beneath(path, earlier) for earlier in kept):
            kept.append(path)
    return tuple(kept)


def arguments(found: Availability, paths: Sequence[str], private: Sequence[str]) -> tuple[str, ...]:
    """The supervisor's sandbox arguments: bwrap's command line, or Landlock's writable paths."""
    if found.bwrap:
        return (BWRAP, *bubblewrap.command(found.bwrap, paths, private, found.version))
    return (LANDLOCK, *paths)


def _landlock_problem(error: OSError) -> str:
    """Why the kernel offers no Landlock, from its answer."""
    if error.errno == errno.EOPNOTSUPP:
        return "Landlock is built into this kernel but turned off (add landlock to its lsm= boot parameter)"
    if error.errno == errno.ENOSYS:
        return "this kernel has no Landlock (Linux 6.2 or newer with Landlock is needed)"
    return f"Landlock cannot be used here ({error.strerror})"
