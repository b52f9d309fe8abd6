"""The screen: block and line splitting, wording, and both renderers judged by what a user would see.

Terminal output is replayed into a terminal emulator (pyte): transient live frames count only if they linger.
"""

from __future__ import annotations

import io
import re
from collections.abc import Iterator

import pyte
import pytest
from fakes import FakeClock
from rich.console import Console

from interpreter.messages import (
    CodeCell,
    CodeDeclined,
    CodeDraft,
    CodeFinished,
    CodeProposed,
    CodeStarted,
    Event,
    ModelSwitched,
    Notice,
    OutputChunk,
    RequestStarted,
    RunResult,
    TextDelta,
    Thinking,
    TurnEnded,
    Waiting,
)
from interpreter.ui import Renderer, make_renderer
from interpreter.ui.blocks import BlockSplitter
from interpreter.ui.codeblock import HIGHLIGHT_LIMIT
from interpreter.ui.frame import TAIL_ROWS, Frame, Status, View
from interpreter.ui.labels import duration, outcome
from interpreter.ui.output import LineSplitter, lines_of
from interpreter.ui.plain import PlainRenderer
from interpreter.ui.region import LiveRegion
from interpreter.ui.terminal import TerminalRenderer

ANSWER = """Let me look at the files.

Here is the plan:
1. list them
2. count them

```python
import os

# a blank line above must not end the block
print(len(os.listdir()))
```

That should do it."""

CELL = CodeCell("python", ANSWER.split("```")[1].removeprefix("python\n"))


def pieces(text: str, size: int) -> list[str]:
    """`text` cut into pieces of `size` characters, the way a stream delivers it."""
    return [text[i : i + size] for i in range(0, len(text), size)]


def split(text: str, size: int) -> list[str]:
    """The blocks a splitter makes of `text` streamed in pieces of `size`, the flushed rest included."""
    splitter = BlockSplitter()
    blocks = [block for piece in pieces(text, size) for block in splitter.feed(piece)]
    rest = splitter.flush()
    return blocks if rest is None else [*blocks, rest]


# ---- blocks --------------------------------------------------------------------------------------------


@pytest.mark.parametrize("size", [1, 2, 3, 7, 64, 10_000])
def test_blocks_are_the_same_however_the_text_is_cut(size: int) -> None:
    assert split(ANSWER, size) == [
        "Let me look at the files.",
        "Here is the plan:\n1. list them\n2. count them",
        "```python\nimport os\n\n# a blank line above must not end the block\nprint(len(os.listdir()))\n```",
        "That should do it.",
    ]


def test_a_block_is_released_once_and_the_fence_as_soon_as_it_closes() -> None:
    splitter = BlockSplitter()
    assert splitter.feed("Intro.\n\n```sh\nls\n\necho\n") == ["Intro."]
    assert splitter.pending == "```sh\nls\n\necho"
    assert splitter.feed("```\n") == ["```sh\nls\n\necho\n```"]
    assert splitter.pending == ""
    assert splitter.flush() is None


def test_an_inner_shorter_fence_does_not_close_a_longer_one() -> None:
    text = "````md\n```\n\nstill inside\n````\n\nafter"
    assert split(text, 5) == ["````md\n```\n\nstill inside\n````", "after"]


def test_tilde_fences_and_unclosed_fences() -> None:
    assert split("~~~\na\n\nb\n~~~\nnext", 3) == ["~~~\na\n\nb\n~~~", "next"]
    assert split("```python\nx = 1\n\ny = 2", 4) == ["```python\nx = 1\n\ny = 2"]


def test_indented_lines_after_a_blank_line_stay_with_their_list_item() -> None:
    text = "1. first\n\n   more about first\n\n2. second\n\nDone.\n"
    assert split(text, 6) == ["1. first\n\n   more about first", "2. second", "Done."]


def test_the_rest_is_flushed_with_its_unfinished_line() -> None:
    splitter = BlockSplitter()
    assert splitter.feed("One.\n\nTwo, still typ") == []
    assert splitter.pending == "One.\n\nTwo, still typ"
    assert splitter.feed("ing\n\nThree") == ["One."]
    assert splitter.flush() == "Two, still typing\n\nThree"
    assert splitter.flush() is None


