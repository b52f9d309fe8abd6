"""The gate to the terminal: every string this program did not write passes `visible` before it is drawn.

Foreign text (the model's answers and code, cell output, saved conversations, server messages) may hold characters
a terminal acts on instead of showing, or draws as nothing while a program reads them:
- ESC starts sequences that erase lines, move the cursor, set the window title, write the clipboard (OSC 52) or
  switch to the alternate screen; C1 controls do the same in one character.
- The bidirectional overrides and isolates reorder what is shown (Trojan Source, CVE-2021-42574).
- Line and paragraph separators (U+2028, U+2029, and NEL, a C1 control) end a line for node and others but are
  drawn as nothing: `// note⟨U+2028⟩require('fs')...` shows as one comment and runs a second line.
- Zero-width and other format characters (Unicode category Cf: U+200B-U+200F, U+2060, U+FEFF, the soft hyphen...),
  tag characters (U+E0000-U+E007F), variation selectors and the other default-ignorable code points (the Hangul
  fillers) hide in names and strings: two lines that look alike run differently.
Any of them could redraw or disguise the code above `Run this code?`. The gate shows each as a visible stand-in that
does nothing: C0 controls as Unicode control pictures (ESC as ␛, NUL as ␀), DEL as ␡, everything else as ⟨U+2028⟩,
and a lone surrogate, which no terminal encoding can carry, as ⟨U+D83D⟩. Newline and tab stay; a CR LF pair is a
newline.

One gate for code, prose and cell output alike, with one exception: the joiner and variation selector of an emoji
sequence (👩‍💻, ❤️) stay, because there they draw one picture and cannot disguise a name or a line; the same
characters after a letter stand in, in code and prose alike. Prose gets the strict rule too because the code
proposed in an answer is drawn as part of the answer's markdown.

Cell output gets the same treatment, colours included: cells run with TERM=dumb on pipes, so programs that mind
their surroundings write no escape codes, and one that writes them anyway is shown what it wrote. Keeping colours
would mean trusting SGR, which can hide text too (conceal, foreground the colour of the background).

Stdlib only: the plain renderer and the CLI's error line use it without loading Rich. On a terminal the
region draws the stand-ins dim (`ui.cells.dim_stand_ins`).
"""

from __future__ import annotations

import re

from interpreter.ui.words import counted

# Each range as a regex class item; the comments name what they hold.
_HIDDEN_RANGES = (
    "\x00-\x08\x0b-\x1f",  # C0 controls but tab and newline
    "\x7f-\x9f",  # DEL, C1 controls (NEL, U+0085, among them)
    "\u00ad\u034f",  # soft hyphen, combining grapheme joiner
    "\u0600-\u0605\u061c\u06dd\u070f\u0890\u0891\u08e2",  # Arabic and Syriac format characters, the Arabic letter mark
    "\u115f\u1160\u17b4\u17b5\u180b-\u180f",  # Hangul choseong/jungseong fillers, Khmer inherent vowels, Mongolian
    "\u200b-\u200f",  # zero width space, non-joiner, joiner; left-to-right and right-to-left marks
    "\u2028-\u202e",  # line and paragraph separators; bidirectional embeddings and overrides
    "\u2060-\u206f",  # word joiner, invisible operators, bidirectional isolates, deprecated format characters
    "\u3164\ufe00-\ufe0f\ufeff\uffa0\ufff0-\ufffb",  # Hangul filler, variation selectors, BOM, interlinear annotation
    "\ud800-\udfff",  # lone surrogates (JSON's "\\ud83d" decodes to one): no terminal encoding can write them
    "\U000110bd\U000110cd\U00013430-\U0001343f\U0001bca0-\U0001bca3\U0001d173-\U0001d17a",  # more format characters
    "\U000e0000-\U000e0fff",  # tag characters, variation selectors supplement, reserved default-ignorables
)
# Pictographs an emoji sequence joins or a variation selector picks the emoji form of (Extended_Pictographic, roughly).
_PICTURE = (
    "\u00a9\u00ae\u203c\u2049\u2122\u2139\u2194-\u21ff\u2300-\u23ff\u24c2\u25a0-\u27bf\u2900-\u297f\u2b00-\u2bff"
    "\u3030\u303d\u3297\u3299\U0001f000-\U0001faff"
)
_PICTURE_CHAR = re.compile(f"[{_PICTURE}]")
_JOINER, _SELECTORS = "\u200d", "\ufe0e\ufe0f"  # ZWJ; VS15 and VS16 choose the text or the emoji form
_HIDDEN = re.compile(f"[{''.join(_HIDDEN_RANGES)}]")
STAND_IN = re.compile(r"[\u2400-\u2421]|⟨U\+[0-9A-F]{4,6}⟩")  # what a stand-in looks like, to draw it dim
NAMED_WIDTH = 20  # characters of stand-ins a warning names, at most (but one): the line fits 80 columns


