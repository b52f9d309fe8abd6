"""A conversation as a readable Markdown transcript: the one place that formats it, for export, show and `%save`."""

from __future__ import annotations

import re
from datetime import datetime
from typing import TYPE_CHECKING

from interpreter.messages import Message, ToolCall
from interpreter.model import tool

if TYPE_CHECKING:
    from interpreter.conversation.storage import Conversation

_BACKTICK_RUNS = re.compile(r"`{3,}")


def to_markdown(conversation: Conversation) -> str:
    """The whole conversation: a heading (id, date, model), then each message in order, code and output fenced."""
    heading = f"# Conversation {conversation.id}\n\n{_date(conversation.created)} · model `{conversation.model}`"
    sections = [heading, *(_section(message) for message in conversation.messages)]
    return "\n\n".join(section for section in sections if section) + "\n"


def _section(message: Message) -> str:
    """One message as Markdown; the system message (not stored, but possible in a loaded file) is left out."""
    if message.is_output:
        return "Output:\n\n" + _fenced(message.content or "(no output)")
    if message.role == "user":
        return f"## User\n\n{message.content}"
    if message.role == "assistant":
        parts = [message.content, *(_code(call) for call in message.tool_calls)]
        return "## Assistant\n\n" + "\n\n".join(part for part in parts if part)
    return ""


def _code(call: ToolCall) -> str:
    """The code a tool call ran, fenced with its language; a call that could not be read, as the model wrote it."""
    try:
        cell = tool.parse(call)
    except tool.BadCall:
        return _fenced(f"{call.name}({call.arguments})")
    return _fenced(cell.code, cell.language)


def _fenced(text: str, language: str = "") -> str:
    """`text` in a code fence longer than any run of backticks inside it, so the fence cannot close early."""
    longest = max((len(run) for run in _BACKTICK_RUNS.findall(text)), default=2)
    fence = "`" * (longest + 1)
    body = text.rstrip("\n")
    return f"{fence}{language}\n{body}\n{fence}"


def _date(created: str) -> str:
    """The conversation's start as a readable UTC time; the stored text as it is when it is not a timestamp."""
    try:
        return f"{datetime.fromisoformat(created):%Y-%m-%d %H:%M %Z}".strip()
    except ValueError:
        return created
