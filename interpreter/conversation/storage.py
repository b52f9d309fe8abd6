"""Conversations on disk: the one module that reads, writes, lists, validates, locks and repairs their files.

A conversation file is JSON, rewritten atomically (temp file + rename) and readable only by its owner. Its id is its
file name: the id written inside is informational, so a copied file saves to its own name. A session holds an
exclusive lock (`.<id>.lock` beside it) on the conversation it writes, which the kernel drops when the process
dies, however it dies. Loading checks the schema, migrates older versions, replaces undecodable characters, and
answers tool calls that a killed session left unanswered, since an API refuses a conversation holding one.
"""

from __future__ import annotations

import contextlib
import json
import math
import os
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Final, get_args

from interpreter.conversation.locks import holder, is_held, lock, write_atomically
from interpreter.errors import ConversationInUse, FileRefused, HomeNotWritable, NoSuchConversation, StorageError
from interpreter.messages import Kind, Message, Picture, Role, ToolCall, valid_text
from interpreter.settings.directories import reason
from interpreter.trust.redaction import redact_url
from interpreter.trust.regular_files import read_regular
from interpreter.ui.words import counted

SCHEMA_VERSION: Final = 2  # 2: user messages carry their kind ("output" for code output), 1 did not
# Since version 2 too, optional: a server's `extras` on an assistant message and its tool calls, and the `origin`
# that produced them, redacted (see redaction.py); an older reader ignores them (and so sends the server without
# them, as it always did).
# Also optional, so version 2 still: the `model` that wrote an answer (a fallback's when one stood in); files written
# before it was kept have none, and an older reader ignores it. So too the `figures` of a code output: their paths,
# never the pictures, which are read from those files when a request is formed. So too the `reasoning` items the
# Responses API sent before an answer (opaque objects, kept for their `origin` alone). So too the conversation's
# `cost`, the USD its requests cost at known prices; files written before it have none (cost 0).
ENDED: Final = "not run: the session ended"  # the answer given to a tool call a killed session left unanswered
# Bytes a conversation file may weigh: 1,000 steps, each with a cell's output at the default cap (12,000 characters),
# weigh 15 MB (38 MB in a three-byte script such as Chinese), so no conversation a person had reaches this.
CONVERSATION_CAP: Final = 100_000_000
STALE_TEMP: Final = 10.0  # seconds after which an unheld temp file is a killed save's leftover, not one under way
# How version 1 told a user message carrying code output (--no-tools) from a task: read once, when migrating.
_V1_OUTPUT_HEADING: Final = "Output of block "


@dataclass
class Conversation:
    """One conversation: its id, when it began, the model used, its messages (the system message is not kept), and
    what its requests cost in USD, at the prices known (`cost`).

    `repaired` counts the tool calls answered with ENDED when it was loaded; it is not stored.
    """

    id: str
    created: str
    model: str
    messages: list[Message] = field(default_factory=list)
    cost: float = 0.0
    repaired: int = field(default=0, compare=False)

    @classmethod
    def new(cls, model: str, now: datetime | None = None) -> Conversation:
        """A fresh conversation with a sortable, unique id."""
        now = now or datetime.now(UTC)
        return cls(id=f"{now:%Y%m%d-%H%M%S}-{secrets.token_hex(2)}", created=now.isoformat(), model=model)

    def repair_note(self) -> str:
        """What the person is told once about the tool calls answered on load."""
        return f"repaired: {counted(self.repaired, 'code cell')} had no result (the session ended while it ran)"

    def copy(self) -> Conversation:
        """A new conversation, with its own id, holding this one's messages."""
        return replace(Conversation.new(self.model), messages=list(self.messages))


def to_json(conversation: Conversation) -> str:
    """The stored form: what conversation files, `%save FILE` and `export --format json` hold."""
    data = {
        "version": SCHEMA_VERSION,
        "id": conversation.id,
        "created": conversation.created,
        "model": conversation.model,
        "cost": conversation.cost,
        "messages": [_stored(message) for message in conversation.messages],
    }
    # A message made elsewhere (the Python API) may hold a lone surrogate, which no UTF-8 file or terminal can take.
    return valid_text(json.dumps(data, indent=1, ensure_ascii=False)) + "\n"


def from_json(text: str, source: Path) -> Conversation:
    """A conversation from its stored form, checked, migrated and repaired; StorageError naming `source` and why."""
    try:
        return _repaired(_conversation(json.loads(text)))
    except RecursionError as exc:  # Python's parser gives up on arrays or objects some thousands deep
        raise StorageError(f"cannot read {source}: its JSON is nested too deeply") from exc
    except ValueError as exc:
        raise StorageError(f"cannot read {source}: it is not JSON ({exc})") from exc
    except StorageError as exc:
        raise StorageError(f"cannot read {source}: {exc}") from exc


