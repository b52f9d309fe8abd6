"""The one function tool offered to the model, `execute`, and reading the model's calls of it."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from interpreter.messages import CodeCell, ToolCall

TOOL_NAME = "execute"


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
