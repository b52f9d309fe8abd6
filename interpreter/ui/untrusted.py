"""The gate to the terminal: every string this program did not write passes `visible` before it is drawn.

Foreign text (the model's answers and code, cell output, saved conversations, server messages) may hold characters
a terminal acts on instead of showing: ESC starts sequences that erase lines, move the cursor, set the window title,
write the clipboard (OSC 52) or switch to the alternate screen; C1 controls do the same in one character; the
bidirectional overrides and isolates reorder what is shown (Trojan Source, CVE-2021-42574). Any of them could redraw
the screen around `Run this code?`. The gate shows each as a visible stand-in that does nothing: C0 controls as
Unicode control pictures (ESC as ␛, NUL as ␀), DEL as ␡, C1 and bidirectional controls as ⟨U+202E⟩, and a lone
surrogate, which no terminal encoding can carry, as ⟨U+D83D⟩. Newline and tab
stay; a CR LF pair is a newline.

Cell output gets the same treatment, colours included: cells run with TERM=dumb on pipes, so programs that mind
their surroundings write no escape codes, and one that writes them anyway is shown what it wrote. Keeping colours
would mean trusting SGR, which can hide text too (conceal, foreground the colour of the background).

Stdlib only: the plain renderer and the CLI's error line use it without loading Rich. On a terminal the
region draws the stand-ins dim (`ui.cells.dim_stand_ins`).
"""

from __future__ import annotations

import re

from interpreter.words import counted

_C1 = range(0x80, 0xA0)
_BIDI = (*range(0x202A, 0x202F), *range(0x2066, 0x206A))  # embeddings, overrides, isolates (not LRM/RLM)
# A lone surrogate (JSON's "\\ud83d" decodes to one) cannot be encoded for the terminal at all: writing it would fail.
_SURROGATES = range(0xD800, 0xE000)
_STAND_INS: dict[int, str] = {
    **{code: chr(0x2400 + code) for code in range(0x20) if chr(code) not in "\n\t"},  # the control pictures
    0x7F: "\u2421",  # ␡
    **{code: f"⟨U+{code:04X}⟩" for code in (*_C1, *_BIDI, *_SURROGATES)},
}
_CONTROLS = re.compile("[" + "".join(re.escape(chr(code)) for code in _STAND_INS) + "]")
STAND_IN = re.compile(r"[\u2400-\u2421]|⟨U\+[0-9A-F]{4}⟩")  # what a stand-in looks like, to draw it dim
MAX_NAMED = 4  # distinct stand-ins a warning names


def visible(text: str) -> str:
    """`text` with every control character but newline and tab shown as a stand-in; a CR LF pair is a newline.

    A CR ending `text` is dropped: it may be the first half of a CR LF pair cut between two pieces of a stream.
    """
    if not _CONTROLS.search(text):
        return text
    return _lines(text).translate(_STAND_INS)


def warning(code: str) -> str | None:
    """The line to show above `Run this code?` when `code` holds control characters; None when it holds none."""
    found = _CONTROLS.findall(_lines(code))
    if not found:
        return None
    named = list(dict.fromkeys(_STAND_INS[ord(char)] for char in found))
    shown = " ".join(named[:MAX_NAMED]) + (" …" if len(named) > MAX_NAMED else "")
    return f"{counted(len(found), 'control character')} in this code, shown as {shown}: read it closely"


def json_escaped(document: str) -> str:
    """A JSON document with the controls JSON leaves raw (C1, bidirectional) as \\u escapes: the same data."""
    return _CONTROLS.sub(lambda match: f"\\u{ord(match.group()):04x}", document)


def _lines(text: str) -> str:
    """`text` with CR LF pairs as newlines and a last CR dropped, as the gate treats line ends."""
    return text.replace("\r\n", "\n").removesuffix("\r")