# ---- output lines --------------------------------------------------------------------------------------


def test_output_lines_come_out_once_when_finished() -> None:
    splitter = LineSplitter()
    assert splitter.feed("al") == []
    assert splitter.partial == "al"
    assert splitter.feed("pha\nbe") == ["alpha"]
    assert splitter.feed("ta\r\n\ngam") == ["beta", ""]
    assert splitter.flush() == "gam"
    assert splitter.flush() is None


def test_carriage_returns_keep_what_a_terminal_would_show() -> None:
    splitter = LineSplitter()
    assert splitter.feed("10%\r20%\r30%") == []
    assert splitter.partial == "30%"
    assert splitter.feed("\rdone\n") == ["done"]
    assert lines_of("a\r\nb\r") == ["a", "b"]


# ---- wording -------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("status", "interrupted", "expected"),
    [
        (0, False, None),
        (2, False, "exit status 2"),
        (None, True, "interrupted"),
        (-9, False, "killed by SIGKILL"),
    ],
)
def test_outcome_words(status: int | None, interrupted: bool, expected: str | None) -> None:
    assert outcome(RunResult("", status, interrupted=interrupted)) == expected


def test_durations_are_short() -> None:
    assert [duration(0.04), duration(3.25), duration(125.0)] == ["0.0s", "3.2s", "2m 05s"]


# ---- a whole turn, plain -------------------------------------------------------------------------------


def scripted_turn() -> list[Event]:
    """A turn a user might see: streamed text with a fenced cell, a run with messy output, a second cell."""
    events: list[Event] = [RequestStarted(1), *map(TextDelta, pieces(ANSWER, 3))]
    events += [CodeProposed(CELL, in_text=True), CodeStarted(CELL)]
    events += map(OutputChunk, ["first li", "ne\nsecond line\nthi", "rd line\n\x1b[31mred\x1b[0m\npartial"])
    result = RunResult("…", 2, cut_chars=5000, tail="tail one\ntail two\n", elapsed=1.34)
    shell = CodeCell("shell", "rm -rf build\n")
    events += [CodeFinished(CELL, result), CodeProposed(shell), CodeDeclined(shell), Notice("a notice")]
    return [*events, TurnEnded("max_steps", 8)]


OUTPUT_LINES = ["first line", "second line", "third line", "␛[31mred␛[0m", "partial", "tail one", "tail two"]


def play(renderer: Renderer, events: list[Event]) -> None:
    """Feed a turn to a renderer, then stop it as the program does before the next prompt."""
    for event in events:
        renderer.handle(event)
    renderer.stop()


def test_plain_turn_has_no_escape_codes_and_every_line_once_in_order() -> None:
    out = io.StringIO()
    play(PlainRenderer(out), scripted_turn())
    text = out.getvalue()
    assert "\x1b" not in text
    lines = text.splitlines()
    positions = [lines.index(line) for line in OUTPUT_LINES]
    assert positions == sorted(positions)
    assert all(lines.count(line) == 1 for line in OUTPUT_LINES)
    assert ANSWER in text
    assert "(exit status 2, 1.3s)" in lines
    assert "[… 5,000 characters cut …]" in lines
    assert "```shell\nrm -rf build\n```\n(declined)\nnote: a notice\n" in text
    assert text.endswith("stopped after 8 steps (--max-steps)\n")


def test_plain_code_starts_on_a_fresh_line_and_success_is_quiet() -> None:
    out = io.StringIO()
    cell = CodeCell("python", "print(1)")
    play(PlainRenderer(out), [TextDelta("Running it:"), CodeProposed(cell), CodeStarted(cell)])
    play(PlainRenderer(out), [OutputChunk("1\n"), CodeFinished(cell, RunResult("1\n", 0, elapsed=0.2))])
    assert out.getvalue() == "Running it:\n```python\nprint(1)\n```\n1\n(ok, 0.2s)\n"


