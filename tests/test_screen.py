"""A steady screen, measured: the installed `interpreter` in a real pty (80x24 and 200x50) against the fake server.

Every read from the pty is kept with its time (tests/screen_recording.py); the bytes are replayed into pyte afterwards,
frame by frame. Timing decides nothing except the one rate the issue asks for: bytes per second written while a
rate-limit countdown runs.

"Printing the answer once" is the bytes the product's own markdown rendering (`interpreter.ui.markdown.markdown`, the
blocks it prints above the live region) writes for the whole answer printed once, with its styling, on a Console of
the same width and colour system as the pty (256 colours). The unstyled text of the final rows is smaller still; the
bench reports both ratios.
"""

from __future__ import annotations

import itertools
import re
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pyte
import pytest
from fake_server import FakeServer, RateLimit, Reply
from fakes import TOTAL, without_total
from screen_recording import (
    ANSWER,
    COUNTDOWN,
    CURSOR_UP,
    EXPECTED_ROWS,
    PRINTING_CELL,
    Pty,
    Recording,
    absolute_rows,
    answer_rows,
    child_env,
    countdown_rate,
    interpreter,
    printed_once,
    replay,
    rows_moved_up,
    run_in_pty,
    screen_lines,
    segments,
)

SIZES = [pytest.param((24, 80), id="80x24"), pytest.param((50, 200), id="200x50")]
LIVE_HEIGHT = 8  # the most rows the live region (in-progress rows + the status line) may take
MAX_FRAME = 4096
MAX_RATE = 1000  # bytes per second while a countdown runs
ESCAPE = b"\x1b"
STATUS_WORDS = ("thinking", "retrying in", "Ctrl-C to", "rate limited (TPM) ·")


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


# ---- the runs ---------------------------------------------------------------------------------------------------


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
    assert TOTAL.fullmatch(lines[-2]), lines  # what the task cost, then the traffic summary
    assert re.fullmatch(r"2 requests, 1 rate limited \(429\), \d+\.\ds spent waiting", lines[-1]), lines
    assert len(lines) == 3, lines


# ---- 2. the streamed answer ----------------------------------------------------------------------------------------


def test_a_streamed_answer_leaves_no_line_twice_in_the_scrollback(streamed: Recording) -> None:
    assert streamed.status == 0, replay(streamed).display
    lines = [line for line in screen_lines(replay(streamed)) if re.search(r"\w", line)]
    duplicated = sorted({line for line in lines if lines.count(line) > 1})
    assert not duplicated, duplicated


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
    assert without_total([line for line in lines if line.strip()])[-1].endswith("The report ends here."), lines


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


def test_resizing_the_terminal_mid_stream_leaves_a_clean_transcript(tmp_path: Path) -> None:
    with FakeServer() as server:
        server.enqueue(Reply.text(ANSWER, chunk_delay=0.02))
        args = ["--api-base", server.url, "--api-key", "sk-test", "-c", "hi"]
        terminal = Pty(interpreter(), args, 30, 100, tmp_path / "home")
        try:
            terminal.wait_for("Section 2")
            terminal.resize(30, 60)
            terminal.wait_for("Section 5")
            terminal.resize(30, 120)
            assert terminal.finish().status == 0
        finally:
            terminal.close()
    lines = screen_lines(terminal.screen)
    assert_reads_as_a_clean_transcript(lines)
    words = [line for line in lines if re.search(r"\w", line)]
    assert len(words) == len(set(words)), words


# ---- 5. code that prints while the status line runs ----------------------------------------------------------------


@pytest.mark.parametrize("size", [(24, 80)], ids=["80x24"])
def test_code_output_prints_once_under_its_cell_while_the_status_runs(tmp_path: Path, size: tuple[int, int]) -> None:
    recording = run_in_pty(
        tmp_path / "home",
        size,
        Reply.tool_call("python", PRINTING_CELL),
        Reply.text("All twelve lines printed."),
        task="print some lines",
        flags=("-y",),
    )
    assert recording.status == 0, replay(recording).display
    assert not rewritten_rows(recording)
    shown = [line for line in screen_lines(replay(recording)) if line.strip()]
    text = "\n".join(shown)
    for word in ("running python", "thinking", "Ctrl-C to"):
        assert word not in text, text
    output = [line.removeprefix("│ ") for line in shown if line.startswith("│ ")]
    assert output == [*(f"line {n} of the output" for n in range(1, 13)), "progress 100%"], shown
    assert shown[0] == "python" and "time.sleep(0.05)" in text  # the cell, highlighted, above its output
    assert re.fullmatch(r"✓ \d+\.\ds", shown[shown.index("│ progress 100%") + 1]), shown
    assert without_total(shown)[-1] == "All twelve lines printed.", shown


# ---- 6. code the model is still writing ---------------------------------------------------------------------------

LONG_CELL = "".join(f"total_{n} = {n} * {n}  # line {n}\n" for n in range(1, 41)) + "print(total_40)\n"


@pytest.mark.parametrize("size", [(24, 80)], ids=["80x24"])
def test_code_being_written_shows_in_place_then_prints_once(tmp_path: Path, size: tuple[int, int]) -> None:
    recording = run_in_pty(
        tmp_path / "home",
        size,
        Reply.tool_call("python", LONG_CELL, chunk_delay=0.005),
        Reply.text("Forty lines ran."),
        task="write forty lines",
        flags=("-y",),
    )
    assert recording.status == 0, replay(recording).display
    assert b"writing" in recording.written  # the draft was on screen while the call streamed in
    assert not rewritten_rows(recording)
    lines = [line for line in screen_lines(replay(recording)) if line.strip()]
    assert "writing" not in "\n".join(lines)
    for n in range(1, 41):
        assert sum(f"total_{n} = {n} * {n}  # line {n}" in line for line in lines) == 1, n
    assert without_total(lines)[-1] == "Forty lines ran."
    sizes = [len(data) for framed, data in segments(recording.written) if framed]
    assert sum(size > MAX_FRAME for size in sizes) <= 1, sizes  # only the finished cell's one print may be larger