def read(path: Path) -> Conversation:
    """The conversation in the file at `path` (the id inside it as written); StorageError when it is not one.

    FileRefused when `path` is not a regular file (a FIFO, a device, a folder), is over CONVERSATION_CAP, or cannot
    be opened: checked on the open file, so a file swapped after any check by name is refused all the same.
    """
    data = read_regular(path, limit=CONVERSATION_CAP)
    return from_json(data.decode("utf-8", errors="replace"), path)


def write(conversation: Conversation, path: Path) -> None:
    """Write the conversation's stored form to `path` atomically, mode 0600; StorageError naming the file."""
    try:
        write_atomically(path, to_json(conversation))
    except OSError as exc:
        raise StorageError(f"cannot write {path}: {exc.strerror or exc}") from exc


@dataclass(frozen=True)
class Summary:
    """What a list of saved conversations shows of one: when it was last written, its first line, its size, and what
    its requests cost."""

    id: str
    updated: datetime  # local time
    first_line: str  # of the first user message; empty when there is none (or the file cannot be read)
    messages: int
    size: int  # bytes on disk
    readable: bool = True
    cost: float = 0.0  # USD


class ConversationStore:
    """The conversations folder under the home directory; `clock` is wall-clock time (as file times are)."""

    def __init__(self, folder: Path, *, clock: Callable[[], float] = time.time) -> None:
        self.folder = folder
        self._clock = clock
        self._held: tuple[str, int | None] | None = None  # (id, lock fd) of the conversation this session writes

    def save(self, conversation: Conversation) -> None:
        """Write the conversation to its file, holding its lock; ConversationInUse if another session holds it,
        HomeNotWritable (the file as it was left untouched) when the folder cannot be written: full, or denied."""
        path = self._path(conversation.id)
        try:
            self.folder.mkdir(parents=True, exist_ok=True, mode=0o700)
            self.hold(conversation.id)
            write_atomically(path, to_json(conversation))
        except OSError as exc:
            raise HomeNotWritable(f"cannot save the conversation in {self.folder} ({reason(exc)})") from exc

    def load(self, conversation_id: str) -> Conversation:
        """The conversation in the file named for this id; StorageError if there is none or it is not one,
        FileRefused if it is not a regular file or is too large."""
        path = self._path(conversation_id)
        if not os.path.lexists(path):
            raise NoSuchConversation(f"no conversation {conversation_id!r} in {self.folder}")
        return replace(read(path), id=conversation_id)  # the file's name, so saves go back to this file

    def latest(self) -> Conversation:
        """The most recently written conversation; StorageError if there is none."""
        ids = self.ids()
        if not ids:
            raise StorageError(f"no saved conversation to resume in {self.folder}")
        return self.load(ids[0])

    def hold(self, conversation_id: str) -> None:
        """Lock this conversation for this session alone (letting go of any other); ConversationInUse if taken.

        Where the lock file cannot be created (a read-only home) there is no lock: nothing can be saved there either.
        """
        if self._held is not None and self._held[0] == conversation_id and self._held[1] is not None:
            return
        self.release()
        path = self._lock_path(conversation_id)
        try:
            fd = lock(path) if self.folder.is_dir() else None
        except BlockingIOError as exc:
            where = f"open in another session ({holder(path)})"
            raise ConversationInUse(f"conversation {conversation_id} is {where}") from exc
        self._held = (conversation_id, fd)

    def release(self) -> None:
        """Let go of the conversation this session holds, if any."""
        if self._held is None:
            return
        conversation_id, fd = self._held
        self._held = None
        if fd is not None:
            with contextlib.suppress(OSError):  # already gone: nothing more to tidy
                self._lock_path(conversation_id).unlink()
            os.close(fd)

    def ids(self) -> list[str]:
        """The ids of the saved conversations, the most recently written first."""
        return [path.stem for path, _ in self._files_newest_first()]

    def summaries(self) -> list[Summary]:
        """Every saved conversation, the most recently written first (leftovers of killed saves are removed)."""
        self.sweep()
        return [self._summary(path, stat) for path, stat in self._files_newest_first()]

    def delete(self, conversation_id: str) -> None:
        """Remove the conversation with this id; NoSuchConversation if there is none, ConversationInUse if it is open.

        A conversation open in another session would be written again by that session's next save.
        """
        path = self._path(conversation_id)
        try:
            self.hold(conversation_id)
        except ConversationInUse as exc:
            raise ConversationInUse(f"{exc}: end that session first") from exc
        try:
            path.unlink()
        except FileNotFoundError as exc:
            raise NoSuchConversation(f"no conversation {conversation_id!r} in {self.folder}") from exc
        except OSError as exc:
            raise StorageError(f"cannot remove conversation {conversation_id!r} ({path}): {exc.strerror}") from exc
        finally:
            self.release()

    def sweep(self) -> None:
        """Remove the temp files of saves that were killed midway: older than STALE_TEMP and held by no writer."""
        for temp in self.folder.glob(".*.tmp") if self.folder.is_dir() else ():
            with contextlib.suppress(OSError):  # gone already, or not ours to remove: leave it
                if self._clock() - temp.stat().st_mtime > STALE_TEMP and not is_held(temp):
                    temp.unlink()

    def _summary(self, path: Path, stat: os.stat_result) -> Summary:
        """The summary of one stored conversation; an unreadable one is listed as such, not skipped."""
        updated = datetime.fromtimestamp(stat.st_mtime).astimezone()
        try:
            conversation = self.load(path.stem)
        except (StorageError, FileRefused):
            return Summary(path.stem, updated, "", 0, stat.st_size, readable=False)
        messages = conversation.messages
        first = next((m.content.strip() for m in messages if m.is_task), "")
        line = first.split("\n", 1)[0]
        return Summary(path.stem, updated, line, len(messages), stat.st_size, cost=conversation.cost)

    def _files_newest_first(self) -> list[tuple[Path, os.stat_result]]:
        """The conversation files with their stat, the most recently written first."""
        found = []
        for path in self.folder.glob("*.json") if self.folder.is_dir() else ():
            try:
                found.append((path, path.stat()))
            except FileNotFoundError:  # removed since the listing, by another session's `rm`
                continue
        return sorted(found, key=lambda entry: entry[1].st_mtime, reverse=True)

    def _lock_path(self, conversation_id: str) -> Path:
        """The lock file beside the conversation's file: hidden, so never listed as a conversation."""
        return self._path(conversation_id).with_name(f".{conversation_id}.lock")

    def _path(self, conversation_id: str) -> Path:
        if not conversation_id or "/" in conversation_id or conversation_id.startswith("."):
            raise NoSuchConversation(f"not a conversation id: {conversation_id!r}")
        return self.folder / f"{conversation_id}.json"