def visible(text: str) -> str:
    """`text` with every hidden character but newline and tab shown as a stand-in; a CR LF pair is a newline.

    A CR ending `text` is dropped: it may be the first half of a CR LF pair cut between two pieces of a stream.
    """
    if not _HIDDEN.search(text):
        return text
    return _HIDDEN.sub(_shown, _lines(text))


def warning(code: str) -> str | None:
    """The line to show above `Run this code?` when `code` holds hidden characters; None when it holds none."""
    found = [_stand_in(match) for match in _HIDDEN.finditer(_lines(code)) if not _in_emoji(match)]
    if not found:
        return None
    named = list(dict.fromkeys(found))
    count = next((count for count in range(len(named), 1, -1) if len(" ".join(named[:count])) <= NAMED_WIDTH), 1)
    shown = " ".join(named[:count]) + (" …" if len(named) > count else "")
    return f"{counted(len(found), 'hidden character')}, shown as {shown}: read it closely"


def json_escaped(document: str) -> str:
    """A JSON document with the hidden characters JSON leaves raw (C1, format characters) as \\u escapes: same data."""
    return _HIDDEN.sub(lambda match: _json_escape(ord(match.group())), document)


def _shown(match: re.Match[str]) -> str:
    """A hidden character as shown: itself within an emoji sequence, else its stand-in."""
    return match.group() if _in_emoji(match) else _stand_in(match)


def _in_emoji(match: re.Match[str]) -> bool:
    """Whether the hidden character matched is part of an emoji sequence: a joiner between two pictographs (the
    first may have its VS16), or a variation selector after a pictograph."""
    char, text, at = match.group(), match.string, match.start()
    before = text[at - 1 : at]
    if char in _SELECTORS:
        return bool(_PICTURE_CHAR.match(before))
    after = text[at + 1 : at + 2]
    if char != _JOINER or not _PICTURE_CHAR.match(after):
        return False
    return bool(_PICTURE_CHAR.match(before) or (before == "\ufe0f" and _PICTURE_CHAR.match(text[at - 2 : at - 1])))


def _stand_in(match: re.Match[str]) -> str:
    """What a person sees for one hidden character: a control picture for C0, ␡ for DEL, else its code point."""
    code = ord(match.group())
    if code < 0x20:
        return chr(0x2400 + code)
    return "\u2421" if code == 0x7F else f"⟨U+{code:04X}⟩"


def _json_escape(code: int) -> str:
    """`code` as JSON writes it in \\u escapes: one, or a surrogate pair above the Basic Multilingual Plane."""
    if code < 0x10000:
        return f"\\u{code:04x}"
    code -= 0x10000
    return f"\\u{0xD800 + (code >> 10):04x}\\u{0xDC00 + (code & 0x3FF):04x}"


def _lines(text: str) -> str:
    """`text` with CR LF pairs as newlines and a last CR dropped, as the gate treats line ends."""
    return text.replace("\r\n", "\n").removesuffix("\r")
