"""Executor: the execution subsystem's one entry point, owning a kernel per language and ending them all.

What is left behind, and when (the policy):

- Every process a cell starts is a descendant of its worker's supervisor (supervisor.py), a child subreaper:
  background jobs (`sleep 1000 &`), double-forked processes and deliberately detached daemons (`setsid`,
  `nohup setsid`) alike. Each also carries our tag, STEADY_INTERPRETER_TAG=<pid>-<start>-<random>, in its
  environment.
- Such processes may outlive the cell that started them, so a cell can start a server that a later cell uses;
  the run's output names each new one ("still running: PID 4242 (sleep 1000; detached with setsid)"), so the
  person and the model know they exist. They never outlive the worker: when it is replaced (it exited, or did
  not stop within the grace period) or closed, its supervisor ends its whole tree, detached daemons included.
- Closing the executor (normal exit, an exception, SIGTERM or SIGHUP turned into SystemExit by the CLI) closes
  every worker, then kills any process still carrying our tag. If this process dies without closing it, even by
  SIGKILL, each supervisor sees its lifeline close and does the same.
- Whoever starts the next executor has its first supervisor kill, in the background, the tagged processes of
  dead sessions (their owner pid is gone or was reused): only our tag variable, only our uid and pid namespace.
- A process that leaves on purpose beyond all of this (starts with an empty environment and is re-parented
  outside our tree, e.g. through `systemd-run` or `at`) is out of reach, as it is for any program.
"""

from __future__ import annotations

import contextlib
import enum
import logging
import os
import secrets
import time
from collections.abc import Callable, Collection, Generator, Iterator, Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from types import TracebackType

from interpreter.errors import ExecutionError
from interpreter.execution import sandbox, supervisor
from interpreter.execution.figures import FigureShelf
from interpreter.execution.interpreters import PythonChoice, choose_python
from interpreter.execution.kernel import Kernel, KernelState
from interpreter.execution.languages import LANGUAGES, PYTHON, Language, find_language, require_executable
from interpreter.execution.supervisor import TAG_VARIABLE
from interpreter.messages import Notice, RunItem, RunResult, Runtime
from interpreter.resilience.diagnostics import LOGGER_NAME
from interpreter.trust.environment import cell_environment, withheld_names

__all__ = ["TAG_VARIABLE", "Executor", "ExecutorState"]

# Output must not wait in buffers, must be UTF-8 whatever the locale, and nothing may page or prompt.
_ENVIRONMENT = {
    "PYTHONUNBUFFERED": "1",
    "PYTHONIOENCODING": "utf-8",
    "TERM": "dumb",
    "PAGER": "cat",
    "GIT_PAGER": "cat",
    "GIT_TERMINAL_PROMPT": "0",
}


class ExecutorState(enum.Enum):
    """Whether an executor still runs cells."""

    OPEN = "open"
    CLOSED = "closed"


@dataclass(frozen=True)
class _Start:
    """How a kernel's worker starts: its program, its environment, and the lines of its first cell's output."""

    runtime: Runtime
    env: Mapping[str, str]
    intro: str = ""  # a note the model is told too
    banner: str = ""  # a notice for the person alone


