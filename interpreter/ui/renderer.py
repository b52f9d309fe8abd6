"""The Renderer protocol, and make_renderer, which picks the terminal, the plain or the JSON-lines one."""

from __future__ import annotations

import os
import sys
from typing import Protocol, TextIO

from interpreter.messages import Event
from interpreter.ui.jsonl import JsonLinesRenderer
from interpreter.ui.plain import PlainRenderer


class Renderer(Protocol):
    """Owns the screen: draws session events and the odd line of its own; nothing else prints."""

    verbose: bool  # show details (step numbers, the causes behind a failure); %verbose turns it on and off

    def handle(self, event: Event) -> None:
        """Draw one session event."""

    def info(self, line: str) -> None:
        """Show one informational line."""

    def error(self, line: str, details: str = "") -> None:
        """Show a one-line failure; `details` (e.g. a traceback) only with --verbose."""

    def log(self, line: str) -> None:
        """Show one diagnostics log line, only when verbose: on a terminal above the live rows, else on stderr."""

    def stop(self) -> None:
        """End any live region and flush pending text (before a prompt, on Ctrl-C, at the end); idempotent."""


def is_terminal(file: TextIO) -> bool:
    """Whether `file` is a terminal that can take escape codes (a tty, and TERM is not "dumb")."""
    try:
        tty = file.isatty()
    except ValueError:  # a closed file
        return False
    return tty and os.environ.get("TERM") != "dumb"


def make_renderer(
    file: TextIO | None = None, *, terminal: bool | None = None, verbose: bool = False, json: bool = False
) -> Renderer:
    """A renderer for `file` (stdout): JSON lines if asked, else Rich on a terminal (None: detect), else plain text."""
    out = sys.stdout if file is None else file
    if json:
        return JsonLinesRenderer(out, verbose=verbose)
    if terminal is None:
        terminal = is_terminal(out)
    if not terminal:
        return PlainRenderer(out, verbose=verbose)
    # Rich takes a while to import; only a session on a terminal pays for it.
    from interpreter.ui.images import image_protocol  # noqa: PLC0415
    from interpreter.ui.terminal import TerminalRenderer, terminal_console  # noqa: PLC0415

    return TerminalRenderer(terminal_console(out), verbose=verbose, images=image_protocol(os.environ))
