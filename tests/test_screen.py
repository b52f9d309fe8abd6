"""A steady screen, measured: the installed `interpreter` in a real pty (80x24 and 200x50) against the fake server.

Every read from the pty is kept with its time; the bytes are replayed into pyte afterwards, frame by frame (a frame is
what lies between the DEC 2026 markers `ESC[?2026h` .. `ESC[?2026l`). Timing decides nothing except the one rate
the issue asks for: bytes per second written while a rate-limit countdown runs.

"Printing the answer once" is the bytes the product's own markdown rendering (`interpreter.ui.markdown.markdown`, the
blocks it prints above the live region) writes for the whole answer printed once, with its styling, on a Console of
the same width and colour system as the pty (256 colours). The unstyled text of the final rows is smaller still; the
bench reports both ratios.
"""

from __future__ import annotations

import io
import itertools
import os
import re
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pexpect
import pyte
import pytest
from fake_server import FakeServer, RateLimit, Reply
from rich.console import Console

from interpreter.ui.markdown import markdown

SIZES = [pytest.param((24, 80), id="80x24"), pytest.param((50, 200), id="200x50")]
LIVE_HEIGHT = 8  # the most rows the live region (in-progress rows + the status line) may take
MAX_FRAME = 4096
MAX_RATE = 1000  # bytes per second while a countdown runs
SYNC_BEGIN = b"\x1b[?2026h"
SYNC_END = b"\x1b[?2026l"
CURSOR_UP = re.compile(rb"\x1b\[(\d*)A")
ESCAPE = b"\x1b"
COUNTDOWN = re.compile(r"retrying in (\d+\.\d)s")
STATUS_WORDS = ("thinking", "retrying in", "Ctrl-C to", "rate limited (TPM) ·")
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
        self.child = pexpect.spawn(command, args, dimensions=(rows, cols), env=child_env(home), timeout=60)
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


def rewritten_rows(recording: Recording) -> list[str]:
    """Rows that changed after they were above the live region at the end of a frame (each change described)."""
    screen = pyte.HistoryScreen(recording.cols, recording.rows, history=10_000)
    stream = pyte.ByteStream(screen)
    committed: dict[int, str] = {}
    changes: list[str] = []
    for _, data in segments(recording.written):
        stream.feed(data)
        rows = absolute_rows(screen)
        for index, text in committed.items():
            if index in rows and rows[index] != text:
                changes.append(f"row {index}: {text!r} -> {rows[index]!r}")
        top_of_live = len(screen.history.top) + screen.cursor.y - LIVE_HEIGHT + 1
        for index in range(top_of_live):
            committed.setdefault(index, rows.get(index, ""))
    return changes


def countdown_values(recording: Recording) -> list[tuple[float, float]]:
    """(time, seconds) for each countdown value read off the screen, read after read."""
    screen = pyte.HistoryScreen(recording.cols, recording.rows, history=10_000)
    stream = pyte.ByteStream(screen)
    values: list[tuple[float, float]] = []
    for at, data in recording.reads:
        stream.feed(data)
        found = COUNTDOWN.findall("\n".join(screen.display))
        assert len(found) <= 1, screen.display
        if found:
            values.append((at, float(found[0])))
    return values


def countdown_rate(recording: Recording) -> tuple[float, int, float]:
    """(bytes per second, bytes, seconds) written from the first read showing the countdown to the last one."""
    showing = [i for i, (_, data) in enumerate(recording.reads) if b"retrying in" in data]
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


# ---- the runs ---------------------------------------------------------------------------------------------------


def run_in_pty(home: Path, size: tuple[int, int], *answers: object, task: str = "hi") -> Recording:
    rows, cols = size
    with FakeServer() as server:
        server.enqueue(*answers)  # type: ignore[arg-type]
        terminal = Pty(interpreter(), ["--api-base", server.url, "--api-key", "sk-test", "-c", task], rows, cols, home)
        try:
            return terminal.finish()
        finally:
            terminal.close()


