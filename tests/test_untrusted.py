"""The gate to the terminal: hostile strings pushed through every renderer in every role foreign text takes.

On a terminal the bytes are replayed into pyte and judged as a person would see them: the stand-ins are there, the
title is unchanged, nothing was erased, no alternate screen, no answer typed back. The bytes themselves hold no
escape code but the renderer's own. Plain output holds no control character at all; --json keeps the original.
"""

from __future__ import annotations

import io
import json
import re
from collections.abc import Callable
from dataclasses import dataclass

import pyte
import pytest
from fakes import FakeClock
from rich.console import Console

from interpreter.messages import (
    CodeCell,
    CodeDraft,
    CodeFinished,
    CodeProposed,
    CodeStarted,
    Notice,
    OutputChunk,
    RunResult,
    TextDelta,
)
from interpreter.ui import Renderer
from interpreter.ui.jsonl import JsonLinesRenderer
from interpreter.ui.plain import PlainRenderer
from interpreter.ui.terminal import TerminalRenderer
from interpreter.ui.untrusted import json_escaped, visible, warning


@dataclass(frozen=True)
class Hostile:
    """A string a model, a cell or a server might send, and what a person should see of it."""

    name: str
    raw: str
    shown: str


HOSTILE = [
    Hostile("OSC 0 title", "\x1b]0;pwned\x07", "␛]0;pwned␇"),
    Hostile(
        "OSC 8 link", "\x1b]8;;http://evil.example\x1b\\click\x1b]8;;\x1b\\", "␛]8;;http://evil.example␛\\click␛]8;;␛\\"
    ),
    Hostile("OSC 52 clipboard", "\x1b]52;c;cm0gLXJmIH4=\x07", "␛]52;c;cm0gLXJmIH4=␇"),
    Hostile("DCS", "\x1bP$qm\x1b\\", "␛P$qm␛\\"),
    Hostile("CSI erase line, cursor up", "\x1b[2K\x1b[1A\x1b[2K", "␛[2K␛[1A␛[2K"),
    Hostile("alternate screen", "\x1b[?1049h", "␛[?1049h"),
    Hostile("device status report", "\x1b[6n", "␛[6n"),
    Hostile("ESC c reset", "\x1bc", "␛c"),
    Hostile("ESC #8 screen of E", "\x1b#8", "␛#8"),
    Hostile("NUL", "a\x00b", "a␀b"),
    Hostile("SO/SI", "\x0eshifted\x0f", "␎shifted␏"),
    Hostile("C1 CSI", "\x9b2J", "⟨U+009B⟩2J"),
    Hostile("bidi override", "\u202eevil", "⟨U+202E⟩evil"),
    Hostile("lone ESC", "\x1b", "␛"),
]
IDS = [case.name for case in HOSTILE]
MARKER = "drawn before the hostile text"
CONTROL = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")
# Everything the terminal renderer itself writes: colours, cursor moves within its rows, erasing, sync, the cursor.
OWN_CODES = re.compile(r"\x1b\[[0-9;]*m|\x1b\[\d*[ABG]|\x1b\[K|\x1b\[J|\x1b\[\?(?:2026|25)[hl]")


def line(case: Hostile) -> str:
    return f"before {case.raw} after"


def code(case: Hostile) -> str:
    return f"x = 1  # {case.raw}\nprint('after')"


def chars(text: str) -> list[str]:
    """`text` one character a piece: every escape sequence is cut across pieces, a lone ESC ends one."""
    return list(text)


def as_text(renderer: Renderer, case: Hostile) -> None:
    for piece in chars(line(case) + "\n\n"):
        renderer.handle(TextDelta(piece))


def as_code(renderer: Renderer, case: Hostile) -> None:
    renderer.handle(CodeProposed(CodeCell("python", code(case))))


def as_draft(renderer: Renderer, case: Hostile) -> None:
    renderer.handle(CodeDraft("python", code(case)))


def as_output(renderer: Renderer, case: Hostile) -> None:
    cell = CodeCell("python", "print(...)")
    renderer.handle(CodeStarted(cell))
    for piece in chars(line(case) + "\n"):
        renderer.handle(OutputChunk(piece))
    renderer.handle(CodeFinished(cell, RunResult("", 0, elapsed=0.1)))


