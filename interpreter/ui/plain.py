"""The plain renderer for pipes, CI and dumb terminals: text only, no escape codes, each line written once.

Everything it writes passes the gate (`ui.untrusted.visible`): control characters arrive as visible stand-ins.
"""

from __future__ import annotations

import re
import sys
import time
from collections.abc import Callable
from typing import TextIO, assert_never

from interpreter.messages import (
    CodeCell,
    CodeDeclined,
    CodeDraft,
    CodeFinished,
    CodeProposed,
    CodeStarted,
    Event,
    Figure,
    ModelSwitched,
    Notice,
    OutputChunk,
    RequestStarted,
    RunResult,
    TextDelta,
    Thinking,
    TurnEnded,
    Usage,
    Waiting,
)
from interpreter.ui.labels import cut_note, duration, outcome, ran_in, reset_note, spent, switched
from interpreter.ui.output import LineSplitter, lines_of
from interpreter.ui.thoughts import Thoughts
from interpreter.ui.untrusted import visible, warning

_BACKTICK_RUNS = re.compile(r"`+")


def _fence(code: str) -> str:
    """A backtick fence longer than any run of backticks inside `code`."""
    longest = max((len(run) for run in _BACKTICK_RUNS.findall(code)), default=0)
    return "`" * max(3, longest + 1)


def _fenced(cell: CodeCell, note: str) -> str:
    """A cell as a fenced markdown block (several lines in one string)."""
    code = cell.code.rstrip("\n")
    fence = _fence(code)
    return f"{fence}{cell.language}{note}\n{code}\n{fence}"


def _proposed(cell: CodeCell, in_text: bool, edited: bool) -> list[str]:
    """A cell to approve: its code (unless the text showed it), and a warning when it holds hidden characters."""
    caution = warning(cell.code)
    code = [] if in_text else [_fenced(cell, " (edited)" if edited else "")]
    return [*code, *([] if caution is None else [f"warning: {caution}"])]


class PlainRenderer:
    """Writes the session as plain text: the answer's markdown as it streams, fenced code, output lines."""

    def __init__(
        self,
        file: TextIO,
        *,
        errors: TextIO | None = None,
        clock: Callable[[], float] = time.monotonic,
        verbose: bool = False,
    ) -> None:
        self._file = file
        self._errors = errors  # where log lines go (None: whatever sys.stderr is when one is written)
        self._clock = clock
        self.verbose = verbose
        self._output = LineSplitter()
        self._line_open = False  # the last write left its line unfinished
        self._thoughts = Thoughts(clock)

    def handle(self, event: Event) -> None:
        """Write one session event."""
        if isinstance(event, Thinking):
            self._thoughts.add(event.text)
            return
        for line in self._thought():
            self._line(line)
        if isinstance(event, TextDelta):
            self._write(event.text)
        else:
            for line in self._draw(event):
                self._line(line)
        self._file.flush()

    def info(self, line: str) -> None:
        """Write one informational line."""
        self._line(line)
        self._file.flush()

    def log(self, line: str) -> None:
        """Write one diagnostics log line on stderr, when verbose (stdout keeps only the session)."""
        if self.verbose:
            print(visible(line), file=self._errors or sys.stderr, flush=True)

    def error(self, line: str, details: str = "") -> None:
        """Write a one-line failure, and its details with --verbose."""
        self._line(f"error: {line}")
        for detail in details.splitlines() if self.verbose else ():
            self._line(f"  {detail}")
        self._file.flush()

    def stop(self) -> None:
        """Write any unfinished output line and end the current line."""
        for line in [*self._thought(), *self._flush_output()]:
            self._line(line)
        if self._line_open:
            self._write("\n")
        self._file.flush()

    def _draw(self, event: Event) -> list[str]:  # noqa: PLR0911, PLR0912  # one case per event type
        """The lines one event adds (text deltas are written as they come, elsewhere)."""
        match event:
            case TextDelta() | CodeDraft() | Thinking():
                return []  # text is written as it comes; a cell when it is complete (CodeProposed)
            case Waiting():
                return [event.describe(event.until - self._clock())]
            case RequestStarted(step=step):
                return [f"[step {step}]"] if self.verbose else []
            case CodeProposed(cell=cell, in_text=in_text, edited=edited):
                return _proposed(cell, in_text, edited)
            case CodeStarted():
                self._output = LineSplitter()  # edited code was shown at the question, just above
                return []
            case OutputChunk(text=text):
                return self._output.feed(text)
            case Figure():
                return [*self._flush_output(), event.line]
            case CodeFinished(cell=cell, result=result):
                return self._finish(cell, result)
            case CodeDeclined():
                return ["(declined)"]
            case Notice(text=text, quiet=quiet):
                return [text if quiet else f"note: {text}"]
            case ModelSwitched():
                return [switched(event)]
            case Usage():
                return [f"[{spent(event)}]"] if self.verbose else []
            case TurnEnded(reason=reason, steps=steps):
                return [f"stopped after {steps} steps (--max-steps)"] if reason == "max_steps" else []
            case _:
                assert_never(event)

    def _finish(self, cell: CodeCell, result: RunResult) -> list[str]:
        """The end of a run: the rest of its output, what was cut, how it ended."""
        lines = self._flush_output()
        if result.cut_chars:
            lines += [cut_note(result.cut_chars), *lines_of(result.tail)]
        lines.append(f"({', '.join([outcome(result) or 'ok', duration(result.elapsed), *ran_in(result)])})")
        if result.restarted:
            lines.append(f"note: {reset_note(cell.language)}")
        return lines

    def _thought(self) -> list[str]:
        """Once reasoning is over, the line that says so ("(thought for 4.2s)"), and with --verbose what it said."""
        ended = self._thoughts.end()
        if ended is None:
            return []
        line, text = ended
        return [f"({line})", *(lines_of(text) if self.verbose and text else [])]

    def _flush_output(self) -> list[str]:
        """The unfinished output line, if any."""
        rest = self._output.flush()
        return [] if rest is None else [rest]

    def _line(self, text: str) -> None:
        """Write `text` as whole lines, starting on a fresh line."""
        if self._line_open:
            self._write("\n")
        self._write(text + "\n")

    def _write(self, text: str) -> None:
        """Write text through the gate, remembering whether it left a line unfinished."""
        if text := visible(text):
            self._file.write(text)
            self._line_open = not text.endswith("\n")
