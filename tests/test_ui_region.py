"""The live region's in-place writer: rows as cells, the codes between two rows, whole sequences replayed in pyte."""

from __future__ import annotations

import io
import random

import pyte
import pytest
from fakes import FakeClock
from rich.cells import cell_len
from rich.color import ColorSystem
from rich.console import Console, RenderableType
from rich.segment import Segment
from rich.style import Style
from rich.text import Text

from interpreter.ui.cells import Row, cell_width, changed_spans, encode, encode_line, rewrite, row_of
from interpreter.ui.frame import Frame, Status, View
from interpreter.ui.region import HIDE_CURSOR, SHOW_CURSOR, SYNC_BEGIN, LiveRegion

BOLD = Style(bold=True)


def row(text: str, style: Style | None = None) -> Row:
    return row_of([Segment(text, style)])


def test_a_row_has_a_cell_per_column_wide_characters_two_and_combining_marks_none() -> None:
    assert [char for char, _ in row("a中e\u0301")] == ["a", "中", "", "e\u0301"]


def test_an_unchanged_row_costs_nothing_and_one_changed_digit_costs_a_jump_and_the_digit() -> None:
    before = row("retrying in 3.7s · attempt 2/6")
    assert rewrite(before, before, ColorSystem.TRUECOLOR) == ""
    assert rewrite(before, row("retrying in 3.6s · attempt 2/6"), ColorSystem.TRUECOLOR) == "\x1b[15G6"


def test_changes_close_together_are_written_as_one_span_and_far_ones_apart() -> None:
    assert changed_spans(row("3.0s and 9"), row("2.9s and 9")) == [(0, 3)]
    assert changed_spans(row("1 ......... 1"), row("2 ......... 2")) == [(0, 1), (12, 13)]


def test_a_longer_row_writes_its_new_end_and_a_shorter_one_erases_the_rest() -> None:
    assert rewrite(row("Streaming a"), row("Streaming a word"), None) == "\x1b[12G word"
    assert rewrite(row("3.10s left"), row("3.9s left"), None) == "\x1b[3G9s left\x1b[10G\x1b[K"
    assert rewrite(row("abc   "), row("abc"), None) == ""  # only blanks would be erased


def test_a_wide_character_is_always_written_whole() -> None:
    assert changed_spans(row("a中b"), row("a文b")) == [(1, 3)]
    assert changed_spans(row("ab中"), row("abcd")) == [(2, 4)]
    assert changed_spans(row("abcd"), row("ab中")) == [(2, 4)]


def test_styles_are_written_with_their_codes_and_a_style_change_alone_is_a_change() -> None:
    assert encode(row("value", BOLD), ColorSystem.TRUECOLOR) == "\x1b[1mvalue\x1b[0m"
    assert rewrite(row("**value**"), row_of([Segment("value", BOLD)]), None) == "\x1b[1Gvalue\x1b[6G\x1b[K"


# ---- the region, replayed into a terminal --------------------------------------------------------------------------

WIDTH, HEIGHT = 40, 10
WORDS = ["alpha", "beta", "中文", "gamma", "**bold**", "`code`", "delta", "epsilon", "zeta", "ü"]


class Terminal:
    """A pyte terminal fed as bytes are written (a tty turns "\\n" into "\\r\\n")."""

    def __init__(self) -> None:
        self.screen = pyte.HistoryScreen(WIDTH, HEIGHT, history=10_000)
        self.screen.set_mode(pyte.modes.LNM)
        self._stream = pyte.Stream(self.screen)
        self._fed = 0

    def lines(self, written: str) -> list[str]:
        """Scrollback and screen after `written` (fed from where the last call stopped), trailing blanks dropped."""
        self._stream.feed(written[self._fed :])
        self._fed = len(written)
        history = ["".join(char.data for char in line.values()).rstrip() for line in self.screen.history.top]
        lines = history + [line.rstrip() for line in self.screen.display]
        while lines and not lines[-1]:
            lines.pop()
        return lines


def terminal_lines(written: str) -> list[str]:
    return Terminal().lines(written)


def rendered(console: Console, renderable: RenderableType) -> list[str]:
    return ["".join(segment.text for segment in line).rstrip() for line in console.render_lines(renderable, pad=False)]


def random_view(rng: random.Random, clock: FakeClock) -> View:
    text = " ".join(rng.choice(WORDS) for _ in range(rng.randrange(0, 30)))
    status = Status("running python · ", clock.now) if rng.random() < 0.5 else None
    partial = rng.choice(["", "", "Downloading 40%", "中文 output"])
    return View(text=text, partial=partial, status=status, gap=rng.random() < 0.5)