def test_plain_shows_edited_code_restarts_and_interruptions() -> None:
    out = io.StringIO()
    cell = CodeCell("python", "while True: pass")
    result = RunResult("", None, elapsed=4.0, interrupted=True, restarted=True)
    events: list[Event] = [CodeProposed(cell, edited=True), CodeStarted(cell, edited=True), CodeFinished(cell, result)]
    play(PlainRenderer(out), events)
    assert out.getvalue() == (
        "```python (edited)\nwhile True: pass\n```\n(interrupted, 4.0s)\n"
        "note: python was restarted: its variables and imports are gone\n"
    )


def test_plain_stop_writes_the_unfinished_output_line_once() -> None:
    out = io.StringIO()
    renderer = PlainRenderer(out)
    play(renderer, [CodeStarted(CELL), OutputChunk("Enter your name: ")])
    renderer.stop()
    renderer.error("boom")
    assert out.getvalue() == "Enter your name: \nerror: boom\n"


def test_plain_fence_outgrows_backticks_in_the_code() -> None:
    out = io.StringIO()
    play(PlainRenderer(out), [CodeProposed(CodeCell("python", 'doc = """```x```"""'))])
    assert out.getvalue() == '````python\ndoc = """```x```"""\n````\n'


# ---- choosing a renderer -------------------------------------------------------------------------------


class FakeTty(io.StringIO):
    """A text stream that says it is a terminal."""

    def isatty(self) -> bool:
        return True


