"""Recording the installed `interpreter` in a real pty: every read kept with its time, replayed into pyte.

Shared by tests/test_screen.py (which asserts on the recordings) and bench/screen.py (which reports them as numbers).
A frame is what lies between the DEC 2026 markers `ESC[?2026h` .. `ESC[?2026l`.
"""

from __future__ import annotations

import io
import os
import re
import shutil
import time
from dataclasses import dataclass, field
from pathlib import Path

import pexpect
import pyte
from fake_server import FakeServer
from rich.console import Console

from interpreter.ui.markdown import markdown

SYNC_BEGIN = b"\x1b[?2026h"
SYNC_END = b"\x1b[?2026l"
CURSOR_UP = re.compile(rb"\x1b\[(\d*)A")
COUNTDOWN = re.compile(r"retrying in (\d+\.\d)s")
_STRIPPED = ("NO_COLOR", "FORCE_COLOR", "TERM", "COLUMNS", "LINES")


def answer_text() -> str:
    """A 60-line markdown answer: a heading, then sections of a heading, a paragraph and a list, each line unique."""
    lines = ["# Quarterly report", "All figures below come from the ledger of record.", ""]
    for section in range(1, 8):
        lines += [f"## Section {section}", "", f"Paragraph {section} explains the `metric_{section}` trend.", ""]
        lines += [f"- point {section}.{item}: **value** {section * 10 + item}" for item in range(1, 4)]
        lines.append("")
    lines.append("The report ends here.")
    assert len(lines) == 60
    return "\n".join(lines)


ANSWER = answer_text()
# The words of each rendered answer row a reader must find, in this order.
EXPECTED_ROWS = [
    "Quarterly report",
    "All figures below come from the ledger of record.",
    *[
        row
        for section in range(1, 8)
        for row in (
            f"Section {section}",
            f"Paragraph {section} explains the metric_{section} trend.",
            *[f"point {section}.{item}: value {section * 10 + item}" for item in range(1, 4)],
        )
    ],
    "The report ends here.",
]

# A cell that prints twelve lines, then a \r progress line, 50 ms apart.
PRINTING_CELL = """import time
for n in range(1, 13):
    print(f"line {n} of the output", flush=True)
    time.sleep(0.05)
for p in range(0, 101, 20):
    print(f"\\rprogress {p}%", end="", flush=True)
    time.sleep(0.05)
print()
"""


@dataclass
class Recording:
    """What a run wrote to its pty: each read with its `time.monotonic()`."""

    rows: int
    cols: int
    reads: list[tuple[float, bytes]] = field(default_factory=list)
    status: int | None = None

    @property
    def written(self) -> bytes:
        return b"".join(data for _, data in self.reads)


def child_env(home: Path) -> dict[str, str]:
    env = {name: value for name, value in os.environ.items() if not name.startswith("OPENAI_")}
    for name in _STRIPPED:
        env.pop(name, None)
    return {**env, "TERM": "xterm-256color", "PROMPT_TOOLKIT_NO_CPR": "1", "INTERPRETER_HOME": str(home)}


