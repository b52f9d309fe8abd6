"""Open Interpreter's LMC messages, both ways: a conversation of theirs as messages of ours, ours as theirs, and a
session's events as their streamed chunks.

An LMC message is `{"role": "user"|"assistant"|"computer", "type": ..., "format": ..., "content": ...}`
(docs.openinterpreter.com/protocols/lmc-messages). Open Interpreter 0.4.3 saves a conversation as a JSON list of
them (`_streaming_chat` in its `interpreter/core/core.py`) in `conversations/` under
`platformdirs.user_config_dir("open-interpreter")` (its `terminal_interface/utils/local_storage_path.py`).
Its code message is a call of our one tool: an assistant `code` message becomes an assistant message calling
`execute`, with an id made from its place in the list, and the `console` output after it the tool message answering
that call. Pictures are not carried over (a note names them); a type this module does not know becomes a note, never
a failure. Only a file that is not a list of objects with a role is refused.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from interpreter.errors import StorageError
from interpreter.messages import (
    CodeProposed,
    Event,
    Figure,
    Message,
    OutputChunk,
    Role,
    TextDelta,
    ToolCall,
)
from interpreter.model import tool
from interpreter.trust.regular_files import read_regular

if TYPE_CHECKING:
    from interpreter.conversation.storage import Conversation

LMC = dict[str, Any]
ROLES = ("user", "assistant", "computer", "system")
NO_OUTPUT = "(no output)"  # what the model is told of a code message no output followed, as of a silent cell


# ---- theirs -> ours ----------------------------------------------------------------------------------


def to_messages(lmc: object) -> list[Message]:
    """Our messages for an LMC list; StorageError saying which message is wrong when it is not one."""
    if not isinstance(lmc, list):
        raise StorageError("an Open Interpreter conversation is a JSON list of messages, and this is not a list")
    builder = _Builder()
    for number, message in enumerate(lmc, start=1):
        builder.add(number, _checked(number, message))
    return builder.finished()


def _checked(number: int, message: object) -> LMC:
    """`message` when it is an LMC message (an object with a known role); StorageError naming it otherwise."""
    if not isinstance(message, dict):
        raise StorageError(f"message {number} is not a JSON object")
    role = message.get("role")
    if role not in ROLES:
        if role is None:
            raise StorageError(f"message {number} has no role")
        raise StorageError(f"message {number} has the role {role!r}; LMC roles are {', '.join(ROLES)}")
    return message


@dataclass
class _Builder:
    """Our messages, built one LMC message at a time; a code call waits for the output that answers it."""

    messages: list[Message] = field(default_factory=list)
    pending: ToolCall | None = None  # the last code call, until an output or the next message answers it

    def add(self, number: int, message: LMC) -> None:
        """Add one LMC message."""
        role, kind, form = message["role"], message.get("type", "message"), message.get("format")
        content = _text(message.get("content"))
        if role == "system" or form == "active_line" or kind == "confirmation":
            return  # the system message is this tool's own; the others are signals of a run, not messages
        if role == "assistant" and kind == "code":
            self._code(number, str(form or ""), content)
        elif kind == "console":
            self._output(content)
        else:
            self._say("assistant" if role == "assistant" else "user", _note(kind, form, content))

    def finished(self) -> list[Message]:
        """The messages, the last code call answered, as valid UTF-8 (a JSON escape may hold a lone surrogate)."""
        self._answer()
        return [message.valid() for message in self.messages]

    def _code(self, number: int, language: str, code: str) -> None:
        """An assistant message calling `execute`, after any text it said before (one message, as a model sends)."""
        self._answer()
        call = ToolCall(f"call_oi_{number}", tool.TOOL_NAME, json.dumps({"language": language, "code": code}))
        last = self.messages[-1] if self.messages else None
        if last is not None and last.role == "assistant" and not last.tool_calls:
            self.messages[-1] = replace(last, tool_calls=(call,))
        else:
            self.messages.append(Message("assistant", "", tool_calls=(call,)))
        self.pending = call

    def _output(self, content: str) -> None:
        """The tool message answering the pending call; more output of the same run is added to it."""
        last = self.messages[-1] if self.messages else None
        if self.pending is not None:
            self.messages.append(Message("tool", content, tool_call_id=self.pending.id))
            self.pending = None
        elif last is not None and last.role == "tool":
            self.messages[-1] = replace(last, content=last.content + content)
        else:  # output of no code: code output sent back as the person's message, as without tools
            self.messages.append(Message("user", content, kind="output"))

    def _say(self, role: Role, content: str) -> None:
        """A text message (after answering any pending call: a call must be answered before anything follows)."""
        self._answer()
        self.messages.append(Message(role, content))

    def _answer(self) -> None:
        """Answer a code call no output followed: a server refuses a conversation holding an unanswered call."""
        if self.pending is not None:
            self.messages.append(Message("tool", NO_OUTPUT, tool_call_id=self.pending.id))
            self.pending = None


def _text(content: object) -> str:
    """A message's content as text: a string as it is, nothing as empty, anything else as its JSON."""
    if isinstance(content, str):
        return content
    return "" if content is None else json.dumps(content, ensure_ascii=False)


