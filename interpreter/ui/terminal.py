"""The terminal renderer: an append-only transcript printed once, above one small transient live region."""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TextIO, assert_never

from rich.console import Console, Group, NewLine, RenderableType
from rich.style import Style
from rich.text import Text

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
from interpreter.ui.blocks import BlockSplitter
from interpreter.ui.codeblock import code_block
from interpreter.ui.frame import TAIL_ROWS, Frame, Status, View
from interpreter.ui.gutter import Gutter
from interpreter.ui.images import ImageProtocol, ask_terminal, cell_width, inline_image
from interpreter.ui.labels import cut_note, duration, outcome, ran_in, reset_note, spent, switched
from interpreter.ui.markdown import markdown
from interpreter.ui.output import LineSplitter, lines_of
from interpreter.ui.region import LiveRegion
from interpreter.ui.thoughts import Thoughts
from interpreter.ui.untrusted import visible, warning

REFRESH_PER_SECOND = 10


def terminal_console(file: TextIO) -> Console:
    """A Console for a terminal; Rich reads its width (on every render) and NO_COLOR itself."""
    return Console(file=file, force_terminal=True, highlight=False)


def footer(result: RunResult) -> Text:
    """How a run ended: "✓ 0.2s", or "exit status 2 · 1.3s" / "interrupted · 4.0s"; "· sandboxed" after, if it was."""
    words = outcome(result)
    after = " · ".join([duration(result.elapsed), *ran_in(result)])
    if words is None:
        return Text(f"✓ {after}", style="dim green")
    style = "yellow" if words == "interrupted" else "red"
    return Text(f"{words} · {after}", style=style)


def _line(text: str, style: str | Style = "") -> Text:
    """One line of foreign text (or of ours around it), through the gate."""
    return Text(visible(text), style=style)


def _countdown(wait: Waiting, now: float) -> Status:
    """The status line of a wait: "rate limited (TPM) · retrying in 3.7s · attempt 2/6 · Ctrl-C to cancel"."""
    attempt = f" · {wait.attempt_label}" if wait.attempt_label else ""
    return Status(f"{wait.reason} · {wait.verb} in ", now, f"{attempt} · Ctrl-C to cancel", until=wait.until)