def test_make_renderer_picks_plain_for_a_pipe_and_rich_for_a_terminal(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    assert isinstance(make_renderer(io.StringIO()), PlainRenderer)
    assert isinstance(make_renderer(io.StringIO(), terminal=True), TerminalRenderer)
    monkeypatch.setenv("TERM", "xterm-256color")
    assert isinstance(make_renderer(FakeTty()), TerminalRenderer)
    monkeypatch.setenv("TERM", "dumb")
    assert isinstance(make_renderer(FakeTty()), PlainRenderer)
    assert isinstance(make_renderer(FakeTty(), terminal=False), PlainRenderer)


# ---- a whole turn, on a terminal ----------------------------------------------------------------------

SGR = re.compile(r"\x1b\[([0-9;]*)m")
PARAGRAPHS = ["Let me look at the files.", "Here is the plan:", "That should do it."]


@pytest.fixture
def out() -> io.StringIO:
    """Where the terminal renderer writes."""
    return io.StringIO()


@pytest.fixture
def renderer(out: io.StringIO) -> Iterator[TerminalRenderer]:
    """A terminal renderer on an 80x24 terminal; always stopped, so no live region outlives a test."""
    console = Console(file=out, width=80, height=24, force_terminal=True, color_system="truecolor")
    renderer = TerminalRenderer(console, clock=FakeClock(start=100.0))
    yield renderer
    renderer.stop()


def screen(written: str, rows: int = 300) -> list[str]:
    """The rows a terminal shows after these bytes, less trailing blank rows (tall enough never to scroll)."""
    terminal = pyte.Screen(80, rows)
    terminal.set_mode(pyte.modes.LNM)  # a tty turns "\n" into "\r\n"
    pyte.Stream(terminal).feed(written)
    shown = [row.rstrip() for row in terminal.display]
    while shown and not shown[-1]:
        shown.pop()
    return shown


def test_a_turn_shows_every_paragraph_code_line_and_output_line_once(
    renderer: TerminalRenderer, out: io.StringIO
) -> None:
    play(renderer, scripted_turn())
    shown = screen(out.getvalue())
    text = "\n".join(shown)
    for paragraph in PARAGRAPHS:
        assert text.count(paragraph) == 1, paragraph
    for code_line in CELL.code.splitlines()[-2:]:
        assert text.count(code_line) == 1, code_line
    assert text.count("rm -rf build") == 1
    output_rows = [row.removeprefix("│ ") for row in shown if row.startswith("│ ")]
    assert output_rows == [*OUTPUT_LINES[:5], "[… 5,000 characters cut …]", *OUTPUT_LINES[5:]]
    assert "exit status 2 · 1.3s" in shown
    assert "stopped after 8 steps (--max-steps)" in shown
    assert "thinking" not in text and "running" not in text  # the transient status left nothing behind


def test_the_live_region_is_closed_after_stop_and_reopens_for_more(
    renderer: TerminalRenderer, out: io.StringIO
) -> None:
    renderer.handle(RequestStarted(1))
    renderer.stop()
    renderer.stop()
    assert out.getvalue().rsplit("\x1b[?25", 1)[1].startswith("h")  # the cursor is shown again
    assert screen(out.getvalue()) == []  # and the status row erased
    renderer.handle(TextDelta("After the prompt."))
    renderer.stop()
    assert screen(out.getvalue()) == ["After the prompt."]


def test_stop_closes_the_live_region_of_a_cell_still_being_written(
    renderer: TerminalRenderer, out: io.StringIO
) -> None:
    renderer.handle(CodeDraft("python", "import os\nos.listdir("))
    assert "os.listdir(" in screen(out.getvalue())[-1]
    renderer.stop()  # as before the prompt, after Ctrl-C while the model was writing the cell
    assert out.getvalue().rsplit("\x1b[?25", 1)[1].startswith("h")  # the cursor is shown again
    assert screen(out.getvalue()) == []


def test_a_final_table_renders_as_a_table(renderer: TerminalRenderer, out: io.StringIO) -> None:
    table = "Results:\n\n| name | size |\n|------|------|\n| a.txt | 12 |\n| b.txt | 7 |"
    play(renderer, [*map(TextDelta, pieces(table, 5)), TurnEnded("done")])
    shown = screen(out.getvalue())
    assert not any("|" in row for row in shown)
    assert any(re.fullmatch(r"\s*a\.txt\s+12", row) for row in shown)
    assert any(set(row.strip()) == {"─"} for row in shown)


def test_proposed_code_is_highlighted_and_labelled_unless_already_in_the_text(
    renderer: TerminalRenderer, out: io.StringIO
) -> None:
    shell = CodeCell("shell", "echo hi | wc -c\n")
    events = [CodeProposed(shell), CodeProposed(CELL, in_text=True), CodeProposed(shell, edited=True)]
    play(renderer, [*events, CodeStarted(shell, edited=True)])  # the edited code shows at the question, once
    shown = screen(out.getvalue())
    rows = [row.strip() for row in shown if row.strip()]
    assert rows[:4] == ["shell", "echo hi | wc -c", "shell (edited)", "echo hi | wc -c"]
    assert rows[4:] == [] or rows[4].startswith("⠋ running shell")
    assert len(SGR.findall(out.getvalue())) > 4  # highlighted


def test_a_successful_run_ends_with_a_quiet_tick(renderer: TerminalRenderer, out: io.StringIO) -> None:
    result = RunResult("ok\n", 0, elapsed=0.25, restarted=True)
    play(renderer, [CodeStarted(CELL), OutputChunk("ok\n"), CodeFinished(CELL, result), Notice("later")])
    assert screen(out.getvalue()) == [
        "│ ok",
        "✓ 0.2s",
        "python was restarted: its variables and imports are gone",
        "",
        "later",
    ]


def test_no_color_keeps_the_layout_but_drops_colour(monkeypatch: pytest.MonkeyPatch, out: io.StringIO) -> None:
    monkeypatch.setenv("NO_COLOR", "1")
    renderer = make_renderer(out, terminal=True)
    play(renderer, scripted_turn())
    written = out.getvalue()
    params = {int(p) for match in SGR.findall(written) for p in match.split(";") if p}
    assert not params & {*range(30, 50), *range(90, 108)}
    assert "│ second line" in screen(written)


def frame_rows(view: View, height: int, clock: FakeClock | None = None) -> list[str]:
    """The rows the live region would show for `view` on a terminal `height` rows tall."""
    console = Console(file=io.StringIO(), width=80, height=height, force_terminal=True)
    frame = Frame(clock or FakeClock(start=100.0))
    frame.view = view
    return ["".join(segment.text for segment in row).rstrip() for row in console.render_lines(frame, pad=False)]


def test_the_live_region_shows_only_the_end_of_a_long_block() -> None:
    code = "```python\n" + "\n".join(f"x{n} = {n}" for n in range(60))
    status = Status("thinking… ", 100.0)
    rows = frame_rows(View(text=code, status=status, gap=True), height=24)
    assert len(rows) <= TAIL_ROWS + 2
    assert "x59 = 59" in "\n".join(rows[-3:])
    assert "x0 = 0" not in "\n".join(rows)
    assert len(frame_rows(View(text=code, status=status), height=4)) == 3


def test_the_status_line_counts_from_the_start() -> None:
    clock = FakeClock(start=100.0)
    status = Status("running python · ", clock.now, " · Ctrl-C to stop")
    clock.now += 3.24
    (row,) = frame_rows(View(status=status), height=24, clock=clock)
    assert row.endswith("running python · 3.2s · Ctrl-C to stop")


def test_an_unfinished_output_line_shows_live_then_prints_once(renderer: TerminalRenderer, out: io.StringIO) -> None:
    renderer.handle(CodeStarted(CELL))
    renderer.handle(OutputChunk("Downloading 10%\rDownloading 90%"))
    assert frame_rows(renderer._frame.view, height=24)[:-1] == ["│ Downloading 90%"]
    renderer.handle(CodeFinished(CELL, RunResult("", 0, elapsed=1.0)))
    assert screen(out.getvalue()) == ["│ Downloading 90%", "✓ 1.0s"]


def test_a_sandboxed_run_says_so_when_it_ends(renderer: TerminalRenderer, out: io.StringIO) -> None:
    plain = io.StringIO()
    for shown in (renderer, PlainRenderer(plain)):
        shown.handle(CodeStarted(CELL))
        shown.handle(CodeFinished(CELL, RunResult("", 0, elapsed=0.2, sandboxed=True)))
        shown.handle(CodeStarted(CELL))
        shown.handle(CodeFinished(CELL, RunResult("", 1, elapsed=0.3, sandboxed=True)))

    assert screen(out.getvalue())[-2:] == ["✓ 0.2s · sandboxed", "exit status 1 · 0.3s · sandboxed"]
    assert plain.getvalue().splitlines()[-1] == "(exit status 1, 0.3s, sandboxed)"
    assert "(ok, 0.2s, sandboxed)" in plain.getvalue()


def test_info_and_error_lines(renderer: TerminalRenderer, out: io.StringIO) -> None:
    renderer.info("Resumed conversation 2026-11-27-ab12")
    renderer.error("the API key was refused")
    shown = screen(out.getvalue())
    assert shown == ["Resumed conversation 2026-11-27-ab12", "error: the API key was refused"]
    assert "\x1b[31m" in out.getvalue()


def test_thinking_ends_when_code_comes_without_text_but_running_survives_a_notice(
    renderer: TerminalRenderer, out: io.StringIO
) -> None:
    renderer.handle(RequestStarted(1))
    renderer.handle(CodeProposed(CELL))
    assert out.getvalue().rsplit("\x1b[?25", 1)[1].startswith("h")  # live region closed, cursor back
    renderer.handle(CodeStarted(CELL))
    renderer.handle(Notice("slow network"))
    assert out.getvalue().rsplit("\x1b[?25", 1)[1].startswith("l")  # still live: the status keeps counting
    assert "running python" in out.getvalue().rsplit("slow network", 1)[1]


def test_an_unchanged_frame_is_not_repainted_and_a_change_writes_only_the_new_cells() -> None:
    out = io.StringIO()
    console = Console(file=out, width=80, height=24, force_terminal=True)
    region = LiveRegion(console, Frame(FakeClock(start=100.0)))
    region.show(View(text="Streaming a paragr"))
    try:
        written = len(out.getvalue())
        region.refresh()
        assert len(out.getvalue()) == written
        region.show(View(text="Streaming a paragraph"))
        assert len(out.getvalue()) == written  # drawn by the next tick, with whatever else changed by then
        region.refresh()
        assert out.getvalue()[written:] == "\x1b[?2026h\x1b[19Gaph\x1b[?2026l"
    finally:
        region.show(View())
    assert screen(out.getvalue()) == []


def test_a_wait_counts_down_in_the_status_line_and_prints_nothing(out: io.StringIO) -> None:
    clock = FakeClock(start=100.0)
    renderer = TerminalRenderer(Console(file=out, width=80, height=24, force_terminal=True), clock=clock)
    renderer.handle(Waiting("rate limited (TPM)", until=clock.now + 3.708, attempt=2, attempts=6))
    shown = []
    for _ in range(3):
        (row,) = frame_rows(renderer._frame.view, height=24, clock=clock)
        shown.append(row[2:])
        clock.now += 1.0
    assert shown == [
        "rate limited (TPM) · retrying in 3.8s · attempt 2/6 · Ctrl-C to cancel",
        "rate limited (TPM) · retrying in 2.8s · attempt 2/6 · Ctrl-C to cancel",
        "rate limited (TPM) · retrying in 1.8s · attempt 2/6 · Ctrl-C to cancel",
    ]
    renderer.stop()
    assert screen(out.getvalue()) == []  # a transient status leaves nothing behind


def test_a_wait_is_one_plain_line() -> None:
    out = io.StringIO()
    renderer = PlainRenderer(out, clock=lambda: 10.0)
    renderer.handle(Waiting("rate limited (TPM)", until=13.7, attempt=2, attempts=6))
    renderer.handle(Waiting("rate limit (TPM) nearly used", until=12.0, attempt=1, attempts=6))
    assert out.getvalue() == (
        "rate limited (TPM), retrying in 3.7s (attempt 2/6)\nrate limit (TPM) nearly used, sending in 2.0s\n"
    )


def test_a_change_of_model_is_one_line_and_the_status_line_names_the_model_in_use(out: io.StringIO) -> None:
    clock = FakeClock(start=100.0)
    renderer = TerminalRenderer(Console(file=out, width=80, height=24, force_terminal=True), clock=clock)
    renderer.handle(RequestStarted(1))
    (before,) = frame_rows(renderer._frame.view, height=24, clock=clock)
    renderer.handle(ModelSwitched("gpt-4", "gpt-4o-mini", "rate limited (TPM)", 60.0))
    renderer.handle(RequestStarted(2))
    after = frame_rows(renderer._frame.view, height=24, clock=clock)[-1]
    renderer.stop()
    assert before.endswith("thinking… 0.0s")
    assert after.endswith("thinking… 0.0s · gpt-4o-mini")
    assert screen(out.getvalue()) == ["gpt-4 rate limited (TPM) for 1m00s; using gpt-4o-mini meanwhile"]


def test_changes_of_model_are_plain_lines() -> None:
    out = io.StringIO()
    renderer = PlainRenderer(out)
    renderer.handle(ModelSwitched("gpt-4", "gpt-4o-mini", "rate limited (TPM)", 60.0))
    renderer.handle(ModelSwitched("gpt-4", "gpt-4o-mini", "not found", None))
    renderer.handle(ModelSwitched("gpt-4o-mini", "gpt-4", back=True))
    assert out.getvalue().splitlines() == [
        "gpt-4 rate limited (TPM) for 1m00s; using gpt-4o-mini meanwhile",
        "gpt-4: not found; using gpt-4o-mini from now on",
        "back to gpt-4: its wait has passed",
    ]


def test_log_lines_show_only_when_verbose_and_above_the_live_region(
    renderer: TerminalRenderer, out: io.StringIO
) -> None:
    renderer.handle(RequestStarted(1))
    renderer.log("[interpreter.api] attempt 1 failed: server error 503")
    renderer.verbose = True
    renderer.log("[interpreter.api] attempt 2 failed: server error 503")
    renderer.handle(TextDelta("Fine now."))
    renderer.stop()
    assert screen(out.getvalue()) == ["[interpreter.api] attempt 2 failed: server error 503", "", "Fine now."]


def test_plain_log_lines_go_to_stderr_only_when_verbose() -> None:
    out, errors = io.StringIO(), io.StringIO()
    renderer = PlainRenderer(out, errors=errors)
    renderer.log("hidden")
    renderer.verbose = True
    renderer.log("[interpreter.api] shown")
    assert out.getvalue() == "" and errors.getvalue() == "[interpreter.api] shown\n"


def test_a_long_open_code_fence_is_shown_from_its_tail_with_the_same_rows_as_the_whole() -> None:
    splitter = BlockSplitter()
    splitter.feed("Here is the script:\n```python\n" + "".join(f"value_{n} = step({n})\n" for n in range(300)) + "pri")
    tail = splitter.tail(TAIL_ROWS)
    assert len(tail.splitlines()) == TAIL_ROWS + 2 and tail.startswith("```python\n") and tail.endswith("\npri")
    assert frame_rows(View(text=tail), height=24) == frame_rows(View(text=splitter.pending), height=24)
    (block,) = splitter.feed("nt(value_299)\n```\n")
    assert "value_0 = step(0)" in block and block.endswith("print(value_299)\n```")  # the whole block is printed


def test_outside_an_open_fence_the_tail_is_the_whole_block() -> None:
    splitter = BlockSplitter()
    splitter.feed("".join(f"line {n} of a long paragraph\n" for n in range(50)))
    assert splitter.tail(TAIL_ROWS) == splitter.pending


@pytest.mark.parametrize("verbose", [False, True], ids=["quiet", "verbose"])
def test_reasoning_shows_dim_while_it_streams_then_leaves_one_line(out: io.StringIO, verbose: bool) -> None:
    console = Console(file=out, width=80, height=24, force_terminal=True, color_system="truecolor")
    clock = FakeClock(start=100.0)
    renderer = TerminalRenderer(console, clock=clock, verbose=verbose)
    renderer.handle(Thinking("Six times seven is forty-two."))  # the region's first draw is at once, no tick needed
    assert screen(out.getvalue()) == ["Six times seven is forty-two."]  # in the live rows
    assert "\x1b[2mSix times seven" in out.getvalue()  # dim
    clock.now += 4.2
    renderer.handle(TextDelta("It is 42."))
    renderer.stop()
    shown = screen(out.getvalue())
    assert shown[:1] == ["thought for 4.2s"]
    assert ("Six times seven is forty-two." in shown) is verbose  # the live rows went; --verbose keeps the text
    assert shown[-1] == "It is 42."


def test_code_too_long_to_highlight_is_drawn_plain_each_line_whole_or_wrapped_at_the_width(
    renderer: TerminalRenderer, out: io.StringIO
) -> None:
    lines = [f"value_{number:05d} = {number}  # a line of a long generated cell" for number in range(1300)]
    lines[1:4] = ["s = '" + "数" * 45 + "'", "\tindented = 1", "hidden = '\u2028'"]
    code = "\n".join(lines)
    assert len(code) > HIGHLIGHT_LIMIT
    play(renderer, [CodeProposed(CodeCell("python", code))])
    shown = screen(out.getvalue(), rows=1400)
    assert shown[:7] == [
        "python",
        " value_00000 = 0  # a line of a long generated cell",
        " s = '" + "数" * 36,  # 78 columns: the 37th wide character would not fit
        " " + "数" * 9 + "'",
        "     indented = 1",
        " hidden = '⟨U+2028⟩'",
        " value_00004 = 4  # a line of a long generated cell",
    ]
    assert shown[-2:] == [
        " value_01299 = 1299  # a line of a long generated cell",
        "warning: 1 hidden character, shown as ⟨U+2028⟩: read it closely",
    ]
    assert len(shown) == 1 + 1300 + 1 + 1
    # No colours of a highlighter: the bold cyan header, dim stand-ins, the bold yellow warning (its stand-in dim too).
    assert set(SGR.findall(out.getvalue())) <= {"", "0", "1;36", "2", "1;33", "1;2;33"}
