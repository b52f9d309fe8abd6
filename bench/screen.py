"""How steady the screen is, measured in one run: the installed `interpreter` in a pty against the loopback fake server.

    python bench/screen.py

At 80x24 and at 200x50, for a 60-line markdown answer streamed a word every 10 ms: bytes written against printing
the answer once (styled as the transcript styles it, and as plain text), target at most 3x; for a 10 s retry-after 429
countdown: bytes per second written while it runs, target under 1,000; for a cell printing twelve lines and a progress
line while its status line runs: bytes written against its final screen. For each, "flicker cells" (shared/TERMINAL.md):
cells holding the same character before and after a frame but a different one halfway through it (each frame's bytes
fed into pyte in two halves), target 0 for the countdown. Every frame is wrapped in DEC 2026 markers, so a terminal
that honours them paints none of these; the figure is what a terminal without synchronized output could show.
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

import pyte

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))

from fake_server import RateLimit, Reply  # the fake lives with the tests
from screen_recording import (  # the pty recorder and the replay helpers the tests measure with
    ANSWER,
    PRINTING_CELL,
    Recording,
    answer_rows,
    countdown_rate,
    printed_once,
    replay,
    rows_moved_up,
    run_in_pty,
    screen_lines,
    segments,
    transcript_bytes,
)

SIZES = ((24, 80), (50, 200))


def cells(screen: pyte.HistoryScreen) -> dict[int, str]:
    """Every row by its absolute position (scrollback first), padded to the width."""
    return {index: line.ljust(screen.columns) for index, line in enumerate(screen_lines(screen))}


def flicker_cells(recording: Recording) -> tuple[int, int]:
    """(flicker cells in all frames, frames with any): same before and after a frame, different halfway through it."""
    screen = pyte.HistoryScreen(recording.cols, recording.rows, history=10_000)
    stream = pyte.ByteStream(screen)
    total = frames = 0
    for framed, data in segments(recording.written):
        if not framed:
            stream.feed(data)
            continue
        before = cells(screen)
        stream.feed(data[: len(data) // 2])
        middle = cells(screen)
        stream.feed(data[len(data) // 2 :])
        after = cells(screen)
        count = sum(
            1
            for index, row in before.items()
            if index in middle and index in after
            for x, char in enumerate(row)
            if after[index][x] == char != middle[index][x]
        )
        total += count
        frames += count > 0
    return total, frames


def frame_figures(recording: Recording) -> str:
    parts = segments(recording.written)
    framed = [len(data) for is_frame, data in parts if is_frame]
    moved = max(rows_moved_up(data) for _, data in parts)
    flicker, flickering = flicker_cells(recording)
    return (
        f"{len(framed)} frames, largest {max(framed)} B (target <= 4096), most rows up {moved} (target <= 8), "
        f"flicker cells {flicker} in {flickering} frames"
    )


def verdict(ok: bool) -> str:
    return "ok" if ok else "OVER TARGET"


def main() -> None:
    home = Path(tempfile.mkdtemp(prefix="bench-home-"))
    for rows, cols in SIZES:
        size = f"{cols}x{rows}"
        streamed = run_in_pty(home, (rows, cols), Reply.text(ANSWER, chunk_delay=0.01))
        written = len(streamed.written)
        styled = printed_once(cols)
        plain = transcript_bytes(answer_rows(screen_lines(replay(streamed))))
        print(
            f"{'streamed answer ' + size:<30} {written:8d} B   {'printed once, styled':<22} {styled:6d} B   "
            f"{written / styled:5.2f}x  (target 3x: {verdict(written <= 3 * styled)})"
        )
        print(f"{'':<30} {written:8d} B   {'printed once, plain':<22} {plain:6d} B   {written / plain:5.2f}x")
        print(f"{'':<30} {frame_figures(streamed)}")

        countdown = run_in_pty(home, (rows, cols), RateLimit.retry_after(10), Reply.text("Done waiting."))
        rate, size_bytes, seconds = countdown_rate(countdown)
        print(
            f"{'429 countdown ' + size:<30} {rate:8.0f} B/s ({size_bytes} B in {seconds:.1f} s)   "
            f"(target < 1000 B/s: {verdict(rate < 1000)})"
        )
        print(f"{'':<30} {frame_figures(countdown)}")

        cell = Reply.tool_call("python", PRINTING_CELL)
        running = run_in_pty(home, (rows, cols), cell, Reply.text("Done."), flags=("-y",))
        written = len(running.written)
        final = transcript_bytes([line for line in screen_lines(replay(running)) if line.strip()])
        print(
            f"{'code printing ' + size:<30} {written:8d} B   {'final screen, plain':<22} {final:6d} B   "
            f"{written / final:5.2f}x"
        )
        print(f"{'':<30} {frame_figures(running)}")


if __name__ == "__main__":
    main()
