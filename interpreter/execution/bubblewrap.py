"""Bubblewrap (`bwrap`): finding a copy cells cannot have planted, asking it for a sandbox, and its command line.

The command line follows openai/codex's Linux sandbox (codex-rs/linux-sandbox/src/bwrap.rs): the whole file
system bound read-only (`--ro-bind / /`, so writing, and chmod/chown/utime/xattr, outside fail with EROFS), a
minimal private /dev and a fresh /proc, the writable directories bound back writable, in a user, pid, IPC and
network namespace of its own, dying with its parent. Unlike codex it also mounts an empty read-only directory over
each private folder (INTERPRETER_HOME) and /dev/null over each private file, after the writable binds so they win,
drops every capability (bwrap keeps them when run by root) and, from bwrap 0.8, forbids new user namespaces inside
(older ones lack the option; a nested namespace still cannot unmount or remount what bwrap mounted, which the
kernel locks).

What bwrap is not asked for, and why: `--new-session` (the supervisor already runs in a session of its own with
no terminal, and the worker must stay in it so Ctrl-C reaches its process group); `--as-pid-1` (the worker would
then ignore SIGTERM and SIGINT it has no handler for, as a namespace's init does).
"""

from __future__ import annotations

import os
import subprocess
from collections.abc import Sequence

PROGRAM = "bwrap"
_PROBE_TIMEOUT = 10.0  # seconds: bwrap sets up in milliseconds; a hang means something is badly wrong
_DISABLE_USERNS = (0, 8)  # the bwrap version that brought --disable-userns


def find(search: str | None, writable: Sequence[str]) -> str | None:
    """The bwrap on `search` (a PATH), skipping copies beneath `writable`, where an earlier cell may have put one."""
    for folder in (search if search is not None else os.defpath).split(os.pathsep):
        candidate = os.path.join(folder, PROGRAM)
        if os.path.isabs(folder) and os.access(candidate, os.X_OK) and os.path.isfile(candidate):
            real = os.path.realpath(candidate)
            if not any(beneath(real, root) for root in writable):
                return real
    return None


def command(program: str, writable: Sequence[str], hidden: Sequence[str], version: str = "") -> list[str]:
    """bwrap's argv, up to the `--` before the command: read-only root, `writable` bound back, `hidden` emptied.

    `version` is bwrap's own line (`bubblewrap 0.8.0`): the options it lacks are left out.
    """
    argv = [program, "--ro-bind", "/", "/", "--dev", "/dev", "--proc", "/proc"]
    for path in writable:
        if not beneath(path, "/dev"):  # --dev made a private /dev, with its own shm and null
            argv += ["--bind", path, path]
    for path in hidden:
        if os.path.isdir(path):
            argv += ["--tmpfs", path, "--remount-ro", path]
        else:
            argv += ["--ro-bind", "/dev/null", path]
    argv += ["--unshare-user", "--unshare-pid", "--unshare-ipc", "--unshare-net", "--die-with-parent"]
    if _numbers(version) >= _DISABLE_USERNS:
        argv.append("--disable-userns")
    return [*argv, "--cap-drop", "ALL"]


def version_line(program: str) -> str:
    """bwrap's own words for its version (`bubblewrap 0.8.0`); "" if it gives none."""
    try:
        done = subprocess.run(
            [program, "--version"],
            capture_output=True,
            text=True,
            errors="replace",
            timeout=_PROBE_TIMEOUT,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired):
        return ""
    return _printable(done.stdout)


def problem(program: str, version: str) -> str:
    """Why bwrap, at `version`, cannot set up the sandbox here ("" when it can): it is run once, on itself."""
    try:
        done = subprocess.run(
            [*command(program, (), (), version), "--", program, "--version"],
            capture_output=True,
            text=True,
            errors="replace",
            timeout=_PROBE_TIMEOUT,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        return f"{program} could not be run ({exc})"
    if done.returncode == 0:
        return ""
    said = _printable(done.stderr.strip().splitlines()[-1]) if done.stderr.strip() else f"status {done.returncode}"
    return f"{program} cannot set up a sandbox here ({said})"


def beneath(path: str, root: str) -> bool:
    """Whether `path` is `root` or inside it."""
    return path == root or path.startswith(root.rstrip("/") + "/")


def _numbers(version: str) -> tuple[int, ...]:
    """(0, 8, 0) from `bubblewrap 0.8.0`; () when there are none."""
    words = version.split()
    return tuple(int(part) for part in words[-1].split(".") if part.isdigit()) if words else ()


def _printable(text: str) -> str:
    """The first line of a program's words, without control characters (shown on the terminal)."""
    line = text.strip().splitlines()[0] if text.strip() else ""
    return "".join(char for char in line if char.isprintable())
