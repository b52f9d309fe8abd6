"""The one table of languages we can run, and how to look a name up in it."""

from __future__ import annotations

import shutil
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from interpreter.errors import LanguageUnavailable, UnknownLanguage

_HERE = Path(__file__).resolve().parent

# Cells arrive NUL-terminated on fd $1 and each status goes back on fd $2. The cell runs with both closed so
# its background jobs do not hold the protocol pipes. `eval` twice because a redirection's fd must be literal.
# Each cell starts clean, while variables, functions, aliases and the working directory persist: after it, the
# options it set (`set -euo pipefail`, `set -x`) are reset, so a later failing command cannot end the shell and
# its state; so are ERR/EXIT/DEBUG/RETURN traps, and stdin/stdout/stderr (saved at start), so an `exec >/dev/null`
# does not silence every later cell; that last is said in the output. The first group is silent under `set -x`.
_SHELL_WORKER = """\
readonly __steady_in=$1 __steady_out=$2
set --
exec {__steady_stdin}<&0 {__steady_stdout}>&1 {__steady_stderr}>&2
readonly __steady_stdin __steady_stdout __steady_stderr __steady_options="$(set +o)"
__steady_closed="$__steady_in<&- $__steady_out>&- $__steady_stdin<&- $__steady_stdout>&- $__steady_stderr>&-"
readonly __steady_closed
while IFS= read -r -d '' -u "$__steady_in" __steady_cell; do
    eval "eval \\"\\$__steady_cell\\" $__steady_closed"
    { __steady_status=$?; set +x; trap - DEBUG; } 2>/dev/null
    eval "$__steady_options"
    trap - ERR EXIT RETURN
    __steady_moved=
    [[ /dev/fd/1 -ef /dev/fd/$__steady_stdout ]] || __steady_moved=stdout
    [[ /dev/fd/2 -ef /dev/fd/$__steady_stderr ]] || __steady_moved+="${__steady_moved:+ and }stderr"
    exec <&"$__steady_stdin" >&"$__steady_stdout" 2>&"$__steady_stderr"
    if [[ -n $__steady_moved ]]; then
        echo "[this cell redirected $__steady_moved with exec; restored for the next cell]"
    fi
    echo "$__steady_status" >&"$__steady_out"
done
"""


# For languages without a worker of their own: each cell runs as `PROGRAM ARGS... CELL` in a new process, so no
# state survives between cells. The loop survives Ctrl-C (the trap), which stops only the cell's process; a read
# cut short by a signal (status above 128) is retried.
_EACH_CELL_WORKER = """\
readonly __steady_in=$1 __steady_out=$2
shift 2
trap : INT
while :; do
    IFS= read -r -d '' -u "$__steady_in" __steady_cell
    __steady_status=$?
    if (( __steady_status > 128 )); then continue; fi
    if (( __steady_status != 0 )); then break; fi
    eval "\\"\\$@\\" \\"\\$__steady_cell\\" $__steady_in<&- $__steady_out>&-"
    echo "$?" >&"$__steady_out"
done
"""
_BASH = ("/bin/bash", "--noprofile", "--norc", "-c")


@dataclass(frozen=True)
class Language:
    """A language we can run: its names, the program that runs it, and the arguments that start its worker.

    With `keeps_state` the program itself is the worker (it reads cells and reports on the two descriptors it
    is given); without, a small shell loop runs `program *args CELL` once per cell (a cell is one argument, so
    at most 128 KiB on Linux).
    """

    name: str
    aliases: tuple[str, ...]
    program: str
    args: tuple[str, ...]
    keeps_state: bool = True

    def executable(self, search: str | None = None) -> str | None:
        """The full path of the program, found on `search` (a PATH; None: this process's), or None if it is not."""
        return shutil.which(self.program, path=search)

    def command(self, executable: str, cell_fd: int, done_fd: int) -> list[str]:
        """The argv that starts a worker reading cells from `cell_fd` and reporting on `done_fd`."""
        if self.keeps_state:
            return [executable, *self.args, str(cell_fd), str(done_fd)]
        return [*_BASH, _EACH_CELL_WORKER, "bash", str(cell_fd), str(done_fd), executable, *self.args]


# The one table. Every language is listed; `Executor.languages()` offers only those installed here. Python's
# program is the tool's own, the last resort: the executor runs the person's (see `interpreters`).
PYTHON = "python"
LANGUAGES: tuple[Language, ...] = (
    Language(PYTHON, ("py", "python3"), sys.executable, ("-u", str(_HERE / "python_worker.py"))),
    Language("shell", ("bash", "sh"), "/bin/bash", ("--noprofile", "--norc", "-c", _SHELL_WORKER, "bash")),
    Language("javascript", ("js", "node"), "node", (str(_HERE / "node_worker.js"),)),
    Language("ruby", ("rb",), "ruby", ("-e",), keeps_state=False),
    Language("r", ("rscript",), "Rscript", ("-e",), keeps_state=False),
)


def find_language(table: Sequence[Language], name: str) -> Language:
    """The language called `name` (case-insensitive, aliases too); UnknownLanguage if there is none."""
    wanted = name.strip().lower()
    for language in table:
        if wanted == language.name or wanted in language.aliases:
            return language
    known = ", ".join(language.name for language in table)
    raise UnknownLanguage(f"unknown language {name!r}; known: {known}")


def require_executable(language: Language, search: str | None = None) -> str:
    """The program that runs `language`, found on `search` (a PATH); LanguageUnavailable when it is not installed."""
    found = language.executable(search)
    if found is None:
        raise LanguageUnavailable(f"{language.name} is not available here: {language.program} is not installed")
    return found
