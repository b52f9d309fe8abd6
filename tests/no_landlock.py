"""Run a command on a kernel that, for it, has no Landlock: its three calls fail with ENOSYS, as on Linux before 5.13.

Usage: python no_landlock.py PROGRAM ARGS...  (a seccomp filter, inherited by PROGRAM and all it starts).
"""

from __future__ import annotations

import errno
import os
import sys

from interpreter.execution import seccomp

LANDLOCK_CALLS = (444, 445, 446)  # landlock_create_ruleset, _add_rule, _restrict_self

if __name__ == "__main__":
    seccomp.install(seccomp.program(dict.fromkeys(LANDLOCK_CALLS, errno.ENOSYS)))
    os.execvp(sys.argv[1], sys.argv[1:])
