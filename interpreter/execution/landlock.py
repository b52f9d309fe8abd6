"""Landlock (Linux 5.13+): its three system calls, through ctypes, to confine writes and TCP of this process.

A ruleset names the kinds of access it handles; every handled access is then denied except where a rule allows
it. `restrict` handles every kind of write (not reads, not execution) and, from ABI 4, TCP bind and connect, and
allows writes beneath the given paths only: reads stay allowed everywhere, TCP nowhere. From ABI 6 it also scopes
signals and abstract Unix sockets to the sandbox, so a cell cannot reach processes outside it by those ways.
The restriction holds for this process and every process it starts, and cannot be lifted (kernel
Documentation/userspace-api/landlock.rst, whose constants and structures this copies).

Imported alone by the supervisor (see supervisor.py), so only os and ctypes.
"""

from __future__ import annotations

import ctypes
import os

TYPE_CHECKING = False  # as in supervisor.py: typing costs start-up time there
if TYPE_CHECKING:
    from collections.abc import Iterable

# include/uapi/asm-generic/unistd.h: the same numbers on every architecture.
_CREATE_RULESET, _ADD_RULE, _RESTRICT_SELF = 444, 445, 446
_CREATE_RULESET_VERSION = 1
_RULE_PATH_BENEATH = 1

# include/uapi/linux/landlock.h: filesystem rights, and the ABI each came in.
_WRITE_FILE = 1 << 1
# Bits 4 to 12: remove a directory or a file; make a char device, directory, file, socket, fifo, block device, symlink.
_DIRECTORY_WRITES = sum(1 << bit for bit in range(4, 13))
_REFER = 1 << 13  # ABI 2: link or rename from one directory to another
_TRUNCATE = 1 << 14  # ABI 3
_TCP_BIND, _TCP_CONNECT = 1 << 0, 1 << 1  # ABI 4
_SCOPE_ABSTRACT_UNIX_SOCKET, _SCOPE_SIGNAL = 1 << 0, 1 << 1  # ABI 6

MIN_ABI = 3  # below it truncate(2) is not handled: a cell could empty any file it may write today


class _RulesetAttr(ctypes.Structure):
    _fields_ = (
        ("handled_access_fs", ctypes.c_uint64),
        ("handled_access_net", ctypes.c_uint64),
        ("scoped", ctypes.c_uint64),
    )


class _PathBeneathAttr(ctypes.Structure):
    _pack_ = 1  # __attribute__((packed)) in the kernel's header
    _fields_ = (("allowed_access", ctypes.c_uint64), ("parent_fd", ctypes.c_int32))


def abi() -> int:
    """The Landlock ABI version this kernel offers; OSError (ENOSYS, EOPNOTSUPP) when it offers none."""
    return _syscall(_CREATE_RULESET, None, ctypes.c_size_t(0), ctypes.c_uint32(_CREATE_RULESET_VERSION))


def restrict(writable: Iterable[str], version: int) -> None:
    """Confine this process and its future children: writes beneath `writable` only, no TCP; OSError if refused.

    The process must have set PR_SET_NO_NEW_PRIVS first (seccomp.install does).
    """
    fs = _WRITE_FILE | _DIRECTORY_WRITES | _REFER | _TRUNCATE
    net = _TCP_BIND | _TCP_CONNECT if version >= 4 else 0
    scoped = _SCOPE_ABSTRACT_UNIX_SOCKET | _SCOPE_SIGNAL if version >= 6 else 0
    attr = _RulesetAttr(fs, net, scoped)
    size = 24 if version >= 6 else 16 if version >= 4 else 8  # the fields this ABI knows
    ruleset = _syscall(_CREATE_RULESET, ctypes.byref(attr), ctypes.c_size_t(size), ctypes.c_uint32(0))
    try:
        for path in writable:
            _allow_writes(ruleset, path, fs)
        _syscall(_RESTRICT_SELF, ctypes.c_int(ruleset), ctypes.c_uint32(0))
    finally:
        os.close(ruleset)


def _allow_writes(ruleset: int, path: str, handled: int) -> None:
    """Allow every handled write beneath `path` (on a file that is not a directory: writing and truncating it)."""
    fd = os.open(path, os.O_PATH | os.O_CLOEXEC)
    try:
        allowed = handled if os.path.isdir(path) else _WRITE_FILE | _TRUNCATE
        rule = _PathBeneathAttr(allowed, fd)
        _syscall(
            _ADD_RULE, ctypes.c_int(ruleset), ctypes.c_int(_RULE_PATH_BENEATH), ctypes.byref(rule), ctypes.c_uint32(0)
        )
    finally:
        os.close(fd)


def _syscall(number: int, *args: object) -> int:
    """syscall(2); its result, or OSError from errno."""
    result = int(_libc().syscall(ctypes.c_long(number), *args))
    if result < 0:
        error = ctypes.get_errno()
        raise OSError(error, os.strerror(error))
    return result


def _libc() -> ctypes.CDLL:
    """The C library, keeping errno for us."""
    libc = ctypes.CDLL(None, use_errno=True)
    libc.syscall.restype = ctypes.c_long
    return libc