# ---- the stored form, checked -------------------------------------------------------------------------


def _stored(message: Message) -> dict[str, Any]:
    """One message as stored: its wire form; its kind when not plain text; a server's extras, and that server; the
    model that wrote it; the paths of the figures it names; the Responses API's reasoning items before it."""
    data = message.to_dict()
    if message.tool_calls:
        data["tool_calls"] = [_stored_call(call) for call in message.tool_calls]
    if message.kind != "text":
        data["kind"] = message.kind
    if message.extras:
        data["extras"] = dict(message.extras)
    if message.origin is not None:
        data["origin"] = redact_url(message.origin)  # a password or key in the api_base is never kept
    if message.model is not None:
        data["model"] = message.model
    if message.figures:
        data["figures"] = list(message.figures)
    if message.pictures:  # the path and hash of each picture attached, never its bytes
        data["pictures"] = [{"path": picture.path, "sha256": picture.sha256} for picture in message.pictures]
    if message.reasoning:
        data["reasoning"] = [dict(item) for item in message.reasoning]
    return data


def _stored_call(call: ToolCall) -> dict[str, Any]:
    """One tool call as stored: its wire form, and the server's extras beside it (not inside: they are not ours)."""
    data = call.to_dict()
    if call.extras:
        data["extras"] = dict(call.extras)
    return data


def _conversation(data: object) -> Conversation:
    """A conversation from parsed JSON; StorageError saying what does not fit the schema."""
    record = _object(data, "the file")
    version = record.get("version")
    if version not in (1, SCHEMA_VERSION):
        raise StorageError(f"unknown format version {version!r}")
    raw = _field(record, "messages", list, "the file")
    messages = [_message(item, f"message {number}") for number, item in enumerate(raw, start=1)]
    if version == 1:
        messages = [_v1_kind(message) for message in messages]
    return Conversation(
        id=_field(record, "id", str, "the file"),
        created=_field(record, "created", str, "the file"),
        model=_field(record, "model", str, "the file"),
        messages=messages,
        cost=_cost(record),
    )


def _cost(record: dict[str, Any]) -> float:
    """The conversation's cost in USD: 0 in a file from before costs were kept; StorageError when not a sum."""
    cost = record.get("cost", 0.0)
    if isinstance(cost, bool) or not isinstance(cost, int | float) or not 0 <= cost < math.inf:
        raise StorageError("the file has a 'cost' that is not a sum of dollars")
    return float(cost)