@pytest.mark.parametrize("seed", range(25))
def test_any_sequence_of_prints_and_views_leaves_exactly_the_prints_and_the_last_view(seed: int) -> None:
    rng = random.Random(seed)
    out = io.StringIO()
    console = Console(file=out, width=WIDTH, height=HEIGHT, force_terminal=True, color_system="256")
    clock = FakeClock(start=100.0)
    frame = Frame(clock)
    region = LiveRegion(console, frame, refresh_per_second=0.001)  # ticks only when the test calls refresh()
    printed: list[str] = []
    terminal = Terminal()
    try:
        for _ in range(30):
            view = random_view(rng, clock)
            text = (
                Text(" ".join(rng.choice(WORDS) for _ in range(rng.randrange(1, 15)))) if rng.random() < 0.4 else None
            )
            region.show(view, text)
            if text is not None:
                printed += rendered(console, text)
            clock.now += rng.choice([0.05, 0.1, 1.0])
            region.refresh()
            expected = printed + (rendered(console, frame) if not view.empty else [])
            assert terminal.lines(out.getvalue()) == expected
    finally:
        region.show(View())
    assert terminal.lines(out.getvalue()) == printed


def test_the_cursor_is_hidden_while_a_region_is_up_and_plain_prints_are_not_synchronized() -> None:
    out = io.StringIO()
    console = Console(file=out, width=WIDTH, height=HEIGHT, force_terminal=True)
    region = LiveRegion(console, Frame(FakeClock(start=100.0)))
    region.show(View(), Text("a finished line"))
    assert out.getvalue() == "a finished line\n"
    region.show(View(status=Status("thinking… ", 100.0)))
    assert out.getvalue().startswith(f"a finished line\n{SYNC_BEGIN}") and HIDE_CURSOR in out.getvalue()
    region.show(View())
    assert out.getvalue().rsplit("\x1b[?25", 1)[1].startswith("h") and SHOW_CURSOR in out.getvalue()
    assert terminal_lines(out.getvalue()) == ["a finished line"]


def test_printing_over_the_region_writes_nothing_for_rows_already_showing_the_same_text() -> None:
    out = io.StringIO()
    console = Console(file=out, width=WIDTH, height=HEIGHT, force_terminal=True)
    region = LiveRegion(console, Frame(FakeClock(start=100.0)))
    region.show(View(text="A paragraph that is now complete."))
    before = len(out.getvalue())
    region.show(View(), Text("A paragraph that is now complete."))
    assert out.getvalue()[before:] == f"{SYNC_BEGIN}\n{SHOW_CURSOR}\x1b[?2026l"
    assert terminal_lines(out.getvalue()) == ["A paragraph that is now complete."]


@pytest.mark.parametrize("size", [(30, HEIGHT), (WIDTH, 6)], ids=["narrower", "shorter"])
def test_after_a_resize_the_region_is_drawn_anew_from_its_top(size: tuple[int, int]) -> None:
    out = io.StringIO()
    console = Console(file=out, width=WIDTH, height=HEIGHT, force_terminal=True)
    region = LiveRegion(console, Frame(FakeClock(start=100.0)))
    region.show(View(), Text("kept"))
    region.show(View(text="one two three", status=Status("thinking… ", 100.0)))
    console.size = size  # Rich takes (width, height)
    region.refresh()
    written = out.getvalue()
    assert written.endswith("\x1b[?2026l") and "\x1b[1A\r\x1b[J" in written.rsplit(SYNC_BEGIN, 1)[1]
    region.show(View())
    assert terminal_lines(written + out.getvalue()[len(written) :]) == ["kept"]


@pytest.mark.parametrize(
    "text",
    ["", "plain ascii", "é ✓ tab\there", "数据 wide", "a\u0301 combining", "🙂 emoji", "\x1b[2m control", "⟨U+2028⟩"],
)
def test_cell_width_counts_as_rich_does(text: str) -> None:
    assert cell_width(text) == cell_len(text)


def test_a_printed_line_is_written_as_its_cells_would_be_and_its_stand_ins_dim() -> None:
    bold = Style(bold=True)
    line = [Segment("a "), Segment("b", bold), Segment("c", bold), Segment(" 数")]
    assert (
        encode_line(line, ColorSystem.TRUECOLOR)
        == encode(row_of(line), ColorSystem.TRUECOLOR)
        == "a \x1b[1mbc\x1b[0m 数"
    )
    hostile = [Segment("x ␛[2K "), Segment("⟨U+202E⟩", bold)]
    assert encode_line(hostile, ColorSystem.TRUECOLOR) == "x \x1b[2m␛\x1b[0m[2K \x1b[1;2m⟨U+202E⟩\x1b[0m"
