"""A conversation in the form the Responses API is sent: `instructions` and `input` items (wire.py's counterpart).

Items (OpenAI's API reference, "Create a model response", `input`): a message `{"role", "content": [parts]}` with
`input_text` / `input_image` parts; an assistant's text as `{"type": "message", "role": "assistant", "content"}`;
each tool call as `{"type": "function_call", "call_id", "name", "arguments"}` and its answer as
`{"type": "function_call_output", "call_id", "output"}`; the reasoning items a reply came with, as the server sent
them (`encrypted_content` included), before it. Those go back to the api_base that made them alone, as wire.py does
with a server's own fields: another server cannot read them. The system message becomes `instructions`.

Figures follow the last `function_call_output` of a reply in one user message, as wire.py places them after the last
tool message: an item between a call and its output would leave the call unanswered.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

from interpreter.messages import Message
from interpreter.model import pictures
from interpreter.model.kept import Kept
from interpreter.model.vision import image_part
from interpreter.model.wire import FIGURES_HEADING, object_arguments
from interpreter.trust.redaction import redact_url


def responses_input(
    messages: Sequence[Message],
    server: str,
    *,
    images: Path | None = None,
    kept: Kept[list[dict[str, Any]]] | None = None,
) -> tuple[str, list[dict[str, Any]]]:
    """The instructions and the input items of `messages` as sent to the api_base `server`; with `images` (the folder
    figures are kept in), the figures beneath it as pictures too. Each message's items are taken from `kept` when an
    earlier request made them (those with figures as pictures, or pictures attached, never: a file may change)."""
    server = redact_url(server)  # as messages name their origin
    kept = kept if kept is not None else Kept()
    instructions = "\n\n".join(message.content for message in messages if message.role == "system")
    items: list[dict[str, Any]] = []
    drawn: list[str] = []  # figures of the tool messages since the last reply, sent after the last of them
    for message in messages:
        if message.role != "tool":
            items += _pictures(drawn, images) if images else []
            drawn = []
        drawn += message.figures if message.role == "tool" else ()
        if (images and message.role == "user" and message.figures) or message.pictures:
            items += _items(message, server, images)  # never kept: a file may change
        else:
            items += kept.get(message, server, _items)
    kept.request_done()
    return instructions, items + (_pictures(drawn, images) if images else [])


def _items(message: Message, server: str, images: Path | None = None) -> list[dict[str, Any]]:
    """The input items one message becomes (none for a system message: it is the instructions)."""
    if message.role == "assistant":
        return list(_assistant(message, server))
    if message.role == "tool":
        return [{"type": "function_call_output", "call_id": message.tool_call_id or "", "output": message.content}]
    if message.role == "user":
        figures = _parts(message.figures, images) if images else []
        attached = [_attached(part, value) for part, value in pictures.parts(message.pictures, send=images is not None)]
        return [{"role": "user", "content": [_text(message.content), *figures, *attached]}]
    return []


def _assistant(message: Message, server: str) -> Iterator[dict[str, Any]]:
    """A reply's items: its reasoning (for the server that made it), its text, then its calls."""
    if message.origin == server:
        yield from (dict(item) for item in message.reasoning)
    if message.content:
        yield {"type": "message", "role": "assistant", "content": message.content}
    for call in message.tool_calls:
        yield {
            "type": "function_call",
            "call_id": call.id,
            "name": call.name,
            "arguments": object_arguments(call.arguments),
        }


def _attached(part: pictures.Part, value: str) -> dict[str, Any]:
    """A part of what a task's pictures add to it (see wire.py): text, or the picture."""
    return {"type": "input_image", "image_url": value, "detail": "auto"} if part == "image" else _text(value)


def _text(text: str) -> dict[str, Any]:
    return {"type": "input_text", "text": text}


def _pictures(paths: Sequence[str], folder: Path) -> list[dict[str, Any]]:
    """A user message showing the figures at `paths` (each named, then drawn); none when no file can be sent."""
    parts = _parts(paths, folder)
    return [{"role": "user", "content": [_text(FIGURES_HEADING), *parts]}] if parts else []


def _parts(paths: Sequence[str], folder: Path) -> list[dict[str, Any]]:
    """Each figure beneath `folder` that can be sent, as its path in a text part and its picture in an image part."""
    parts = []
    for path in paths:
        if (image := image_part(path, folder)) is not None:
            parts += [_text(path), {"type": "input_image", "image_url": image["image_url"]["url"], "detail": "auto"}]
    return parts


def carries_images(items: Sequence[dict[str, Any]]) -> bool:
    """Whether a request's input items hold an image part."""
    return any(
        isinstance(part, dict) and part.get("type") == "input_image"
        for item in items
        if isinstance(item.get("content"), list)
        for part in item["content"]
    )


def flat_tools(tools: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    """Chat Completions' tools (`{"type": "function", "function": {...}}`) as the Responses API takes them: flat."""
    return [{"type": "function", **tool["function"]} if "function" in tool else dict(tool) for tool in tools]