def interpreter() -> str:
    import shutil  # noqa: PLC0415

    found = shutil.which("interpreter")
    assert found, "the `interpreter` command is not installed: run README's install command first"
    return found


@pytest.fixture(scope="module", params=SIZES)
def countdown(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Recording:
    """A 10 s retry-after 429, then a short answer."""
    home = tmp_path_factory.mktemp("home")
    return run_in_pty(home, request.param, RateLimit.retry_after(10), Reply.text("Done waiting, here it is."))


@pytest.fixture(scope="module", params=SIZES)
def streamed(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Recording:
    """The 60-line answer streamed a word at a time, 10 ms apart."""
    home = tmp_path_factory.mktemp("home")
    return run_in_pty(home, request.param, Reply.text(ANSWER, chunk_delay=0.01))


# ---- 1. the countdown ---------------------------------------------------------------------------------------------


@pytest.mark.xfail(
    strict=True,
    reason="each of the ~10 redraws a second rewrites the whole status line (spinner, styles, sync markers): "
    "~113 bytes a frame, ~1,135 B/s at both sizes",
)
def test_a_countdown_writes_under_1_kb_a_second(countdown: Recording) -> None:
    assert countdown.status == 0, replay(countdown).display
    rate, size, seconds = countdown_rate(countdown)
    assert seconds > 8, seconds  # the countdown really ran for about the 10 s the server asked
    assert rate < MAX_RATE, f"{rate:.0f} B/s ({size} bytes in {seconds:.1f}s)"


def test_a_countdown_never_moves_up_past_the_live_region_nor_writes_a_frame_over_4_kib(countdown: Recording) -> None:
    parts = segments(countdown.written)
    assert any(framed for framed, _ in parts)  # it does use synchronized output on a terminal
    assert all(int(n or 1) <= LIVE_HEIGHT for n in CURSOR_UP.findall(countdown.written))
    moved = [rows_moved_up(data) for _, data in parts]
    assert max(moved) <= LIVE_HEIGHT, max(moved)
    sizes = [len(data) for framed, data in parts if framed]
    assert max(sizes) <= MAX_FRAME, max(sizes)


def test_the_countdown_read_off_the_screen_never_goes_up(countdown: Recording) -> None:
    values = [value for _, value in countdown_values(countdown)]
    assert len(set(values)) >= 5, values  # it visibly counted down (about 100 redraws are written)
    assert all(later <= earlier for earlier, later in itertools.pairwise(values)), values
    assert values[0] <= 11.0, values  # the 10 s the server asked, plus at most 10% jitter


def test_after_the_countdown_the_screen_is_the_answer_and_the_summary_only(countdown: Recording) -> None:
    lines = [line for line in screen_lines(replay(countdown)) if line.strip()]
    assert lines[0] == "Done waiting, here it is.", lines
    assert re.fullmatch(r"2 requests, 1 rate limited \(429\), \d+\.\ds spent waiting", lines[-1]), lines
    assert len(lines) == 2, lines


# ---- 2. the streamed answer ----------------------------------------------------------------------------------------


def test_a_streamed_answer_leaves_no_line_twice_in_the_scrollback(streamed: Recording) -> None:
    assert streamed.status == 0, replay(streamed).display
    lines = [line for line in screen_lines(replay(streamed)) if re.search(r"\w", line)]
    duplicated = sorted({line for line in lines if lines.count(line) > 1})
    assert not duplicated, duplicated


@pytest.mark.xfail(
    strict=True,
    reason="every ~0.1 s repaint rewrites all of the live region's rows (up to 6), not just the new words: "
    "5.8-6.2 KB written against 1.5-1.6 KB to print the answer once, 3.7-3.9x",
)
def test_a_streamed_answer_writes_at_most_3x_printing_it_once(streamed: Recording) -> None:
    once = printed_once(streamed.cols)
    written = len(streamed.written)
    assert written <= 3 * once, f"{written} bytes written, {once} to print it once: {written / once:.2f}x"


def test_rows_above_the_live_region_are_never_rewritten(streamed: Recording) -> None:
    changes = rewritten_rows(streamed)
    assert not changes, changes[:10]


def test_a_streamed_answer_moves_up_at_most_the_live_region_and_no_frame_is_over_4_kib(streamed: Recording) -> None:
    parts = segments(streamed.written)
    moved = [rows_moved_up(data) for _, data in parts]
    assert max(moved) <= LIVE_HEIGHT, max(moved)
    sizes = [len(data) for framed, data in parts if framed]
    assert max(sizes) <= MAX_FRAME, max(sizes)


# ---- 3. piped -----------------------------------------------------------------------------------------------------


def test_piped_the_same_answer_has_no_escape_bytes(tmp_path: Path) -> None:
    with FakeServer() as server:
        server.enqueue(RateLimit.retry_after(1), Reply.text(ANSWER, chunk_delay=0.002))
        command = [interpreter(), "--api-base", server.url, "--api-key", "sk-test", "-c", "hi"]
        env = {**child_env(tmp_path / "home"), "TERM": "xterm-256color"}
        result = subprocess.run(
            command, capture_output=True, env=env, stdin=subprocess.DEVNULL, timeout=60, check=False, cwd=tmp_path
        )
    assert result.returncode == 0, result.stderr
    assert result.stdout.count(ESCAPE) == 0, result.stdout[:2000]
    assert result.stderr.count(ESCAPE) == 0, result.stderr[:2000]
    text = result.stdout.decode()
    positions = [text.find(row) for row in ["Quarterly report", "point 4.2", "The report ends here."]]
    assert -1 not in positions and positions == sorted(positions), text


# ---- 4. the final screen --------------------------------------------------------------------------------------------


def assert_reads_as_a_clean_transcript(lines: list[str]) -> None:
    text = "\n".join(lines)
    for word in STATUS_WORDS:
        assert word not in text, text
    rows = answer_rows(lines)
    shown = [row for row in rows if row.strip()]
    assert len(shown) == len(EXPECTED_ROWS), "\n".join(rows)
    for row, expected in zip(shown, EXPECTED_ROWS, strict=True):
        assert expected in row, (row, expected)


def test_the_final_screen_of_a_streamed_answer_is_the_answer_in_order(streamed: Recording) -> None:
    lines = screen_lines(replay(streamed))
    assert_reads_as_a_clean_transcript(lines)
    assert [line for line in lines if line.strip()][-1].endswith("The report ends here."), lines


@pytest.fixture
def session(tmp_path: Path, request: pytest.FixtureRequest) -> Iterator[tuple[FakeServer, Pty]]:
    rows, cols = request.param
    with FakeServer() as server:
        args = ["--api-base", server.url, "--api-key", "sk-test"]
        terminal = Pty(interpreter(), args, rows, cols, tmp_path / "home")
        try:
            yield server, terminal
        finally:
            terminal.close()


@pytest.mark.parametrize("session", SIZES, indirect=True)
def test_an_interactive_session_reads_as_prompt_task_answer_prompt(session: tuple[FakeServer, Pty]) -> None:
    server, terminal = session
    server.enqueue(Reply.text(ANSWER, chunk_delay=0.002))
    terminal.wait_for_prompt()
    terminal.child.send("write the quarterly report\r")
    terminal.wait_for("The report ends here.")
    terminal.wait_for_prompt()
    lines = screen_lines(terminal.screen)
    shown = [line for line in lines if line.strip()]
    assert shown[0] == "> write the quarterly report", shown
    assert shown[-1] == ">", shown
    assert_reads_as_a_clean_transcript(lines[:-1])
    terminal.child.sendcontrol("d")
    assert terminal.finish().status == 0
