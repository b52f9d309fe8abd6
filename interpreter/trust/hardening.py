"""Keeping this process's secrets from the other processes of the machine (Linux; elsewhere nothing is done).

Others read a process's arguments from /proc/PID/cmdline (any user) and its starting environment from
/proc/PID/environ (its own user, and root): both are the process's own memory, the ranges arg_start..arg_end and
env_start..env_end that /proc/self/stat gives. `harden()` overwrites in place, with `*`, the value of a secret
option (`--api-key KEY`, `--api-key=KEY`) and the credentials in a URL option's (the PASS and KEY of `--api-base
http://user:PASS@host/v1?api-key=KEY`, found by redaction.py) in the first, and the value of each secret variable
(see environment.is_withheld) in the second, after handing the variable to the C library again (os.putenv copies it
to the heap), so getenv and child processes see it unchanged. Python copied both at start-up, so nothing here reads
them again. Then the process becomes non-dumpable (PR_SET_DUMPABLE 0): no core dump holds the key, and a process of
the same user, a cell included, can neither ptrace it nor read its /proc/PID/environ or mem (root still can). The
key is visible in the process list until this runs, the first tenth of a second or so.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Collection, Iterator

from interpreter.trust.environment import is_withheld
from interpreter.trust.redaction import secret_spans

_PR_SET_DUMPABLE = 4
# Positions of arg_start, arg_end, env_start, env_end among the /proc/PID/stat fields after the command name
# (fields 48 to 51 of proc(5), counting from 1, where the state, field 3, is the first after the name).
_MEMORY_FIELDS = slice(45, 49)
_MASK = ord("*")


def harden(secret_options: Collection[str], url_options: Collection[str] = ()) -> None:
    """Hide the values of `secret_options`, the credentials in those of `url_options` and the values of secret
    variables from /proc, and make this process non-dumpable."""
    if not sys.platform.startswith("linux"):
        return
    import ctypes  # noqa: PLC0415 - Linux only

    ranges = _memory_ranges()
    if ranges is not None:
        (arg_start, arg_end), (env_start, env_end) = ranges
        arguments = ctypes.string_at(arg_start, arg_end - arg_start)
        for offset, length in [*secret_values(arguments, secret_options), *url_secrets(arguments, url_options)]:
            ctypes.memset(arg_start + offset, _MASK, length)
        for offset, length in _moved_variables(ctypes.string_at(env_start, env_end - env_start)):
            ctypes.memset(env_start + offset, _MASK, length)
    libc = ctypes.CDLL(None, use_errno=True)
    libc.prctl(_PR_SET_DUMPABLE, 0, 0, 0, 0)


def secret_values(arguments: bytes, secret_options: Collection[str]) -> Iterator[tuple[int, int]]:
    """(offset, length) in the NUL-separated `arguments` of each value given to one of `secret_options`."""
    options = {option.encode() for option in secret_options}
    offset, follows_option = 0, False
    for argument in arguments.split(b"\0"):
        name, equals, value = argument.partition(b"=")
        if follows_option and argument:
            yield offset, len(argument)
        elif equals and name in options and value:
            yield offset + len(name) + 1, len(value)
        follows_option = argument in options
        offset += len(argument) + 1


def url_secrets(arguments: bytes, url_options: Collection[str]) -> Iterator[tuple[int, int]]:
    """(offset, length) in the NUL-separated `arguments` of each credential in a URL given to one of `url_options`."""
    for offset, length in secret_values(arguments, url_options):
        url = arguments[offset : offset + length].decode("latin-1")  # one character per byte: offsets carry over
        for start, end in secret_spans(url):
            yield offset + start, end - start


def secret_variables(environment: bytes) -> Iterator[tuple[bytes, bytes, int]]:
    """(name, value, offset of the value) in the NUL-separated `environment` of each secret variable."""
    offset = 0
    for entry in environment.split(b"\0"):
        name, equals, value = entry.partition(b"=")
        if equals and value and is_withheld(os.fsdecode(name)):
            yield name, value, offset + len(name) + 1
        offset += len(entry) + 1


def _moved_variables(environment: bytes) -> Iterator[tuple[int, int]]:
    """Give each secret variable a copy of its own in the C library, then its (offset, length) to overwrite."""
    for name, value, offset in secret_variables(environment):
        os.putenv(name, value)  # setenv(3) stores a new copy and points the environment at it
        yield offset, len(value)


def _memory_ranges() -> tuple[tuple[int, int], tuple[int, int]] | None:
    """Where this process's arguments and starting environment are, from /proc/self/stat; None if unknown."""
    try:
        with open("/proc/self/stat", "rb") as file:
            stat = file.read()
    except OSError:
        return None
    fields = stat[stat.rfind(b")") + 2 :].split()[_MEMORY_FIELDS]
    if len(fields) < 4 or not all(field.isdigit() for field in fields):  # a kernel older than 3.5
        return None
    arg_start, arg_end, env_start, env_end = map(int, fields)
    if not (0 < arg_start <= arg_end and 0 < env_start <= env_end):
        return None
    return (arg_start, arg_end), (env_start, env_end)