class Executor:
    """Runs code cells in one persistent process per language, and ends every process it started."""

    def __init__(
        self,
        cwd: Path | None = None,
        output_cap: int = 12_000,
        grace: float = 2.0,
        *,
        timeout: float | None = None,
        languages: Sequence[Language] = LANGUAGES,
        clock: Callable[[], float] = time.monotonic,
        pass_env: Collection[str] = (),
        environ: Mapping[str, str] = os.environ,
        sandboxed: bool = False,
        probe: Callable[[], sandbox.Availability] = sandbox.probe,
        python: str | None = None,
        figures: FigureShelf | None = None,
        private: Sequence[Path] = (),
    ) -> None:
        self.state = ExecutorState.OPEN
        self.tag = supervisor.make_tag(secrets.token_hex(6))
        self._timeout = timeout
        self._cwd = cwd
        self._output_cap = output_cap
        self._grace = grace
        self._table = tuple(languages)
        self._clock = clock
        # Cells (and their supervisors, whose /proc/PID/environ a cell can read) get no secrets; the tag marks
        # every process we start, and their descendants, so escaped ones can be found.
        self._env = {**cell_environment(environ, pass_env), **_ENVIRONMENT, TAG_VARIABLE: self.tag}
        self._environ = environ
        _log_withheld(withheld_names(environ, pass_env))
        self._kernels: dict[str, Kernel] = {}
        self._started_any = False
        self._probe = probe
        self._private = private  # what sandboxed cells may not see: the home, the settings file
        self._note = ""  # told the person before the next cell: what the sandbox's fallback does not cover
        self._noted = False  # whether it was (once is enough)
        self._confinement = self._sandbox(sandboxed)  # SandboxUnavailable: no cell may run unconfined instead
        # Programs come from the person's PATH, as in their shell; python cells from the Python it would pick.
        self._search = environ.get("PATH")
        self._python_setting = python
        self._python: PythonChoice | None = None
        self._announced = False  # whether a python kernel was made with the line naming its Python
        self._shelf = figures  # None: figures are not kept (the home cannot be written)

    @property
    def sandboxed(self) -> bool:
        """Whether cells run in the sandbox (see sandbox.py)."""
        return self._confinement is not None

    def set_sandboxed(self, on: bool) -> None:
        """Sandbox the cells from now on, or stop; a change restarts the language processes (none can leave one)."""
        if on != self.sandboxed:
            self._confinement = self._sandbox(on)
            self.restart()

    def languages(self) -> list[str]:
        """Canonical names of the languages that can run on this machine."""
        return [language.name for language in self._table if language.executable(self._search) is not None]

    def check(self, language: str) -> str:
        """The canonical name of `language`; UnknownLanguage or LanguageUnavailable if it cannot run here."""
        found = find_language(self._table, language)
        require_executable(found, self._search)
        return found.name

    def run(self, language: str, code: str, timeout: float | None = None) -> Generator[RunItem, None, None]:
        """Run a cell: yields its output as it comes, the figures it drew, and a RunResult last; close() it to stop it.

        `timeout` (seconds; the executor's default when None) is the cell's own time, start-up not included.
        """
        if self.state is ExecutorState.CLOSED:
            raise ExecutionError("the executor is closed")
        found = find_language(self._table, language)
        executable = require_executable(found, self._search)
        if "\0" in code:
            raise ExecutionError("the code contains a NUL character, which no interpreter accepts")
        return self._run(self._kernel(found, executable), code, self._timeout if timeout is None else timeout)

    def prepare(self, language: str) -> None:
        """Start `language`'s worker now, so a first cell does not wait for it; nothing if it cannot run here."""
        if self.state is ExecutorState.CLOSED:
            return
        found = find_language(self._table, language)
        executable = found.executable(self._search)
        if executable is not None:
            self._kernel(found, executable).prepare()

    def _kernel(self, found: Language, executable: str) -> Kernel:
        """The kernel of `found`, made on first use."""
        kernel = self._kernels.get(found.name)
        if kernel is None:
            start = self._python_start() if found.name == PYTHON else _Start(Runtime(executable), self._env)
            kernel = self._kernels[found.name] = Kernel(
                found,
                start.runtime,
                intro=start.intro,
                banner=start.banner,
                cwd=self._cwd,
                env=start.env,
                output_cap=self._output_cap,
                grace=self._grace,
                clock=self._clock,
                sweep_orphans=not self._started_any,  # once per executor, by the first worker's supervisor
                sandbox=self._confinement,
            )
            self._started_any = True
        return kernel

    def _python_start(self) -> _Start:
        """How the python worker starts: the Python for cells, its environment, and the line naming it (once)."""
        choice = self.python()
        line, self._announced = ("" if self._announced else choice.banner()), True  # not again after %reset
        # Passed over (too old, broken): the model must know why the person's packages are missing, so it is told.
        if choice.refused:
            return _Start(choice.runtime, self._env, intro=line)
        return _Start(choice.runtime, self._env, banner=line)

    def _run(self, kernel: Kernel, code: str, timeout: float | None) -> Generator[RunItem, None, None]:
        """The kernel's run, with the figures the cell drew before its result."""
        if self._note:
            yield Notice(self._note)
            self._note, self._noted = "", True
        run = kernel.run(code, timeout)
        try:
            for item in run:
                if isinstance(item, RunResult):
                    yield from self._with_figures(item, kernel)
                else:
                    yield item
        finally:
            run.close()  # stops the cell when this run is dropped

    def _with_figures(self, result: RunResult, kernel: Kernel) -> Iterator[RunItem]:
        """Each figure the cell drew (or a line for each refused), then `result` with a line for each added to what
        the model is told. Without a shelf (the home cannot be written) figures are dropped, as they come."""
        pictures, refused = kernel.figures.take()
        try:
            figures = self._shelf.file(pictures) if self._shelf is not None else []
        except ExecutionError as exc:
            figures = []
            yield Notice(str(exc))
        yield from figures
        yield from (Notice(line) for line in refused)
        lines = [figure.line for figure in figures] + [f"[{line}]" for line in refused]
        if lines:
            apart = "" if result.output.endswith("\n") or not result.output else "\n"
            result = replace(result, output=result.output + apart + "".join(f"{line}\n" for line in lines))
        yield result

    def python(self) -> PythonChoice:
        """The Python that runs python cells, chosen (and checked by running it) on first use."""
        if self._python is None:
            self._python = choose_python(self._python_setting, self._environ)
        return self._python

    def interrupt(self) -> bool:
        """Stop the running cell as Ctrl-C does (see Kernel.interrupt); False when no cell is running."""
        interrupted = [kernel.interrupt() for kernel in list(self._kernels.values())]  # each, not the first only
        return any(interrupted)

    @property
    def kernels(self) -> dict[str, KernelState]:
        """The state of each language's kernel started so far."""
        return {name: kernel.state for name, kernel in self._kernels.items()}

    def restart(self) -> None:
        """End every language process, as %reset asks; each started language gets a fresh one, with no warning."""
        if self.state is ExecutorState.CLOSED:
            return
        kernels, self._kernels = self._kernels, {}
        self._end(list(kernels.values()))
        for name in kernels:
            self.prepare(name)

    def close(self) -> None:
        """End every process this executor started; closing twice is fine."""
        self.state = ExecutorState.CLOSED
        self._end(list(self._kernels.values()))

    def _end(self, kernels: list[Kernel]) -> None:
        """Close `kernels` (their whole trees), then kill whatever still carries our tag."""
        with contextlib.ExitStack() as stack:
            if self._started_any:  # last, for any process that escaped its supervisor
                stack.callback(self._kill_tagged)
            for kernel in kernels:
                stack.callback(kernel.close)

    def _sandbox(self, on: bool) -> tuple[str, ...] | None:
        """The supervisor's sandbox arguments, None when `on` is False; SandboxUnavailable if it cannot be set up."""
        if not on:
            return None
        found = self._probe()
        sandbox.require(found)
        if not self._noted:
            self._note = found.fallback_note()
        paths = sandbox.writable(self._cwd or Path.cwd(), self._env)
        return sandbox.arguments(found, paths, sandbox.hidden(self._private))

    def _kill_tagged(self) -> None:
        """Kill every process still carrying our tag (normally none: the supervisors ended them)."""
        supervisor.kill_all(pid for pid, tag in supervisor.tagged() if tag == self.tag and pid != os.getpid())

    def __enter__(self) -> Executor:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, traceback: TracebackType | None
    ) -> None:
        self.close()


def _log_withheld(names: Sequence[str]) -> None:
    """Say once which variables cells do not get, so a cell missing one is explained (names only, never values)."""
    if names:
        logging.getLogger(LOGGER_NAME).info(
            "cells do not get these environment variables: %s (pass_env in the settings file lets named ones through)",
            ", ".join(names),
        )
