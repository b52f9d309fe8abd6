"""A conversation in the form one server is sent: each server's own fields back to it alone, ids every server takes.

Servers put fields of their own on a reply and some require them back: Gemini 3 a thought signature on each tool
call (`extra_content`), DeepSeek's thinking mode the `reasoning_content` of a message with tool calls. Others refuse
those very fields (Groq, Mistral: `reasoning_content`), and a signature means nothing to another server. So they are
sent only to the api_base that produced them. The model does not count: a signature belongs to the provider.

A call's arguments go as a JSON object, whatever the model wrote: Ollama (and vLLM) refuse a history holding any other
(PROVIDERS.md #17); arguments that are not one are sent inside one, as text, so the model still reads what it wrote.

Tool-call ids another server made are sent as 9 letters and digits: Mistral (and Mistral models behind
vLLM) refuse any other form, and every other server treats ids as opaque. Mapping every foreign id needs no guess at
which server this is: a host name misses Mistral models served elsewhere, and a refusal costs a failed request.

A model that takes images is sent the figures code drew as `image_url` parts. Not in the tool message: OpenAI's
tool message takes text parts only (the SDK's ChatCompletionToolMessageParam: `str | Iterable[...ContentPartText]`)
and answers an image there with a 400, "Image URLs are only allowed for messages with role 'user'"
(OpenHands/OpenHands#7700). So they follow in one user message after the last tool message answering the same
reply, as other agents do (OpenHands/OpenHands#10200, netease-lcap/wave-agent#1368): a user message between the
tool messages would leave calls unanswered. Code output sent as a user message (no tools) carries its own.

A task carries the pictures the person attached to it (`pictures.py`) in the same way: its text, then each picture
named and drawn; for a model not sent pictures, or a picture whose file is gone, a note in its place.
"""

from __future__ import annotations

import hashlib
import json
import operator
import re
import string
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final

from interpreter.messages import Message, ToolCall
from interpreter.model import pictures
from interpreter.model.kept import Kept
from interpreter.model.vision import image_part
from interpreter.trust.redaction import redact_url

_PORTABLE_ID: Final = re.compile("[A-Za-z0-9]{9}")
_ALPHABET: Final = string.ascii_letters + string.digits
FIGURES_HEADING: Final = "The figures the code above drew:"


def wire(
    messages: Sequence[Message],
    server: str,
    *,
    images: Path | None = None,
    kept: Kept[Wired] | None = None,
    last: LastWire | None = None,
) -> list[dict[str, Any]]:
    """The wire form of `messages` as sent to the api_base `server`; with `images` (the folder figures are kept in),
    the figures beneath it as pictures too. Each message's own part is taken from `kept` when an earlier request
    made it (the figures and pictures never: a file may change); while the conversation only grows, what `last`
    holds of the last request is taken whole, and only the new messages are made."""
    server = redact_url(server)  # as messages name their origin
    kept = kept if kept is not None else Kept()
    built = last.start(messages, server, images) if last is not None else _Built(server, images)
    for message in messages[len(built.messages) :]:
        built.add(message, kept)
    kept.request_done()
    if last is not None:
        last.built = built
    return built.sent + (_pictures(built.drawn, images) if images else [])


@dataclass
class _Built:
    """The wire form of a conversation's first messages, and where the next message takes up."""

    server: str
    images: Path | None
    messages: list[Message] = field(default_factory=list)
    sent: list[dict[str, Any]] = field(default_factory=list)
    sent_ids: dict[str, str] = field(default_factory=dict)  # the calls the tool messages now answer -> ids sent
    drawn: list[str] = field(default_factory=list)  # figures of the tool messages since the last reply with calls
    lasting: bool = True  # nothing made from a file (a figure, a picture): it may be taken whole next time

    def add(self, message: Message, kept: Kept[Wired]) -> None:
        """Add `message`'s wire form (and the figures drawn before it, when it ends a run of tool messages)."""
        images = self.images
        if message.role != "tool":
            self.sent += _pictures(self.drawn, images) if images else []
            self.drawn = []
        self.drawn += message.figures if message.role == "tool" else ()
        data, ids = kept.get(message, self.server, _wired)
        if message.tool_calls:
            self.sent_ids = ids  # answers follow their calls: ids repeat across replies (Gemini counts anew in each)
        if images and message.role == "user" and message.figures:
            data = {**data, "content": [{"type": "text", "text": message.content}, *_parts(message.figures, images)]}
        if message.pictures:  # never kept either: the file is checked against its hash each time
            data = {**data, "content": _attached(message, send=images is not None)}
        if message.tool_call_id in self.sent_ids:
            data = {**data, "tool_call_id": self.sent_ids[message.tool_call_id]}
        self.lasting = self.lasting and not message.pictures and not (images and message.figures)
        self.messages.append(message)
        self.sent.append(data)