def as_partial_output(renderer: Renderer, case: Hostile) -> None:
    renderer.handle(CodeStarted(CodeCell("python", "print(...)")))
    for piece in chars(line(case)):
        renderer.handle(OutputChunk(piece))


def as_output_tail(renderer: Renderer, case: Hostile) -> None:
    cell = CodeCell("python", "print(...)")
    renderer.handle(CodeStarted(cell))
    renderer.handle(CodeFinished(cell, RunResult("", 0, cut_chars=5, tail=line(case) + "\n", elapsed=0.1)))


def as_notice(renderer: Renderer, case: Hostile) -> None:
    renderer.handle(Notice(line(case)))


def as_error(renderer: Renderer, case: Hostile) -> None:
    renderer.verbose = True
    renderer.error(line(case), details=f"details {case.raw}")


def as_info(renderer: Renderer, case: Hostile) -> None:
    renderer.info(line(case))


ROLES: dict[str, Callable[[Renderer, Hostile], None]] = {
    "model text": as_text,
    "code": as_code,
    "code draft": as_draft,
    "output": as_output,
    "partial output": as_partial_output,
    "output tail": as_output_tail,
    "notice": as_notice,
    "error": as_error,
    "info": as_info,
}
ON_EVERY_RENDERER = [role for role in ROLES if role != "code draft"]  # drafts show only in a terminal's live rows


# ---- the gate itself -----------------------------------------------------------------------------------


@pytest.mark.parametrize("case", HOSTILE, ids=IDS)
def test_the_gate_shows_every_control_character_as_a_stand_in(case: Hostile) -> None:
    assert visible(case.raw) == case.shown


def test_newlines_and_tabs_stay_and_a_crlf_is_a_newline() -> None:
    assert visible("a\tb\r\nc\rd\n") == "a\tb\nc␍d\n"
    assert visible("the first half of a CR LF pair\r") == "the first half of a CR LF pair"
    assert visible("plain text, ünïcödé, 数据 🙂") == "plain text, ünïcödé, 数据 🙂"


def test_the_warning_counts_the_control_characters_and_names_their_stand_ins() -> None:
    assert warning("x = 1 # \x1b[2K\x1b[1A\x1b[2K\nprint('harmless')") == (
        "this code holds 3 control characters, shown as ␛: read it closely before running it"
    )
    assert warning("s = '\u202e' + '\x00'") == (
        "this code holds 2 control characters, shown as ⟨U+202E⟩ ␀: read it closely before running it"
    )
    assert warning("print('fine')\r\n") is None


def test_json_to_a_terminal_escapes_what_json_leaves_raw_and_means_the_same() -> None:
    document = json.dumps({"text": "\x1b[2J\x9b2J\u202eevil"}, ensure_ascii=False)
    escaped = json_escaped(document)
    assert not CONTROL.search(escaped)
    assert json.loads(escaped) == json.loads(document)


# ---- through the terminal renderer, replayed into pyte -------------------------------------------------


class Screen(pyte.Screen):  # type: ignore[misc]  # pyte is untyped
    """A pyte screen that keeps what the terminal would have typed back (answers to status requests)."""

    def __init__(self, columns: int, lines: int) -> None:
        super().__init__(columns, lines)
        self.answers: list[str] = []
        self.write_process_input = self.answers.append


def replayed(written: str) -> Screen:
    screen = Screen(80, 60)
    screen.set_mode(pyte.modes.LNM)  # a tty turns "\n" into "\r\n"
    pyte.Stream(screen).feed(written)
    return screen


def assert_harmless_on_a_terminal(written: str, shown: list[str]) -> None:
    """What a person sees after `written`: every `shown` text, the marker untouched, no side effect took place."""
    screen = replayed(written)
    text = "\n".join(row.rstrip() for row in screen.display)
    assert MARKER in text, text  # nothing erased, reset or overwritten
    for expected in shown:
        assert expected in text, text
    assert screen.title == "" and screen.answers == []
    assert (1049 << 5) not in screen.mode  # pyte keeps private modes shifted by 5: no alternate screen
    assert not any(set(row.strip()) == {"E"} for row in screen.display)
    assert screen.charset == 0  # no shift to the graphics character set
    assert not CONTROL.search(OWN_CODES.sub("", written).replace("\n", "").replace("\r", "")), repr(written)


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("case", HOSTILE, ids=IDS)
def test_a_terminal_shows_hostile_text_and_acts_on_none_of_it(case: Hostile, role: str) -> None:
    out = io.StringIO()
    console = Console(file=out, width=80, height=60, force_terminal=True, color_system="truecolor")
    renderer = TerminalRenderer(console, clock=FakeClock(start=100.0))
    try:
        renderer.info(MARKER)
        ROLES[role](renderer, case)
        renderer._region.refresh()  # draw the live rows now, not at the next tick of the region's clock
        assert_harmless_on_a_terminal(out.getvalue(), [case.shown])  # the live rows: drafts, partial lines
    finally:
        renderer.stop()
    if role != "code draft":
        assert_harmless_on_a_terminal(out.getvalue(), [case.shown])


