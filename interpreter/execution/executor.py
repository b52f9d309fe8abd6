"""Executor: the execution subsystem's one entry point, owning a kernel per language and ending them all."""

from __future__ import annotations

import contextlib
import os
import secrets
import time
from collections.abc import Callable, Generator, Sequence
from pathlib import Path
from types import TracebackType

from interpreter.errors import ExecutionError
from interpreter.execution.kernel import Kernel
from interpreter.execution.languages import LANGUAGES, Language, find_language, require_executable
from interpreter.messages import OutputChunk, RunResult

TAG_VARIABLE = "STEADY_INTERPRETER_TAG"

# Output must not wait in buffers, must be UTF-8 whatever the locale, and nothing may page or prompt.
_ENVIRONMENT = {
    "PYTHONUNBUFFERED": "1",
    "PYTHONIOENCODING": "utf-8",
    "TERM": "dumb",
    "PAGER": "cat",
    "GIT_PAGER": "cat",
    "GIT_TERMINAL_PROMPT": "0",
}


class Executor:
    """Runs code cells in one persistent process per language, and ends every process it started."""

    def __init__(
        self,
        cwd: Path | None = None,
        output_cap: int = 12_000,
        grace: float = 2.0,
        *,
        languages: Sequence[Language] = LANGUAGES,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.tag = secrets.token_hex(8)
        self._cwd = cwd
        self._output_cap = output_cap
        self._grace = grace
        self._table = tuple(languages)
        self._clock = clock
        # The tag marks every process we start, and their descendants, so escaped ones can be found.
        self._env = {**os.environ, **_ENVIRONMENT, TAG_VARIABLE: self.tag}
        self._kernels: dict[str, Kernel] = {}
        self._closed = False

    def languages(self) -> list[str]:
        """Canonical names of the languages that can run on this machine."""
        return [language.name for language in self._table if language.executable() is not None]

    def check(self, language: str) -> str:
        """The canonical name of `language`; UnknownLanguage or LanguageUnavailable if it cannot run here."""
        found = find_language(self._table, language)
        require_executable(found)
        return found.name

    def run(
        self, language: str, code: str, timeout: float | None = None
    ) -> Generator[OutputChunk | RunResult, None, None]:
        """Run a cell: yields its output as it comes, and a RunResult last; close() it to stop the cell."""
        if self._closed:
            raise ExecutionError("the executor is closed")
        found = find_language(self._table, language)
        executable = require_executable(found)
        if "\0" in code:
            raise ExecutionError("the code contains a NUL character, which no interpreter accepts")
        kernel = self._kernels.get(found.name)
        if kernel is None:
            kernel = self._kernels[found.name] = Kernel(
                found,
                executable,
                cwd=self._cwd,
                env=self._env,
                output_cap=self._output_cap,
                grace=self._grace,
                clock=self._clock,
            )
        return kernel.run(code, timeout)

    def close(self) -> None:
        """End every process this executor started; closing twice is fine."""
        self._closed = True
        kernels, self._kernels = list(self._kernels.values()), {}
        with contextlib.ExitStack() as stack:
            for kernel in kernels:
                stack.callback(kernel.close)

    def __enter__(self) -> Executor:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, traceback: TracebackType | None
    ) -> None:
        self.close()
