"""A seccomp filter (Linux), through ctypes: system calls it refuses, and sockets it allows only for Unix domains.

Landlock covers TCP alone; this keeps a sandboxed process off every other network too (UDP, raw, netlink,
vsock): socket() and socketpair() fail with EPERM for any family but AF_UNIX, and io_uring, which can make
sockets without socket(), is refused whole (as openai/codex's linux-sandbox does). connect() is refused too:
only Unix sockets are left to reach, and a named one leads to a daemon that acts outside the sandbox (D-Bus's
`systemd-run`, Docker, ssh-agent, a database); socket pairs, pipes and a cell's own listening sockets keep
working. The filter holds for the
process and every process it starts, and cannot be removed. Programs are classic BPF over `struct seccomp_data`
(kernel Documentation/userspace-api/seccomp_filter.rst); a call made through another architecture's
numbers (x32, i386) is refused too, so no other numbering gets around the filter.

Imported alone by the supervisor (see supervisor.py), so only os, errno, struct and ctypes.
"""

from __future__ import annotations

import ctypes
import errno
import os
import struct
import sys

TYPE_CHECKING = False  # as in supervisor.py: typing costs start-up time there
if TYPE_CHECKING:
    from collections.abc import Iterable, Mapping, Sequence

    _Op = tuple[int, int, str, str]  # operation, value, the labels to jump to if true and if false ("": the next)

_PR_SET_NO_NEW_PRIVS, _PR_GET_SECCOMP, _PR_SET_SECCOMP = 38, 21, 22
_SECCOMP_MODE_FILTER = 2
_RET_ALLOW, _RET_ERRNO = 0x7FFF0000, 0x00050000
_LD_ABS, _JEQ, _JGE, _RET = 0x20, 0x15, 0x35, 0x06  # BPF_LD|BPF_W|BPF_ABS, BPF_JMP|BPF_JEQ|BPF_K, ..., BPF_RET|BPF_K
_NR, _ARCH, _ARG0 = 0, 4, 16  # offsets in struct seccomp_data (the low half of args[0] on little-endian machines)
_X32_BIT = 0x40000000
_AF_UNIX = 1
_INSTRUCTION = struct.Struct("=HBBI")  # struct sock_filter: code, jt, jf, k
_IO_URING = (425, 426, 427)  # io_uring_setup, _enter, _register: the same on every architecture


class _Arch:
    """One architecture's AUDIT_ARCH value and the numbers of the calls the network filter watches."""

    def __init__(self, audit: int, socket: int, socketpair: int, connect: int, *, x32: bool = False) -> None:
        self.audit = audit
        self.sockets = (socket, socketpair)
        self.connect = connect
        self.x32 = x32  # numbers with _X32_BIT set reach the x32 ABI: refused


_ARCHES = {
    "x86_64": _Arch(0xC000003E, 41, 53, 42, x32=True),
    "aarch64": _Arch(0xC00000B7, 198, 199, 203),
}


def problem() -> str:
    """Why no filter can be installed here ("" when one can)."""
    if not sys.platform.startswith("linux"):
        return "seccomp is Linux-only"
    machine = os.uname().machine
    if machine not in _ARCHES:
        return f"no seccomp filter is written for {machine} (only {' and '.join(_ARCHES)})"
    if _libc().prctl(_PR_GET_SECCOMP, 0, 0, 0, 0) < 0:
        return f"the kernel has no seccomp ({os.strerror(ctypes.get_errno())})"
    return ""


def network_filter() -> bytes:
    """The filter that allows only Unix sockets, connecting to none, and no io_uring."""
    arch = _ARCHES[os.uname().machine]
    return program(dict.fromkeys((*_IO_URING, arch.connect), errno.EPERM), unix_only=arch.sockets)


def program(refused: Mapping[int, int], *, unix_only: Iterable[int] = ()) -> bytes:
    """A filter for this machine: each call in `refused` fails with its errno; `unix_only` calls need AF_UNIX."""
    arch = _ARCHES[os.uname().machine]
    denied = _errno_label(errno.EPERM)
    code: list[_Op | str] = [(_LD_ABS, _ARCH, "", ""), (_JEQ, arch.audit, "", denied), (_LD_ABS, _NR, "", "")]
    if arch.x32:
        code.append((_JGE, _X32_BIT, denied, ""))
    code += [(_JEQ, number, _errno_label(value), "") for number, value in refused.items()]
    code += [(_JEQ, number, "domain", "") for number in unix_only]
    code += [(_RET, _RET_ALLOW, "", ""), "domain", (_LD_ABS, _ARG0, "", ""), (_JEQ, _AF_UNIX, "", denied)]
    code.append((_RET, _RET_ALLOW, "", ""))
    for value in sorted({errno.EPERM, *refused.values()}):
        code += [_errno_label(value), (_RET, _RET_ERRNO | value, "", "")]
    return _assemble(code)


def install(filter_program: bytes) -> None:
    """Set PR_SET_NO_NEW_PRIVS (setuid programs then gain nothing) and install the filter; OSError if refused."""
    buffer = ctypes.create_string_buffer(filter_program, len(filter_program))
    fprog = _SockFprog(len(filter_program) // _INSTRUCTION.size, ctypes.cast(buffer, ctypes.c_void_p))
    _prctl(_PR_SET_NO_NEW_PRIVS, 1)
    _prctl(_PR_SET_SECCOMP, _SECCOMP_MODE_FILTER, ctypes.byref(fprog))


class _SockFprog(ctypes.Structure):
    _fields_ = (("len", ctypes.c_ushort), ("filter", ctypes.c_void_p))


def _prctl(option: int, value: int, pointer: object = None) -> None:
    """prctl(2); OSError from errno when it fails."""
    if _libc().prctl(option, value, pointer, 0, 0) != 0:
        error = ctypes.get_errno()
        raise OSError(error, os.strerror(error))


def _errno_label(value: int) -> str:
    """The label of the instruction that fails a call with errno `value`."""
    return f"errno {value}"


def _assemble(code: Sequence[_Op | str]) -> bytes:
    """Classic BPF from instructions and the labels between them; a jump names its label ("" is the next one)."""
    places: dict[str, int] = {}
    ops: list[_Op] = []
    for item in code:
        if isinstance(item, str):
            places[item] = len(ops)
        else:
            ops.append(item)
    out = bytearray()
    for index, (operation, value, if_true, if_false) in enumerate(ops):
        true, false = (places[label] - index - 1 if label else 0 for label in (if_true, if_false))
        out += _INSTRUCTION.pack(operation, true, false, value)
    return bytes(out)


def _libc() -> ctypes.CDLL:
    """The C library, keeping errno for us."""
    return ctypes.CDLL(None, use_errno=True)