@pytest.mark.parametrize("case", HOSTILE, ids=IDS)
def test_a_terminal_warns_above_the_question_when_code_holds_control_characters(case: Hostile) -> None:
    out = io.StringIO()
    renderer = TerminalRenderer(Console(file=out, width=80, height=60, force_terminal=True), clock=FakeClock())
    renderer.info(MARKER)
    renderer.handle(CodeProposed(CodeCell("python", code(case))))
    renderer.handle(CodeProposed(CodeCell("python", code(case)), in_text=True))
    renderer.stop()
    rows = [row.strip() for row in replayed(out.getvalue()).display]
    warnings = [row for row in rows if row.startswith("warning: this code holds")]
    assert len(warnings) == 2 and rows.index(warnings[0]) == rows.index("print('after')") + 1


def test_stand_ins_are_dim_on_a_terminal_and_the_text_around_them_is_not() -> None:
    out = io.StringIO()
    renderer = TerminalRenderer(Console(file=out, width=80, height=24, force_terminal=True), clock=FakeClock())
    renderer.info("plain \x1b[2J text")
    renderer.stop()
    assert replayed(out.getvalue()).display[0].rstrip() == "plain ␛[2J text"
    assert "\x1b[2m␛\x1b[0m" in out.getvalue()  # SGR 2 (dim) around the stand-in of ESC
    assert "\x1b[2mplain" not in out.getvalue()


def test_cell_output_colours_are_shown_not_interpreted() -> None:
    out = io.StringIO()
    renderer = TerminalRenderer(Console(file=out, width=80, height=24, force_terminal=True), clock=FakeClock())
    as_output(renderer, Hostile("colour", "\x1b[8mconcealed\x1b[0m", ""))
    renderer.stop()
    assert "│ before ␛[8mconcealed␛[0m after" in [row.rstrip() for row in replayed(out.getvalue()).display]


# ---- plain and JSON lines ------------------------------------------------------------------------------


@pytest.mark.parametrize("role", ON_EVERY_RENDERER)
@pytest.mark.parametrize("case", HOSTILE, ids=IDS)
def test_plain_output_carries_the_same_stand_ins_and_no_control_character(case: Hostile, role: str) -> None:
    out, errors = io.StringIO(), io.StringIO()
    renderer = PlainRenderer(out, errors=errors)
    ROLES[role](renderer, case)
    renderer.stop()
    written = out.getvalue()
    assert case.shown in written
    assert not CONTROL.search(written.replace("\n", "")), repr(written)
    if role == "code":
        assert "\nwarning: this code holds " in written


def test_plain_log_lines_on_stderr_pass_the_gate_too() -> None:
    out, errors = io.StringIO(), io.StringIO()
    renderer = PlainRenderer(out, errors=errors, verbose=True)
    renderer.log("[interpreter.api] server said \x1b]0;pwned\x07")
    assert errors.getvalue() == "[interpreter.api] server said ␛]0;pwned␇\n"


@pytest.mark.parametrize("case", HOSTILE, ids=IDS)
def test_json_lines_keep_the_original_text_and_only_the_human_line_on_stderr_is_gated(case: Hostile) -> None:
    for role in ON_EVERY_RENDERER:
        out, errors = io.StringIO(), io.StringIO()
        ROLES[role](JsonLinesRenderer(out, errors=errors), case)
        records = [json.loads(row) for row in out.getvalue().splitlines()]
        assert not CONTROL.search(out.getvalue())  # JSON escapes them
        joined = "".join(str(value) for record in records for key, value in record.items() if key != "type")
        assert case.raw in joined, role
        assert not CONTROL.search(errors.getvalue().replace("\n", "")), role  # an error's line for people
