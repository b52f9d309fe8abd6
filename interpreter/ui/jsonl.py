"""The JSON-lines renderer for `--json`: one JSON object per event on stdout, for other programs to read.

Every line is a whole object with a `type`; nothing else is written on stdout. Errors also go to stderr as the
usual one human line, so a person watching a script sees them.
"""

from __future__ import annotations

import json
import sys
import time
from collections.abc import Callable
from typing import Any, TextIO, assert_never

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
    Runtime,
    TextDelta,
    Thinking,
    TurnEnded,
    Usage,
    Waiting,
)
from interpreter.ui.untrusted import visible


def _cell(cell: CodeCell) -> dict[str, Any]:
    return {"language": cell.language, "code": cell.code}


def _runtime(runtime: Runtime) -> dict[str, Any]:
    """The program that ran a cell: its path and version ("" where not known)."""
    return {"path": runtime.path, "version": runtime.version}


def _image(figure: Figure) -> dict[str, Any]:
    """A figure a cell drew: where it is saved, its number, size in pixels and format."""
    return {
        "type": "image",
        "number": figure.number,
        "path": figure.path,
        "width": figure.width,
        "height": figure.height,
        "format": figure.format,
    }


class JsonLinesRenderer:
    """Writes each event as one JSON object on its own line, flushed at once."""

    def __init__(
        self,
        file: TextIO,
        *,
        errors: TextIO | None = None,
        clock: Callable[[], float] = time.monotonic,
        verbose: bool = False,
    ) -> None:
        self._file = file
        self._errors = errors
        self._clock = clock
        self.verbose = verbose

    def handle(self, event: Event) -> None:
        """Write one session event (not a CodeDraft: the whole cell comes with `code_proposed`)."""
        record = self.record(event)
        if record is not None:
            self._emit(record)

    def info(self, line: str) -> None:
        """Write an informational line as `{"type": "info", "text": ...}`."""
        self._emit({"type": "info", "text": line})

    def log(self, line: str) -> None:
        """Write one diagnostics log line on stderr, when verbose: stdout carries only JSON."""
        if self.verbose:
            print(visible(line), file=sys.stderr if self._errors is None else self._errors, flush=True)

    def error(self, line: str, details: str = "") -> None:
        """Write `{"type": "error", "message": ...}` (`details` with --verbose), and the line (gated) on stderr."""
        record: dict[str, Any] = {"type": "error", "message": line}
        if self.verbose and details:
            record["details"] = details
        self._emit(record)
        errors = sys.stderr if self._errors is None else self._errors
        print(f"interpreter: {visible(line)}", file=errors, flush=True)  # the JSON line keeps the original

    def exit(self, status: int) -> None:
        """Write the last line: `{"type": "exit", "status": N}`, the exit status the command is about to return."""
        self._emit({"type": "exit", "status": status})

    def stop(self) -> None:
        """Nothing is ever pending: every line is written whole."""

    def record(self, event: Event) -> dict[str, Any] | None:  # noqa: PLR0911, PLR0912  # one case per event type
        """The JSON object for one event; None for one that is not written."""
        match event:
            case CodeDraft():
                return None
            case RequestStarted(step=step):
                return {"type": "request_started", "step": step}
            case Waiting():
                seconds = round(max(0.0, event.until - self._clock()), 3)
                return {
                    "type": "waiting",
                    "reason": event.reason,
                    "seconds": seconds,
                    "attempt": event.attempt,
                    "attempts": event.attempts,
                }
            case TextDelta(text=text):
                return {"type": "text", "text": text}
            case Thinking(text=text):
                return {"type": "reasoning", "text": text}
            case CodeProposed(cell=cell, in_text=in_text):
                return {"type": "code_proposed", **_cell(cell), "in_text": in_text}
            case CodeStarted(cell=cell, edited=edited):
                return {"type": "code_started", **_cell(cell), "edited": edited}
            case OutputChunk(text=text):
                return {"type": "output", "text": text}
            case CodeFinished(cell=cell, result=result):
                return {
                    "type": "code_finished",
                    "language": cell.language,
                    "exit_status": result.exit_status,
                    "elapsed": round(result.elapsed, 3),
                    "interrupted": result.interrupted,
                    "restarted": result.restarted,
                    "sandboxed": result.sandboxed,
                    "cut_chars": result.cut_chars,
                    "tail": result.tail,
                    "interpreter": None if result.runtime is None else _runtime(result.runtime),
                }
            case Figure():
                return _image(event)
            case CodeDeclined(cell=cell):
                return {"type": "code_declined", **_cell(cell)}
            case Notice(text=text):
                return {"type": "notice", "text": text}
            case ModelSwitched():
                return {
                    "type": "model_switched",
                    "from": event.previous,
                    "to": event.model,
                    "reason": event.reason,
                    "seconds": None if event.seconds is None else round(event.seconds, 3),
                    "back": event.back,
                }
            case Usage():
                return {
                    "type": "usage",
                    "model": event.model,
                    "input_tokens": event.prompt_tokens,
                    "cached_tokens": event.cached_tokens,
                    "output_tokens": event.completion_tokens,
                    "reasoning_tokens": event.reasoning_tokens,
                    "cost": event.cost,
                    "estimated": event.estimated,
                }
            case TurnEnded(reason=reason, steps=steps):
                return {"type": "turn_ended", "reason": reason, "steps": steps}
            case _:
                assert_never(event)

    def _emit(self, record: dict[str, Any]) -> None:
        """Write one object as one line (ASCII only: valid whatever the locale's encoding)."""
        self._file.write(json.dumps(record) + "\n")
        self._file.flush()
