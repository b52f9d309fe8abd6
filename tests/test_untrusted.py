"""The gate to the terminal: hostile strings pushed through every renderer in every role foreign text takes.

On a terminal the bytes are replayed into pyte and judged as a person would see them: the stand-ins are there, the
title is unchanged, nothing was erased, no alternate screen, no answer typed back. The bytes themselves hold no
escape code but the renderer's own. Plain output holds no control character at all; --json keeps the original.
"""

from __future__ import annotations

import io
import json
import os
import re
import subprocess
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pyte
import pytest
from fake_server import FakeServer, Fault, Reply
from fakes import FakeClock
from rich.console import Console
from terminal import Terminal

from interpreter import doctor
from interpreter.conversation.storage import Conversation, ConversationStore
from interpreter.messages import (
    CodeCell,
    CodeDraft,
    CodeFinished,
    CodeProposed,
    CodeStarted,
    Message,
    Notice,
    OutputChunk,
    RunResult,
    TextDelta,
    ToolCall,
)
from interpreter.settings.config import Settings
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
    Hostile("lone surrogate", "\ud83d!", "⟨U+D83D⟩!"),  # JSON's "\\ud83d": no encoding can write it
    # Drawn as nothing, yet they change what runs: a line end for node, a different name, a hidden payload.
    Hostile("line separator", "// note\u2028run()", "// note⟨U+2028⟩run()"),
    Hostile("paragraph separator", "// note\u2029run()", "// note⟨U+2029⟩run()"),
    Hostile("next line (NEL)", "# note\x85run()", "# note⟨U+0085⟩run()"),
    Hostile("zero width space", "pass\u200bword", "pass⟨U+200B⟩word"),
    Hostile("zero width non-joiner", "pass\u200cword", "pass⟨U+200C⟩word"),
    Hostile("zero width joiner", "pass\u200dword", "pass⟨U+200D⟩word"),
    Hostile("word joiner", "pass\u2060word", "pass⟨U+2060⟩word"),
    Hostile("byte order mark", "pass\ufeffword", "pass⟨U+FEFF⟩word"),
    Hostile("tag character", "ok\U000e0072\U000e006d", "ok⟨U+E0072⟩⟨U+E006D⟩"),
    Hostile("variation selector", "pass\ufe0fword", "pass⟨U+FE0F⟩word"),
    Hostile("bidi isolate", "\u2066evil\u2069", "⟨U+2066⟩evil⟨U+2069⟩"),
]
IDS = [case.name for case in HOSTILE]
MARKER = "drawn before the hostile text"
CONTROL = re.compile(
    "[\x00-\x08\x0b-\x1f\x7f-\x9f\u200b-\u200f\u2028-\u202e\u2060-\u206f\ufe00-\ufe0f\ufeff\U000e0000-\U000e0fff]"
)
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


def test_every_format_character_of_unicode_is_a_stand_in() -> None:
    formats = [chr(code) for code in range(0x110000) if unicodedata.category(chr(code)) == "Cf"]
    assert len(formats) > 160
    shown = visible("".join(formats))
    assert re.fullmatch(r"(⟨U\+[0-9A-F]{4,5}⟩)+", shown) and shown.count("⟨") == len(formats)


def test_emoji_sequences_keep_their_joiners_and_selectors_and_letters_do_not() -> None:
    emoji = "👩\u200d💻 ❤\ufe0f ❤\ufe0f\u200d🔥 🏳\ufe0f\u200d🌈 ☺\ufe0e"
    assert visible(emoji) == emoji and warning(f"x = '{emoji}'") is None
    assert visible("a\u200d💻 💻\u200da e\ufe0f") == "a⟨U+200D⟩💻 💻⟨U+200D⟩a e⟨U+FE0F⟩"


def test_the_warning_counts_the_control_characters_and_names_their_stand_ins() -> None:
    assert warning("x = 1 # \x1b[2K\x1b[1A\x1b[2K\nprint('harmless')") == (
        "3 hidden characters, shown as ␛: read it closely"
    )
    assert warning("s = '\u202e' + '\x00' + '\x00' + '\x1b' + '\x7f' + '\x9b'") == (
        "6 hidden characters, shown as ⟨U+202E⟩ ␀ ␛ ␡ …: read it closely"
    )
    assert warning("print('fine')\r\n") is None
    assert warning("// a\u2028require('fs')\nx\u200b = '\U000e0041\ufe0f'") == (
        "4 hidden characters, shown as ⟨U+2028⟩ ⟨U+200B⟩ …: read it closely"
    )


def test_json_to_a_terminal_escapes_what_json_leaves_raw_and_means_the_same() -> None:
    document = json.dumps({"text": "\x1b[2J\x9b2J\u202eevil"}, ensure_ascii=False)
    escaped = json_escaped(document)
    assert not CONTROL.search(escaped)
    assert json.loads(escaped) == json.loads(document)