class Pty:
    """The installed `interpreter` in a pty of a fixed size; every read kept with its time, replayed into pyte."""

    def __init__(self, command: str, args: list[str], rows: int, cols: int, home: Path) -> None:
        self.recording = Recording(rows, cols)
        self.child: pexpect.spawn[bytes] = pexpect.spawn(
            command, args, dimensions=(rows, cols), env=child_env(home), timeout=60
        )
        self.screen = pyte.HistoryScreen(cols, rows, history=10_000)
        self._stream = pyte.ByteStream(self.screen)
        self._eof = False

    def text(self) -> str:
        return "\n".join(screen_lines(self.screen))

    def pump(self) -> None:
        try:
            data = self.child.read_nonblocking(65536, timeout=0.1)
        except pexpect.TIMEOUT:
            return
        except pexpect.EOF:
            self._eof = True
            return
        self.recording.reads.append((time.monotonic(), data))
        self._stream.feed(data)

    def wait_for(self, text: str, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        while text not in self.text():
            if self._eof or time.monotonic() > deadline:
                raise AssertionError(f"no {text!r} on the screen:\n" + "\n".join(self.screen.display))
            self.pump()

    def wait_for_prompt(self, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        while self.screen.display[self.screen.cursor.y].rstrip() != ">":
            if self._eof or time.monotonic() > deadline:
                raise AssertionError("no > prompt:\n" + "\n".join(self.screen.display))
            self.pump()

    def resize(self, rows: int, cols: int) -> None:
        """Resize the terminal as a person would: the program gets SIGWINCH; the screen keeps what it holds."""
        self.child.setwinsize(rows, cols)
        self.screen.resize(rows, cols)

    def finish(self, timeout: float = 60) -> Recording:
        """Read to the end of output (not just the end of the process) and keep the exit status."""
        deadline = time.monotonic() + timeout
        while not self._eof:
            if time.monotonic() > deadline:
                raise AssertionError("the program did not end:\n" + "\n".join(self.screen.display))
            self.pump()
        self.child.close()
        self.recording.status = self.child.exitstatus
        return self.recording

    def close(self) -> None:
        self.child.close(force=True)


def row_text(row: dict[int, pyte.screens.Char], cols: int) -> str:
    return "".join(row[x].data for x in range(cols)).rstrip()


def screen_lines(screen: pyte.HistoryScreen) -> list[str]:
    """The scrollback, then the screen."""
    history = [row_text(row, screen.columns) for row in screen.history.top]
    return history + [line.rstrip() for line in screen.display]


def absolute_rows(screen: pyte.HistoryScreen) -> dict[int, str]:
    """Every row by its position counted from the first line ever written (scrolling does not move it)."""
    return dict(enumerate(screen_lines(screen)))


def segments(written: bytes) -> list[tuple[bool, bytes]]:
    """The bytes cut at the sync markers: (True, a whole frame with its markers) or (False, bytes between frames)."""
    parts: list[tuple[bool, bytes]] = []
    position = 0
    while position < len(written):
        begin = written.find(SYNC_BEGIN, position)
        if begin == -1:
            parts.append((False, written[position:]))
            break
        if begin > position:
            parts.append((False, written[position:begin]))
        end = written.find(SYNC_END, begin)
        end = len(written) if end == -1 else end + len(SYNC_END)
        parts.append((True, written[begin:end]))
        position = end
    return parts


def rows_moved_up(data: bytes) -> int:
    return sum(int(n or 1) for n in CURSOR_UP.findall(data))


def replay(recording: Recording) -> pyte.HistoryScreen:
    screen = pyte.HistoryScreen(recording.cols, recording.rows, history=10_000)
    pyte.ByteStream(screen).feed(recording.written)
    return screen


def countdown_rate(recording: Recording) -> tuple[float, int, float]:
    """(bytes per second, bytes, seconds) written from the first read that shows the countdown to the last one."""
    screen = pyte.HistoryScreen(recording.cols, recording.rows, history=10_000)
    stream = pyte.ByteStream(screen)
    showing = []
    for index, (_, data) in enumerate(recording.reads):
        stream.feed(data)
        if COUNTDOWN.search("\n".join(screen.display)):
            showing.append(index)
    first, last = showing[0], showing[-1]
    seconds = recording.reads[last][0] - recording.reads[first][0]
    # The first read's bytes came before the window opened; the rest were written inside it.
    size = sum(len(data) for _, data in recording.reads[first + 1 : last + 1])
    return size / seconds, size, seconds


def printed_once(cols: int) -> int:
    """Bytes of printing the whole answer once, styled as the transcript styles it, `cols` wide."""
    console = Console(file=io.StringIO(), force_terminal=True, width=cols, color_system="256", highlight=False)
    console.print(markdown(ANSWER))
    return len(console.file.getvalue().encode())  # type: ignore[attr-defined]


def transcript_bytes(lines: list[str]) -> int:
    """Bytes of printing these rows once, unstyled: the rows as they stand, one CRLF each."""
    return sum(len(line.encode()) + 2 for line in lines)


def answer_rows(lines: list[str]) -> list[str]:
    """The rows of the final scrollback and screen from the answer's first row to its last."""
    first = next(i for i, line in enumerate(lines) if EXPECTED_ROWS[0] in line)
    last = next(i for i, line in enumerate(lines) if EXPECTED_ROWS[-1] in line)
    return [line.rstrip() for line in lines[first : last + 1]]


def run_in_pty(
    home: Path, size: tuple[int, int], *answers: object, task: str = "hi", flags: tuple[str, ...] = ()
) -> Recording:
    rows, cols = size
    with FakeServer() as server:
        server.enqueue(*answers)  # type: ignore[arg-type]
        args = ["--api-base", server.url, "--api-key", "sk-test", *flags, "-c", task]
        terminal = Pty(interpreter(), args, rows, cols, home)
        try:
            return terminal.finish()
        finally:
            terminal.close()


def interpreter() -> str:
    found = shutil.which("interpreter")
    assert found, "the `interpreter` command is not installed: run README's install command first"
    return found