def _note(kind: object, form: object, content: str) -> str:
    """The text a message of `kind` becomes: a message's own text, else a note saying what was there."""
    if kind == "message":
        return content
    if kind == "image":
        if form == "path":
            return f"[an image: {content}]"
        return f"[an image ({form or 'no format'}) was shown here; it was not carried over]"
    if kind == "file":
        return f"[a file: {content}]"
    return f"[an Open Interpreter message of type {kind!r}: {content}]"


# ---- ours -> theirs ----------------------------------------------------------------------------------


def from_messages(messages: Iterable[Message]) -> list[LMC]:
    """The LMC form of our messages (the system message is ours, and left out)."""
    return [lmc for message in messages for lmc in _lmc(message)]


def _lmc(message: Message) -> Iterator[LMC]:
    """The LMC messages one of ours becomes: text, then one code message per call; an output and its figures."""
    if message.is_output:
        yield _console(message.content)
        yield from (
            {"role": "computer", "type": "image", "format": "path", "content": path} for path in message.figures
        )
    elif message.role in ("user", "assistant"):
        if message.content:
            yield {"role": message.role, "type": "message", "content": message.content}
        yield from (_code(call) for call in message.tool_calls)


def _code(call: ToolCall) -> LMC:
    """A call of `execute` as an LMC code message; any other call as a note."""
    try:
        cell = tool.parse(call)
    except tool.BadCall:
        return {"role": "assistant", "type": "message", "content": f"[a tool call that could not be read: {call.name}]"}
    return {"role": "assistant", "type": "code", "format": cell.language, "content": cell.code}


def _console(text: str) -> LMC:
    return {"role": "computer", "type": "console", "format": "output", "content": text}


# ---- a session's events -> streamed chunks ---------------------------------------------------------


def pieces(event: Event) -> list[LMC]:
    """The LMC chunks an event of a session is, as Open Interpreter streams them (without start and end flags)."""
    if isinstance(event, TextDelta):
        return [{"role": "assistant", "type": "message", "content": event.text}]
    if isinstance(event, CodeProposed):
        code = {"type": "code", "format": event.cell.language, "content": event.cell.code}
        return [
            {"role": "assistant", **code},
            {"role": "computer", "type": "confirmation", "format": "execution", "content": code},
        ]
    if isinstance(event, OutputChunk):
        return [_console(event.text)]
    if isinstance(event, Figure):
        return [{"role": "computer", "type": "image", "format": "path", "content": event.path}]
    return []


class Flags:
    """Wraps streamed chunks in `start` and `end` flags, one pair around each message, as Open Interpreter 0.4.3's
    `_respond_and_store` does: a console flag carries no format; a confirmation ends the message before it."""

    def __init__(self) -> None:
        self._open: LMC | None = None  # the flag base of the message being streamed

    def feed(self, chunk: LMC) -> list[LMC]:
        """`chunk`, with the flags that go before it."""
        if chunk["content"] == "":
            return []
        if chunk["type"] == "confirmation":
            return [*self.end(), chunk]
        base = {"role": chunk["role"], "type": chunk["type"]}
        if chunk["type"] != "console":
            base["format"] = chunk.get("format")
        base = {name: value for name, value in base.items() if value is not None}
        if base == self._open:
            return [chunk]
        ended = self.end()
        self._open = base
        return [*ended, {**base, "start": True}, chunk]

    def end(self) -> list[LMC]:
        """The end flag of the message being streamed, if any."""
        if self._open is None:
            return []
        ended, self._open = self._open, None
        return [{**ended, "end": True}]


# ---- a file the person named -------------------------------------------------------------------------


def read_conversation(path: Path, model: str) -> Conversation:
    """The conversation in the file at `path`: an Open Interpreter one (a JSON list), as a new conversation of ours
    for `model`, or one of ours, as `storage` reads it. StorageError naming the file when it is neither."""
    # Here, not at the top: `from interpreter import interpreter` converts messages, and need not load the store.
    from interpreter.conversation import storage  # noqa: PLC0415

    data = read_regular(path, limit=storage.CONVERSATION_CAP)  # FileRefused for a FIFO, a device, a huge file
    if not data.lstrip().startswith(b"["):
        return storage.from_bytes(data, path)  # ours: storage alone knows its format
    with storage.reading(path):  # StorageError naming the file, as for one of ours
        messages = to_messages(json.loads(storage.decoded(data)))
    conversation = storage.Conversation.new(model)
    conversation.messages = messages
    return conversation