# ---- through the terminal renderer, replayed into pyte -------------------------------------------------


class Screen(pyte.Screen):
    """A pyte screen that keeps what the terminal would have typed back (answers to status requests)."""

    def __init__(self, columns: int, lines: int) -> None:
        super().__init__(columns, lines)
        self.answers: list[str] = []

    def write_process_input(self, data: str) -> None:
        self.answers.append(data)


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
    warnings = [row for row in rows if row.startswith("warning: ") and "hidden character" in row]
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
        assert re.search(r"\nwarning: \d+ hidden characters?, shown as ", written)


def test_plain_warns_of_fenced_code_in_the_text_without_writing_it_twice() -> None:
    out = io.StringIO()
    renderer = PlainRenderer(out)
    renderer.handle(TextDelta("```python\nx = '\u202e'\n```\n"))
    renderer.handle(CodeProposed(CodeCell("python", "x = '\u202e'"), in_text=True))
    assert out.getvalue() == (
        "```python\nx = '⟨U+202E⟩'\n```\nwarning: 1 hidden character, shown as ⟨U+202E⟩: read it closely\n"
    )


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


# ---- the whole program ---------------------------------------------------------------------------------

SPOOF = 'x = 1 # \x1b[2K\x1b[1A\x1b[2K\nprint("harmless")'
HOSTILE_TASK = "first \x1b]0;pwned\x07 task"
HOSTILE_ANSWER = "the answer \x1b[2J\x1b[H\u202eevil"


def session_in_a_pty(command: list[str], server: FakeServer, *args: str) -> Terminal:
    return Terminal(command[0], ["--api-base", server.url, "--api-key", "sk-test", *args], env={})


def leave(terminal: Terminal) -> None:
    terminal.wait_for_prompt()
    terminal.press("d")
    assert terminal.exit_status() == 0


def rows_at_the_question(command: list[str], server: FakeServer, language: str, code: str) -> tuple[list[str], bytes]:
    """The screen's rows at `Run this code?` for `code` in a pty session (then declined), and all it wrote."""
    server.enqueue(Reply.tool_call(language, code), Reply.text("Not run, fine."))
    terminal = session_in_a_pty(command, server)
    try:
        terminal.wait_for_prompt()
        terminal.send("tidy up\r")
        terminal.wait_for("Run this code? [y/N/e]")
        rows = [row.strip() for row in terminal.lines()]
        terminal.send("n\r")
        terminal.wait_for("Not run, fine.")
        leave(terminal)
    finally:
        terminal.close()
    return rows, terminal.written


def test_code_that_erases_its_own_lines_shows_every_line_and_a_warning_at_the_question(
    interpreter_command: list[str], server: FakeServer
) -> None:
    rows, written = rows_at_the_question(interpreter_command, server, "python", SPOOF)

    code_at = rows.index("x = 1 # ␛[2K␛[1A␛[2K")
    assert rows[code_at + 1 : code_at + 3] == [
        'print("harmless")',
        "warning: 3 hidden characters, shown as ␛: read it closely",
    ]
    assert rows[code_at + 3].startswith("Run this code? [y/N/e]")
    assert b"\x1b[2K\x1b[1A" not in written


# Code that reads as comments and a string, and runs a second line in node: every hidden character class at once.
DISGUISED = (
    "// tidy the cache\u2028require('fs').writeFileSync('owned', '')\n"
    "// para\u2029run() // nel\x85run()\n"
    "const s = 'a\u200bb\u200cc\u200dd\u2060e\ufeff'\n"
    "const t = 'tag\U000e0041 vs\ufe0f bidi\u2066'\n"
)


def test_code_with_hidden_characters_shows_each_at_the_question_and_the_warning_counts_them(
    interpreter_command: list[str], server: FakeServer
) -> None:
    rows, written = rows_at_the_question(interpreter_command, server, "javascript", DISGUISED)

    code_at = rows.index("// tidy the cache⟨U+2028⟩require('fs').writeFileSync('owned', '')")
    assert rows[code_at + 1 : code_at + 6] == [
        "// para⟨U+2029⟩run() // nel⟨U+0085⟩run()",
        "const s = 'a⟨U+200B⟩b⟨U+200C⟩c⟨U+200D⟩d⟨U+2060⟩e⟨U+FEFF⟩'",
        "const t = 'tag⟨U+E0041⟩ vs⟨U+FE0F⟩ bidi⟨U+2066⟩'",
        "warning: 11 hidden characters, shown as ⟨U+2028⟩ ⟨U+2029⟩ …: read it closely",
        "Run this code? [y/N/e]",
    ]
    assert not set("\u2028\u2029\x85\u200b\u200c\u200d\u2060\ufeff\U000e0041\ufe0f\u2066") & set(written.decode())


