"""The one function tool offered to the model, `execute`, and reading the model's calls of it."""

from __future__ import annotations

import enum
import json
import re
from collections.abc import Callable, Sequence
from typing import Any

from interpreter.messages import CodeCell, CodeDraft, ToolCall, ToolCallDraft

TOOL_NAME = "execute"
# Characters of a draft's code kept for the screen, which shows its last few lines (ui/frame.py TAIL_ROWS).
DRAFT_TAIL = 4096
_STRUCTURE = re.compile(r'[{}\[\]":,]')  # what matters outside strings
# A run of a string's content holding only whole escapes: it stops at the closing quote or at an escape that is
# cut short or invalid. A lone surrogate is not whole: it waits for its pair.
_COMPLETE = re.compile(
    r'[^"\\]*(?:(?:\\["\\/bfnrt]|\\u(?![dD][89a-fA-F])[0-9a-fA-F]{4}'
    r'|\\u[dD][89abAB][0-9a-fA-F]{2}\\u[dD][c-fC-F][0-9a-fA-F]{2})[^"\\]*)*'
)
_BAD_ESCAPE = re.compile(r"\\(?:u[0-9a-fA-F]{4}|.)?", re.DOTALL)
_LONGEST_ESCAPE = 12  # \ud83d\ude00, a surrogate pair
_NAME_ROOM = 64  # characters kept of a member's name or the language: no longer one is a name we know
_STRINGS = json.JSONDecoder(strict=False)  # a draft is only shown: a raw newline in it need not stop the screen


_AGAIN = 'call execute again with {"language": ..., "code": ...}.'


class BadCall(ValueError):
    """A tool call the model got wrong; the message is sent back to the model so it can correct itself."""


def schema(languages: Sequence[str]) -> dict[str, Any]:
    """The `execute` function tool, offering the languages that can really run here."""
    return {
        "type": "function",
        "function": {
            "name": TOOL_NAME,
            "description": "Run code on the user's machine and return its output (stdout and stderr).",
            "parameters": {
                "type": "object",
                "properties": {
                    "language": {"type": "string", "description": "One of: " + ", ".join(languages)},
                    "code": {"type": "string", "description": "The code to run."},
                },
                "required": ["language", "code"],
            },
        },
    }


def parse(call: ToolCall) -> CodeCell:
    """The cell a call asks to run; raises BadCall with a message for the model when the call is unusable."""
    if call.name != TOOL_NAME:
        raise BadCall(f"error: there is no tool named {call.name!r}; use {TOOL_NAME!r}.")
    try:
        arguments = json.loads(call.arguments or "{}")
    except json.JSONDecodeError as exc:
        raise BadCall(f"error: the arguments were not valid JSON ({exc.msg} at character {exc.pos}); {_AGAIN}") from exc
    except RecursionError as exc:  # Python's parser gives up on arrays or objects some thousands deep
        raise BadCall(f"error: the arguments were not valid JSON (nested too deeply); {_AGAIN}") from exc
    if not isinstance(arguments, dict):
        raise BadCall('error: the arguments must be a JSON object {"language": ..., "code": ...}.')
    language, code = arguments.get("language"), arguments.get("code")
    if not isinstance(language, str) or not isinstance(code, str):
        raise BadCall('error: execute needs two strings, "language" and "code".')
    return CodeCell(language=language, code=code)


class _Role(enum.Enum):
    """What a string in the arguments is to a draft."""

    NAME = "name"  # a member's name
    LANGUAGE = "language"
    CODE = "code"
    SKIPPED = "skipped"  # any other string: scanned for its end, never decoded


def _decode_string(raw: str) -> str:
    """The content of a JSON string that holds only whole escapes, decoded."""
    return str(_STRINGS.decode(f'"{raw}"'))


def _shown_escape(escape: str) -> str:
    """An escape JSON would refuse or decode to a lone surrogate, as the screen shows it."""
    if len(escape) == len(r"\uXXXX"):
        return "\N{REPLACEMENT CHARACTER}"
    return escape