def _message(data: object, where: str) -> Message:
    """One message from parsed JSON, its undecodable characters replaced."""
    record = _object(data, where)
    role = _field(record, "role", str, where)
    if role not in get_args(Role):
        raise StorageError(f"{where} has an unknown role {role!r}")
    kind = record.get("kind", "text")
    if kind not in get_args(Kind):
        raise StorageError(f"{where} has an unknown kind {kind!r}")
    calls = _field(record, "tool_calls", list, where, default=[])
    return Message(
        role=role,
        content=_field(record, "content", str, where, default=""),
        tool_calls=tuple(_tool_call(call, f"a tool call of {where}") for call in calls),
        tool_call_id=_field(record, "tool_call_id", str, where, default=None),
        kind=kind,
        extras=_field(record, "extras", dict, where, default={}),
        origin=_origin(record, where),
        model=_field(record, "model", str, where, default=None),
        figures=_figures(record, where),
        pictures=_pictures(record, where),
        reasoning=_reasoning(record, where),
    ).valid()


def _pictures(record: dict[str, Any], where: str) -> tuple[Picture, ...]:
    """The pictures attached to a task, by path and SHA-256; StorageError when they are not a list of those."""
    items = _field(record, "pictures", list, where, default=[])
    fields = ("path", "sha256")
    if not all(isinstance(item, dict) and all(isinstance(item.get(key), str) for key in fields) for item in items):
        raise StorageError(f"{where} has a 'pictures' that is not a list of paths with their hashes")
    return tuple(Picture(item["path"], item["sha256"]) for item in items)


def _origin(record: dict[str, Any], where: str) -> str | None:
    """The server a message's extras belong to, redacted: a file saved by an older version may hold its password."""
    origin = _field(record, "origin", str, where, default=None)
    return None if origin is None else redact_url(origin)


def _figures(record: dict[str, Any], where: str) -> tuple[str, ...]:
    """The paths of the figures a message names; StorageError when they are not a list of text."""
    paths = _field(record, "figures", list, where, default=[])
    if not all(isinstance(path, str) for path in paths):
        raise StorageError(f"{where} has a 'figures' that is not a list of paths")
    return tuple(paths)


def _reasoning(record: dict[str, Any], where: str) -> tuple[dict[str, Any], ...]:
    """The Responses API's reasoning items kept with a message; StorageError when they are not a list of objects."""
    items = _field(record, "reasoning", list, where, default=[])
    if not all(isinstance(item, dict) for item in items):
        raise StorageError(f"{where} has a 'reasoning' that is not a list of objects")
    return tuple(items)


def _tool_call(data: object, where: str) -> ToolCall:
    """One tool call from parsed JSON, in its wire form."""
    record = _object(data, where)
    function = _object(record.get("function"), f"the function of {where}")
    name = _field(function, "name", str, where)
    arguments = _field(function, "arguments", str, where)
    return ToolCall(
        _field(record, "id", str, where), name, arguments, _field(record, "extras", dict, where, default={})
    )


def _object(data: object, where: str) -> dict[str, Any]:
    """`data` if it is a JSON object; StorageError otherwise."""
    if not isinstance(data, dict):
        raise StorageError(f"{where} is not a JSON object")
    return data


_REQUIRED: Any = object()


def _field(record: dict[str, Any], key: str, kind: type, where: str, *, default: Any = _REQUIRED) -> Any:
    """`record[key]`, checked to be a `kind` (null or missing gives `default`, when there is one)."""
    value = record.get(key)
    if value is None and default is not _REQUIRED:
        return default
    if value is None:
        raise StorageError(f"{where} has no {key!r}")
    if not isinstance(value, kind):
        raise StorageError(f"{where} has a {key!r} that is not {_TYPE_NAMES[kind]}")
    return value


_TYPE_NAMES: Final[dict[type, str]] = {str: "text", list: "a list", dict: "a JSON object"}


def _v1_kind(message: Message) -> Message:
    """Version 1 had no kinds: a user message carrying code output was told by its first words."""
    if message.role == "user" and message.content.startswith(_V1_OUTPUT_HEADING):
        return replace(message, kind="output")
    return message


def _repaired(conversation: Conversation) -> Conversation:
    """Every tool call answered: one a killed session left unanswered gets ENDED, right after the other answers."""
    messages: list[Message] = []
    waiting: list[str] = []  # ids of the latest assistant message's calls that no tool message answered yet
    for message in [*conversation.messages, None]:
        if message is None or message.role != "tool":
            messages += [Message("tool", ENDED, tool_call_id=call_id) for call_id in waiting]
            conversation.repaired += len(waiting)
            waiting = [call.id for call in message.tool_calls] if message is not None else []
        else:
            waiting = [call_id for call_id in waiting if call_id != message.tool_call_id]
        if message is not None:
            messages.append(message)
    conversation.messages = messages
    return conversation
