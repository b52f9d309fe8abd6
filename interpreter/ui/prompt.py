"""Reading from the person: the task prompt and one-line questions. The only module that touches prompt_toolkit."""

from __future__ import annotations

import contextlib
import os
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, TextIO

from interpreter.settings.directories import private_file, reason

CONTROLLING_TERMINAL = "/dev/tty"

if TYPE_CHECKING:
    from prompt_toolkit import PromptSession
    from prompt_toolkit.completion import Completer
    from prompt_toolkit.history import History


class Prompter:
    """Asks on a terminal with prompt_toolkit (history, paste, editing); reads plain lines from a pipe otherwise.

    Only tasks and %commands go to the history file (`history`; None keeps it in memory), never answers to questions.
    """

    def __init__(
        self,
        history: Path | None,
        *,
        before_prompt: Callable[[], None] = lambda: None,
        say: Callable[[str], None] | None = None,
        stdin: TextIO | None = None,
        stdout: TextIO | None = None,
        terminal: Callable[[], TextIO] | None = None,
        completions: Sequence[str] = (),
    ) -> None:
        self._history = history
        self._before_prompt = before_prompt
        self._say = say or self._write_line  # a problem worth one line (the history file cannot be used)
        self._stdin = stdin or sys.stdin
        self._stdout = stdout or sys.stdout
        self._open_terminal = terminal or _controlling_terminal
        self._completions = list(completions)  # words Tab completes at the start of a task (the %commands)
        self._sessions: dict[bool, PromptSession[str]] = {}  # by "reads tasks": tasks and questions apart
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
        return self._ask("> ", task=True)

    def ask(self, question: str) -> str | None:
        """One answer to `question`; None at end of input."""
        return self._ask(question, task=False)

    def _ask(self, question: str, *, task: bool) -> str | None:
        """One line from the person; on a terminal, a task has the history and Tab completes the command words."""
        self._before_prompt()
        try:
            if self.interactive:
                return self._prompt_session(task=task).prompt(question, completer=self._completer() if task else None)
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

    def _write_line(self, line: str) -> None:
        """Show one line of the prompter's own where questions are echoed (when no `say` was given)."""
        self._stdout.write(f"{line}\n")
        self._stdout.flush()

    def _prompt_session(self, *, task: bool) -> PromptSession[str]:
        """The prompt_toolkit session for tasks or for questions, built on first use (its import is not free)."""
        if task not in self._sessions:
            from prompt_toolkit import PromptSession  # noqa: PLC0415 - keep start-up fast
            from prompt_toolkit.history import DummyHistory  # noqa: PLC0415
            from prompt_toolkit.input import create_input  # noqa: PLC0415
            from prompt_toolkit.shortcuts import CompleteStyle  # noqa: PLC0415

            # Completion on Tab only, readline-style (choices printed once above the prompt): no menu popping up
            # below the line, and no screen lines reserved for one.
            self._sessions[task] = PromptSession(
                history=self._task_history() if task else DummyHistory(),  # a `y` is no task to recall
                input=create_input(self._keyboard_input()),
                complete_while_typing=False,
                complete_style=CompleteStyle.READLINE_LIKE,
                reserve_space_for_menu=0,
            )
        return self._sessions[task]

    def _task_history(self) -> History:
        """The history file, readable only by its owner; in memory (said once) when there is none or it is unusable."""
        from prompt_toolkit.history import InMemoryHistory  # noqa: PLC0415 - with the session

        if self._history is None:
            return InMemoryHistory()
        try:
            os.close(private_file(self._history))
        except OSError as exc:
            self._say(f"cannot use the history file {self._history} ({reason(exc)}): going on without it")
            return InMemoryHistory()
        return _kept_history(self._history, self._say)

    def _completer(self) -> Completer | None:
        """Completes the whole line typed so far against the command words (so only a line's first word)."""
        if not self._completions:
            return None
        from prompt_toolkit.completion import WordCompleter  # noqa: PLC0415 - with the session, on first use

        return WordCompleter(self._completions, sentence=True)


def _kept_history(path: Path, say: Callable[[str], None]) -> History:
    """The history file at `path`; one that stops taking writes (a full disk) says so once through `say`, and the
    rest of the session's tasks stay in memory (prompt_toolkit adds each there before writing it)."""
    from prompt_toolkit.history import FileHistory  # noqa: PLC0415 - with the session, on first use

    class KeptHistory(FileHistory):
        broken = False

        def store_string(self, string: str) -> None:
            if self.broken:
                return
            try:
                super().store_string(string)
            except OSError as exc:
                self.broken = True
                say(f"cannot write the history file {path} ({reason(exc)}): going on without it")

    return KeptHistory(str(path))


def _controlling_terminal() -> TextIO:
    """The terminal this process belongs to, opened for reading; OSError when it has none."""
    return open(CONTROLLING_TERMINAL, encoding="utf-8")