class TerminalRenderer:
    """Draws a session on a terminal: finished blocks print once; only the frame below them is redrawn."""

    def __init__(
        self,
        console: Console,
        *,
        clock: Callable[[], float] = time.monotonic,
        verbose: bool = False,
        images: ImageProtocol | None = ImageProtocol.NONE,
        ask: Callable[[], ImageProtocol] = ask_terminal,
    ) -> None:
        self._console = console
        self._images = images  # how this terminal takes inline pictures, if it does; None: ask it (`ask`)
        self._ask = ask
        self._clock = clock
        self.verbose = verbose
        self._blocks = BlockSplitter()
        self._output = LineSplitter()
        self._output_shown = False  # whether this run's output section has begun
        self._status: Status | None = None
        self._draft: CodeDraft | None = None
        self._frame = Frame(clock)
        self._region = LiveRegion(console, self._frame, refresh_per_second=REFRESH_PER_SECOND)
        self._printed = False
        self._thoughts = Thoughts(clock)
        self._in_use = ""  # the model requests go to, once a fallback stood in: the status line names it

    def handle(self, event: Event) -> None:
        """Draw one session event."""
        if isinstance(event, Thinking):
            self._thoughts.add(event.text)  # shown dim in the live rows until the answer begins
            self._show([])
            return
        shown = [*self._thought(), *([] if isinstance(event, TextDelta) else self._flush_text())]
        if not isinstance(event, OutputChunk | Notice):
            self._status = None  # "thinking" and "running" last until anything but output or a notice
        self._draft = event if isinstance(event, CodeDraft) else None  # a cell being written shows until it is done
        self._show([*shown, *self._draw(event)])
        if isinstance(event, Figure):
            self._picture(event)

    def info(self, line: str) -> None:
        """Print one informational line."""
        self._show([_line(line)])

    def error(self, line: str, details: str = "") -> None:
        """Print a one-line failure in red, and its details (dim) with --verbose."""
        shown: list[RenderableType] = [_line(f"error: {line}", "red")]
        if details and self.verbose:
            shown.append(_line(details.rstrip("\n"), "dim"))
        self._show(shown)

    def log(self, line: str) -> None:
        """Print one diagnostics log line (dim), above the live region, when verbose."""
        if self.verbose:
            self._show([_line(line, "dim")])

    def stop(self) -> None:
        """Print whatever is pending and close the live region."""
        self._status = None
        self._draft = None  # a cell cut off while being written (Ctrl-C) is not left in the rows under the prompt
        self._show([*self._thought(), *self._flush_text(), *self._flush_output()])

    def _draw(self, event: Event) -> list[RenderableType]:  # noqa: PLR0911, PLR0912  # one case per event type
        """What one event adds to the transcript (a request or a run also sets the status)."""
        match event:
            case TextDelta(text=text):
                blocks = self._blocks.feed(text)
                return [part for block in blocks for part in self._section(markdown(block))]
            case Waiting():
                self._status = _countdown(event, self._clock())
                return []
            case CodeDraft() | Thinking():
                return []
            case RequestStarted(step=step):
                self._status = Status("thinking… ", self._clock(), f" · {self._in_use}" if self._in_use else "")
                return self._section(Text(f"step {step}", style="dim")) if self.verbose else []
            case CodeProposed(cell=cell, in_text=in_text, edited=edited):
                return self._proposed(cell, in_text, edited)
            case CodeStarted(cell=cell):
                return self._start(cell)
            case OutputChunk(text=text):
                return self._output_lines(self._output.feed(text))
            case Figure():
                link = Style(link=Path(event.path).as_uri())  # a click opens it, where the terminal allows
                return [*self._flush_output(), *self._output_block([_line(event.line, link)])]
            case CodeFinished(cell=cell, result=result):
                return self._finish(cell, result)
            case CodeDeclined():
                return self._section(Text("declined", style="dim"))
            case Notice(text=text, quiet=quiet):
                return self._section(_line(text, "dim" if quiet else "yellow"))
            case ModelSwitched():
                self._in_use = event.model
                return self._section(_line(switched(event), "yellow"))
            case Usage():
                return self._section(Text(spent(event), style="dim")) if self.verbose else []
            case TurnEnded(reason=reason, steps=steps):
                stopped = Text(f"stopped after {steps} steps (--max-steps)", style="yellow")
                return self._section(stopped) if reason == "max_steps" else []
            case _:
                assert_never(event)

    def _picture(self, figure: Figure) -> None:
        """Draw the figure itself under its line, on a terminal that takes pictures (asking it first, if need be)."""
        if self._images is not ImageProtocol.NONE:
            self._region.write_above(lambda: self._image(figure))

    def _image(self, figure: Figure) -> str | None:
        """The codes that draw `figure` in the terminal's width, less a column."""
        return inline_image(figure, self._protocol(), self._console.width - 1, cell_width(self._console.file))

    def _protocol(self) -> ImageProtocol:
        """How the terminal takes pictures: as the environment said, else as it answered (asked once)."""
        if self._images is None:
            self._images = self._ask()
        return self._images

    def _proposed(self, cell: CodeCell, in_text: bool, edited: bool) -> list[RenderableType]:
        """A cell to approve: its code (unless the text showed it), and a warning when it holds hidden characters."""
        caution = warning(cell.code)
        shown: list[RenderableType] = [] if in_text else [code_block(cell, " (edited)" if edited else "")]
        if caution is not None:
            shown.append(Text(f"warning: {caution}", style="bold yellow"))
        return self._section(Group(*shown)) if shown else []

    def _start(self, cell: CodeCell) -> list[RenderableType]:
        """Begin a run: the running status (edited code was shown at the question, just above)."""
        self._output = LineSplitter()
        self._output_shown = False
        self._status = Status(f"running {cell.language} · ", self._clock(), " · Ctrl-C to stop")
        return []

    def _finish(self, cell: CodeCell, result: RunResult) -> list[RenderableType]:
        """End a run: its last line, the cut and the tail, then how it ended."""
        shown = self._flush_output()
        if result.cut_chars:
            note = Text(cut_note(result.cut_chars), style="dim italic")
            shown += self._output_block([note, *map(_line, lines_of(result.tail))])
        shown.append(footer(result))
        self._output_shown = False
        if result.restarted:
            shown.append(Text(reset_note(cell.language), style="yellow"))
        return shown

    def _output_lines(self, lines: Sequence[str]) -> list[RenderableType]:
        """Finished output lines, as printable output."""
        return self._output_block([_line(line) for line in lines]) if lines else []

    def _output_block(self, lines: list[Text]) -> list[RenderableType]:
        """Output lines behind the gutter; the first of a run starts a new section."""
        block = Gutter(Text("\n").join(lines))
        if self._output_shown:
            return [block]
        self._output_shown = True
        return self._section(block)

    def _flush_output(self) -> list[RenderableType]:
        """The unfinished output line, if any, as printable output."""
        rest = self._output.flush()
        return [] if rest is None else self._output_lines([rest])

    def _thought(self) -> list[RenderableType]:
        """Once reasoning is over, one dim line that says so ("thought for 4.2s"), and with --verbose what it said."""
        ended = self._thoughts.end()
        if ended is None:
            return []
        line, text = ended
        shown = [_line(line, "dim"), *([_line(text, "dim")] if self.verbose and text else [])]
        return self._section(Group(*shown))

    def _flush_text(self) -> list[RenderableType]:
        """The rest of the markdown in progress, if any, as a finished block."""
        rest = self._blocks.flush()
        return [] if rest is None else self._section(markdown(rest))

    def _section(self, renderable: RenderableType) -> list[RenderableType]:
        """`renderable` starting a section: after a blank line, unless it is the first thing printed."""
        gap: list[RenderableType] = [NewLine()] if self._printed else []
        self._printed = True
        return [*gap, renderable]

    def _show(self, renderables: list[RenderableType]) -> None:
        """Print `renderables` above the live region once, and update the region (gone when nothing is in progress)."""
        gap = self._printed and not self._output_shown
        view = View(
            self._blocks.tail(TAIL_ROWS), self._output.partial, self._status, gap, self._draft, self._thoughts.tail()
        )
        if renderables:
            self._printed = True
        self._region.show(view, Group(*renderables) if renderables else None)
