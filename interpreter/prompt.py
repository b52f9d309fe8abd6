"""Reading from the person: the task prompt and one-line questions. The only module that touches prompt_toolkit."""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, TextIO

if TYPE_CHECKING:
    from prompt_toolkit import PromptSession


class Prompter:
    """Asks on a terminal with prompt_toolkit (history, paste, editing); reads plain lines from a pipe otherwise."""

    def __init__(
        self,
        history: Path,
        *,
        before_prompt: Callable[[], None] = lambda: None,
        stdin: TextIO | None = None,
    ) -> None:
        self._history = history
        self._before_prompt = before_prompt
        self._stdin = stdin or sys.stdin
        self._session: PromptSession[str] | None = None

    @property
    def interactive(self) -> bool:
        """True when the person is at a terminal."""
        return self._stdin.isatty()

    def read_task(self) -> str | None:
        """The next task; None at end of input (Ctrl-D). Ctrl-C raises KeyboardInterrupt (the line is dropped)."""
        return self.ask("> ")

    def ask(self, question: str) -> str | None:
        """One answer to `question`; None at end of input."""
        self._before_prompt()
        try:
            if self.interactive:
                return self._prompt_session().prompt(question)
            return self._read_line(question)
        except EOFError:
            return None

    def _read_line(self, question: str) -> str | None:
        """A plain line from a pipe, echoing the question so a transcript reads well."""
        sys.stdout.write(question)
        sys.stdout.flush()
        line = self._stdin.readline()
        if not line:
            sys.stdout.write("\n")
            return None
        return line.rstrip("\n")

    def _prompt_session(self) -> PromptSession[str]:
        """The prompt_toolkit session, built on first use (its import is not free)."""
        if self._session is None:
            from prompt_toolkit import PromptSession  # noqa: PLC0415 - keep start-up fast
            from prompt_toolkit.history import FileHistory  # noqa: PLC0415

            self._history.parent.mkdir(parents=True, exist_ok=True)
            self._session = PromptSession(history=FileHistory(str(self._history)))
        return self._session
