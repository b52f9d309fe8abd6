"""The one function tool offered to the model, `execute`, and reading the model's calls of it."""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from typing import Any

from interpreter.messages import CodeCell, CodeDraft, ToolCall, ToolCallDraft

TOOL_NAME = "execute"
_FIELD = re.compile(r'"(language|code)"\s*:\s*"')  # a string field's start (quotes inside strings are escaped)
_LONGEST_ESCAPE = 6  # \uXXXX


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
        raise BadCall(
            f"error: the arguments were not valid JSON ({exc.msg} at character {exc.pos}); "
            'call execute again with {"language": ..., "code": ...}.'
        ) from exc
    if not isinstance(arguments, dict):
        raise BadCall('error: the arguments must be a JSON object {"language": ..., "code": ...}.')
    language, code = arguments.get("language"), arguments.get("code")
    if not isinstance(language, str) or not isinstance(code, str):
        raise BadCall('error: execute needs two strings, "language" and "code".')
    return CodeCell(language=language, code=code)


def draft(call: ToolCallDraft) -> CodeDraft | None:
    """The code an `execute` call still being written holds so far; None before its code begins (or another tool)."""
    if call.name not in ("", TOOL_NAME):
        return None
    fields = {match[1]: _string_so_far(call.arguments, match.end()) for match in _FIELD.finditer(call.arguments)}
    code = fields.get("code")
    return None if code is None else CodeDraft(fields.get("language", ""), code)


def _string_so_far(text: str, start: int) -> str:
    """The JSON string whose content begins at `start`, decoded up to its closing quote or the end of `text`."""
    end = start
    while end < len(text) and text[end] != '"':
        end += 2 if text[end] == "\\" else 1
    raw = text[start : min(end, len(text))]
    for cut in range(min(len(raw), _LONGEST_ESCAPE) + 1):  # an escape cut short at the end decodes once dropped
        try:
            return str(json.loads(f'"{raw[: len(raw) - cut]}"'))
        except json.JSONDecodeError:
            continue
    return ""