class LastWire:
    """What the last request's messages became (see `wire`), for the next request to start from."""

    def __init__(self) -> None:
        self.built: _Built | None = None

    def start(self, messages: Sequence[Message], server: str, images: Path | None) -> _Built:
        """Where a request for `messages` starts: a copy of the last one's wire form when `messages` begins with its
        messages (the same objects) and it was made from nothing that may change; else from nothing."""
        last = self.built
        if last is None or not last.lasting or (last.server, last.images) != (server, images):
            return _Built(server, images)
        held = last.messages
        if len(messages) < len(held) or not all(map(operator.is_, held, messages)):
            return _Built(server, images)
        return _Built(server, images, list(held), list(last.sent), dict(last.sent_ids), list(last.drawn))


# One message's wire form without pictures, and the ids sent for its calls (those another server made) by their own.
Wired = tuple[dict[str, Any], dict[str, str]]


def _wired(message: Message, server: str) -> Wired:
    """`message` as sent to `server`, but for pictures and the ids of the calls it answers; never changed once made."""
    data = message.to_dict()
    ids: dict[str, str] = {}
    if message.tool_calls:
        data["tool_calls"] = [_call(call, message.origin, server, ids) for call in message.tool_calls]
    if message.origin == server:
        data = {**message.extras, **data}  # the server's own fields never replace the message's
    return data, ids


def _pictures(paths: Sequence[str], folder: Path) -> list[dict[str, Any]]:
    """A user message showing the figures at `paths` (each named, then drawn); none when no file can be sent."""
    parts = _parts(paths, folder)
    if not parts:
        return []
    return [{"role": "user", "content": [{"type": "text", "text": FIGURES_HEADING}, *parts]}]


def _parts(paths: Sequence[str], folder: Path) -> list[dict[str, Any]]:
    """Each figure beneath `folder` that can be sent, as its path in a text part and its picture in an image part."""
    parts = []
    for path in paths:
        if (image := image_part(path, folder)) is not None:
            parts += [{"type": "text", "text": path}, image]
    return parts


def _attached(message: Message, *, send: bool) -> str | list[dict[str, Any]]:
    """A task with the pictures attached to it: text and image parts, or its text with a note for each not sent."""
    added = pictures.parts(message.pictures, send=send)
    if all(part == "text" for part, _ in added):
        return "\n\n".join([message.content, *(text for _, text in added)])
    return [{"type": "text", "text": message.content}, *(_part(part, value) for part, value in added)]


def _part(part: pictures.Part, value: str) -> dict[str, Any]:
    if part == "image":
        return {"type": "image_url", "image_url": {"url": value}}
    return {"type": "text", "text": value}


def carries_images(sent: Sequence[dict[str, Any]]) -> bool:
    """Whether a request's messages, in their wire form, hold an image part."""
    return any(
        isinstance(part, dict) and part.get("type") == "image_url"
        for message in sent
        if isinstance(message.get("content"), list)
        for part in message["content"]
    )


def _call(call: ToolCall, origin: str | None, server: str, sent_ids: dict[str, str]) -> dict[str, Any]:
    """One call's wire form: with its extras for the server that made it, under a portable id for another."""
    data = call.to_dict()
    data["function"]["arguments"] = object_arguments(call.arguments)
    if origin == server:
        return {**call.extras, **data}
    if origin is None:  # made by a Python API caller, or saved before origins were kept: its id as it was made
        return data
    sent_ids[call.id] = data["id"] = portable_id(call.id)
    return data


def object_arguments(arguments: str) -> str:
    """`arguments` if they are a JSON object, else an object holding them as text."""
    try:
        if isinstance(json.loads(arguments), dict):
            return arguments
    except (ValueError, RecursionError):  # not JSON, or nested too deeply for Python's parser
        pass
    return json.dumps({"unparsed_arguments": arguments})


def portable_id(call_id: str) -> str:
    """`call_id` if it is 9 letters and digits, else 9 made from its hash: the same id always gives the same ones."""
    if _PORTABLE_ID.fullmatch(call_id):
        return call_id
    number = int.from_bytes(hashlib.sha256(call_id.encode("utf-8", "surrogatepass")).digest()[:8])
    return "".join(_ALPHABET[(number // len(_ALPHABET) ** place) % len(_ALPHABET)] for place in range(9))