@pytest.fixture
def hostile_conversation(private_home: Path) -> Conversation:
    """A saved conversation whose task, answer and code are hostile."""
    call = ToolCall("c1", "execute", json.dumps({"language": "python", "code": "print(1)  # \x1b[1A\x1b[2K"}))
    conversation = Conversation.new("gpt-4o")
    conversation.messages += [
        Message("user", HOSTILE_TASK),
        Message("assistant", HOSTILE_ANSWER, tool_calls=(call,)),
        Message("tool", "1\n", tool_call_id="c1"),
    ]
    store = ConversationStore(private_home / "conversations")
    store.save(conversation)
    store.release()  # saving holds the conversation, as a session does; the session under test takes it over
    return conversation


def test_resume_replays_a_hostile_conversation_as_stand_ins(
    interpreter_command: list[str], server: FakeServer, hostile_conversation: Conversation
) -> None:
    terminal = session_in_a_pty(interpreter_command, server, "--resume")
    try:
        terminal.wait_for_prompt()
        rows = [row.strip() for row in terminal.lines()]
        leave(terminal)
    finally:
        terminal.close()
    assert "> first ␛]0;pwned␇ task" in rows
    assert "the answer ␛[2J␛[H⟨U+202E⟩evil" in rows
    assert "print(1)  # ␛[1A␛[2K" in rows
    assert terminal.screen.title == ""
    assert not any(raw in terminal.written for raw in (b"\x1b]0;pwned", b"\x1b[2J", b"\x1b[1A\x1b[2K", b"\xe2\x80\xae"))


def conversations(command: list[str], *args: str) -> subprocess.CompletedProcess[str]:
    """`interpreter conversations ARGS`, piped, in a wide terminal's COLUMNS."""
    env = {**os.environ, "COLUMNS": "200"}
    return subprocess.run(
        [*command, "conversations", *args], capture_output=True, text=True, env=env, timeout=30, check=False
    )


def test_the_conversation_list_and_show_print_stand_ins(
    interpreter_command: list[str], hostile_conversation: Conversation
) -> None:
    listed = conversations(interpreter_command)
    shown = conversations(interpreter_command, "show", hostile_conversation.id)
    for result in (listed, shown):
        assert result.returncode == 0, result.stderr
        assert not CONTROL.search(result.stdout.replace("\n", ""))
    assert listed.stdout.splitlines()[1].endswith("  first ␛]0;pwned␇ task")
    assert "the answer ␛[2J␛[H⟨U+202E⟩evil" in shown.stdout
    assert "print(1)  # ␛[1A␛[2K" in shown.stdout


def test_a_json_export_on_stdout_escapes_what_json_leaves_raw_and_keeps_the_text(
    interpreter_command: list[str], hostile_conversation: Conversation
) -> None:
    exported = conversations(interpreter_command, "export", hostile_conversation.id, "--format", "json")
    assert exported.returncode == 0, exported.stderr
    assert not CONTROL.search(exported.stdout.replace("\n", ""))
    assert json.loads(exported.stdout)["messages"][1]["content"] == HOSTILE_ANSWER


def test_the_one_line_of_a_failure_passes_the_gate(interpreter_command: list[str], tmp_path: Path) -> None:
    home = tmp_path / "\x1b]0;pwned\x07"  # the settings file's path is in the line
    home.mkdir()
    (home / "config.toml").write_text("model = ", encoding="utf-8")
    result = subprocess.run(
        [*interpreter_command, "--api-key", "sk-test", "-c", "hi"],
        capture_output=True,
        text=True,
        env={**os.environ, "INTERPRETER_HOME": str(home)},
        timeout=30,
        check=False,
    )
    assert result.returncode == 2, result.stderr
    assert "␛]0;pwned␇" in result.stderr and not CONTROL.search(result.stderr.replace("\n", ""))


@pytest.mark.parametrize("terminal", [False, True], ids=["plain", "table"])
def test_doctor_shows_a_hostile_server_message_as_stand_ins(
    server: FakeServer, private_home: Path, terminal: bool
) -> None:
    error = {"message": "\x1b]52;c;eA==\x07", "type": "invalid_request_error", "param": None}
    server.enqueue(Fault.status(400, {"error": {**error, "code": None}}))
    out = io.StringIO()
    doctor.run(Settings(home=private_home, api_base=server.url, api_key="sk-test"), out=out, terminal=terminal)
    text = out.getvalue()
    assert "␛]52;c;eA==␇" in re.sub(r"\x1b\[[0-9;]*m", "", text)  # read without the table's colours
    assert "\x1b]52" not in text
