"""Reading from the person: the task prompt and one-line questions. The only module that touches prompt_toolkit."""

from __future__ import annotations

import contextlib
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, TextIO

CONTROLLING_TERMINAL = "/dev/tty"

if TYPE_CHECKING:
    from prompt_toolkit import PromptSession
    from prompt_toolkit.completion import Completer


class Prompter:
    """Asks on a terminal with prompt_toolkit (history, paste, editing); reads plain lines from a pipe otherwise."""

    def __init__(
        self,
        history: Path,
        *,
        before_prompt: Callable[[], None] = lambda: None,
        stdin: TextIO | None = None,
        stdout: TextIO | None = None,
        terminal: Callable[[], TextIO] | None = None,
        completions: Sequence[str] = (),
    ) -> None:
        self._history = history
        self._before_prompt = before_prompt
        self._stdin = stdin or sys.stdin
        self._stdout = stdout or sys.stdout
        self._open_terminal = terminal or _controlling_terminal
        self._completions = list(completions)  # words Tab completes at the start of a task (the %commands)
        self._session: PromptSession[str] | None = None
        self._keyboard: TextIO | None = None

    @property
    def interactive(self) -> bool:
        """True when the person is at a terminal: typing on stdin, or watching stdout with the task piped in."""
        return self._keyboard_input() is not None

    def _keyboard_input(self) -> TextIO | None:
        """Where the person types, if anywhere: stdin on a terminal, else the terminal stdout shows.

        With a task piped in (`echo task | interpreter`) and the output on a terminal, "Run this code?" is asked
        there and read from the controlling terminal, as a pager does.
        """
        if self._keyboard is None:
            if self._stdin.isatty():
                self._keyboard = self._stdin
            elif self._stdout.isatty():
                with contextlib.suppress(OSError):  # no controlling terminal: questions get end of input
                    self._keyboard = self._open_terminal()
        return self._keyboard

    def read_task(self) -> str | None:
        """The next task; None at end of input (Ctrl-D). Ctrl-C raises KeyboardInterrupt (the line is dropped)."""
        return self._ask("> ", completing=True)

    def ask(self, question: str) -> str | None:
        """One answer to `question`; None at end of input."""
        return self._ask(question, completing=False)

    def _ask(self, question: str, *, completing: bool) -> str | None:
        """One line from the person; on a terminal, Tab completes the command words when `completing`."""
        self._before_prompt()
        try:
            if self.interactive:
                return self._prompt_session().prompt(question, completer=self._completer() if completing else None)
            return self._read_line(question)
        except EOFError:
            return None

    def _read_line(self, question: str) -> str | None:
        """A plain line from a pipe, echoing the question so a transcript reads well."""
        self._stdout.write(question)
        self._stdout.flush()
        line = self._stdin.readline()
        if not line:
            self._stdout.write("\n")
            return None
        return line.rstrip("\n")

    def _prompt_session(self) -> PromptSession[str]:
        """The prompt_toolkit session, built on first use (its import is not free)."""
        if self._session is None:
            from prompt_toolkit import PromptSession  # noqa: PLC0415 - keep start-up fast
            from prompt_toolkit.history import FileHistory  # noqa: PLC0415
            from prompt_toolkit.shortcuts import CompleteStyle  # noqa: PLC0415

            self._history.parent.mkdir(parents=True, exist_ok=True)
            # Completion on Tab only, readline-style (choices printed once above the prompt): no menu popping up
            # below the line, and no screen lines reserved for one.
            from prompt_toolkit.input import create_input  # noqa: PLC0415

            self._session = PromptSession(
                history=FileHistory(str(self._history)),
                input=create_input(self._keyboard_input()),
                complete_while_typing=False,
                complete_style=CompleteStyle.READLINE_LIKE,
                reserve_space_for_menu=0,
            )
        return self._session

    def _completer(self) -> Completer | None:
        """Completes the whole line typed so far against the command words (so only a line's first word)."""
        if not self._completions:
            return None
        from prompt_toolkit.completion import WordCompleter  # noqa: PLC0415 - with the session, on first use

        return WordCompleter(self._completions, sentence=True)


def _controlling_terminal() -> TextIO:
    """The terminal this process belongs to, opened for reading; OSError when it has none."""
    return open(CONTROLLING_TERMINAL, encoding="utf-8")