class Drafts:
    """The `execute` calls of one reply as they stream in, each decoded incrementally by its own DraftDecoder."""

    def __init__(self, decode: Callable[[str], str] = _decode_string) -> None:
        self._decode = decode
        self._calls: dict[int, DraftDecoder] = {}

    def feed(self, fragment: ToolCallDraft) -> CodeDraft | None:
        """The draft of the call `fragment` adds to; None before its code begins, or for another tool."""
        if fragment.name not in ("", TOOL_NAME):
            return None
        decoder = self._calls.get(fragment.index)
        if decoder is None or fragment.first:
            decoder = self._calls[fragment.index] = DraftDecoder(self._decode)
        return decoder.feed(fragment.fragment)


class DraftDecoder:
    """One call's JSON arguments, read as they arrive: each character is looked at once, whatever the call's size.

    Only the top-level object's "language" and "code" strings are decoded, and of the code only its last
    DRAFT_TAIL characters are kept: the screen shows a draft's last lines, and the whole cell comes with the Reply.
    """

    def __init__(self, decode: Callable[[str], str]) -> None:
        self._decode = decode
        self._pending = ""  # the end of the last fragment, an escape cut short, waiting for the rest
        self._depth = 0  # nesting of objects and arrays; 1 is inside the arguments object
        self._expect_name = False  # whether the next string at depth 1 is a member's name
        self._string: _Role | None = None  # the string being read, when inside one
        self._name = ""  # the name of the member whose value comes next
        self._language = ""
        self._code: str | None = None  # None until the code string begins

    def feed(self, fragment: str) -> CodeDraft | None:
        """Read one more fragment of the arguments; the draft so far (None before the code begins)."""
        text, self._pending = self._pending + fragment, ""
        position = 0
        while position < len(text):
            position = self._in_string(text, position) if self._string else self._outside(text, position)
        return None if self._code is None else CodeDraft(self._language, self._code)

    def _outside(self, text: str, position: int) -> int:
        """Read structure up to the next string's start (or the end of `text`); where reading stops."""
        found = _STRUCTURE.search(text, position)
        if found is None:
            return len(text)
        char = found[0]
        if char == '"':
            self._string = self._role()
        elif char in "{[":
            self._depth += 1
            self._expect_name = char == "{" and self._depth == 1
        elif char in "}]":
            self._depth -= 1
        elif self._depth == 1:
            self._expect_name = char == ","
        return found.end()

    def _role(self) -> _Role:
        """What the string beginning now is to us."""
        if self._depth != 1:
            return _Role.SKIPPED
        if self._expect_name:
            self._name = ""
            return _Role.NAME
        if self._name == "code":
            self._code = ""
            return _Role.CODE
        return _Role.LANGUAGE if self._name == "language" else _Role.SKIPPED

    def _in_string(self, text: str, position: int) -> int:
        """Read the current string up to its closing quote, an escape cut short, or the end; where reading stops."""
        end = _COMPLETE.match(text, position).end()  # type: ignore[union-attr]  # it matches the empty string
        self._keep(self._decode_part(text[position:end]))
        if end == len(text):
            return end
        if text[end] == '"':
            self._string = None
            return end + 1
        if len(text) - end < _LONGEST_ESCAPE and '"' not in text[end:]:
            self._pending = text[end:]  # the rest of the escape comes with the next fragment
            return len(text)
        length = _BAD_ESCAPE.match(text, end).end() - end  # type: ignore[union-attr]  # `\\` then anything
        self._keep(_shown_escape(text[end : end + length]))
        return end + length

    def _decode_part(self, raw: str) -> str:
        """`raw` decoded if this string is one we keep ("" otherwise: skipped strings are only scanned)."""
        return self._decode(raw) if raw and self._string is not _Role.SKIPPED else ""

    def _keep(self, decoded: str) -> None:
        """Add decoded characters to the string being read."""
        if self._string is _Role.CODE:
            self._code = ((self._code or "") + decoded)[-DRAFT_TAIL:]
        elif self._string is _Role.LANGUAGE:
            self._language = (self._language + decoded)[:_NAME_ROOM]
        elif self._string is _Role.NAME:
            self._name = (self._name + decoded)[:_NAME_ROOM]
