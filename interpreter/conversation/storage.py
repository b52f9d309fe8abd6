"""Conversations on disk: the one module that reads, writes, lists, validates, locks and repairs their files.

A conversation file (`<id>.jsonl`) is JSON Lines, readable only by its owner: a header line (the `format`, the
version, id, creation time, model and cost), then one line per message. A save appends only what is new and syncs
it; where the conversation no longer begins with what the file holds (an %undo, a repair, a copy), the file is
rewritten whole, atomically (temp file + rename), as is a file an older version wrote as one JSON document
(`<id>.json`, removed once its successor is in place). A cost that changed is a `{"set": {"cost": ...}}` line: the
last one wins. A crash mid-append can only tear the last line, which reading drops (and logs); every other line
must be whole. `%save` and `export` still write the one JSON document (`to_json`), and `read` takes either form.

Its id is its file name: the id written inside is informational, so a copied file saves to its own name. A session
holds an exclusive lock (`.<id>.lock` beside it) on the conversation it writes, which the kernel drops when the
process dies, however it dies. Loading checks the schema, migrates older versions, replaces undecodable characters,
and answers tool calls that a killed session left unanswered, since an API refuses a conversation holding one.
"""

from __future__ import annotations

import contextlib
import json
import logging
import math
import os
import secrets
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Final, get_args

from interpreter.conversation.locks import append, holder, is_held, lock, write_atomically
from interpreter.errors import ConversationInUse, FileRefused, HomeNotWritable, NoSuchConversation, StorageError
from interpreter.messages import Kind, Message, Picture, Role, ToolCall, valid_text
from interpreter.resilience.diagnostics import LOGGER_NAME
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
LINES: Final = "jsonl"  # the `format` a conversation file's header line names; a file without one is one document
SUFFIX: Final = ".jsonl"  # a conversation file's, in JSON Lines
OLD_SUFFIX: Final = ".json"  # a conversation file's as versions before JSON Lines wrote it: migrated on first save
_log = logging.getLogger(f"{LOGGER_NAME}.conversation")


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
    """A conversation from either stored form (JSON Lines, or one JSON document), checked, migrated and repaired;
    StorageError naming `source` and why."""
    return _parsed(text, source)[0]


def read(path: Path) -> Conversation:
    """The conversation in the file at `path`, in either form (the id inside it as written); StorageError when it is
    not one. The one entry point for a conversation file a person names (`%load`).

    FileRefused when `path` is not a regular file (a FIFO, a device, a folder), is over CONVERSATION_CAP, or cannot
    be opened: checked on the open file, so a file swapped after any check by name is refused all the same.
    """
    return from_bytes(read_regular(path, limit=CONVERSATION_CAP), path)


def from_bytes(data: bytes, source: Path) -> Conversation:
    """A conversation from the bytes of a file in either stored form, read as `from_json` reads text."""
    return from_json(decoded(data), source)


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
        self._written: _Written | None = None  # what the file of the conversation last read or written holds

    def save(self, conversation: Conversation) -> None:
        """Write what is new of the conversation to its file, holding its lock; ConversationInUse if another session
        holds it, HomeNotWritable (what was saved before kept) when the folder cannot be written: full, or denied."""
        path = self._path(conversation.id)
        try:
            self.folder.mkdir(parents=True, exist_ok=True, mode=0o700)
            self.hold(conversation.id)
            self._write(conversation, path)
        except OSError as exc:
            raise HomeNotWritable(f"cannot save the conversation in {self.folder} ({reason(exc)})") from exc

    def load(self, conversation_id: str) -> Conversation:
        """The conversation in the file named for this id; StorageError if there is none or it is not one,
        FileRefused if it is not a regular file or is too large."""
        path = self._file(conversation_id)
        before = _identity(path)  # taken first: a file changed after it is never appended to
        data = read_regular(path, limit=CONVERSATION_CAP)
        conversation, held = _parsed(decoded(data), path)
        conversation = replace(conversation, id=conversation_id)  # the file's name, so saves go back to this file
        if held is not None and before is not None and before[1] == len(data):
            self._written = _Written.of(conversation, held, before)
        return conversation

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
        path = self._file(conversation_id)
        try:
            self.hold(conversation_id)
        except ConversationInUse as exc:
            raise ConversationInUse(f"{exc}: end that session first") from exc
        try:
            for each in (path, self._old_path(conversation_id)):  # both, where a migration was cut short
                each.unlink(missing_ok=True)
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

    def _write(self, conversation: Conversation, path: Path) -> None:
        """Append what is new to the conversation's file; rewrite it whole where it does not hold the conversation's
        beginning (or this session does not know what it holds)."""
        # Not known again until this write is whole: one cut short (a full disk) may leave part of a line, so the
        # next save rewrites the file.
        written, self._written = self._written, None
        tail = written.tail(conversation) if written is not None else None
        if written is None or tail is None:
            self._compact(conversation, path)
            return
        file = append(path, tail.encode("utf-8"), expected=written.file) if tail else written.file
        if file is None:
            self._compact(conversation, path)  # the file is not as this session left it: write it whole
            return
        written.grew(conversation, file)
        self._written = written

    def _compact(self, conversation: Conversation, path: Path) -> None:
        """Rewrite the conversation's file whole, atomically; an older version's file of it goes once this is in."""
        status = write_atomically(path, _file_text(conversation))
        self._written = _Written.of(conversation, list(conversation.messages), (status.st_ino, status.st_size))
        with contextlib.suppress(OSError):  # left behind, it is harmless: the JSON Lines file beside it is read
            self._old_path(conversation.id).unlink(missing_ok=True)

    def _summary(self, path: Path, stat: os.stat_result) -> Summary:
        """The summary of one stored conversation; an unreadable one is listed as such, not skipped."""
        updated = datetime.fromtimestamp(stat.st_mtime).astimezone()
        try:
            conversation = read(path)
        except (StorageError, FileRefused):
            return Summary(path.stem, updated, "", 0, stat.st_size, readable=False)
        messages = conversation.messages
        first = next((m.content.strip() for m in messages if m.is_task), "")
        line = first.split("\n", 1)[0]
        return Summary(path.stem, updated, line, len(messages), stat.st_size, cost=conversation.cost)

    def _files_newest_first(self) -> list[tuple[Path, os.stat_result]]:
        """The conversation files with their stat, the most recently written first; one per id (where a migration
        left both, the JSON Lines file, as `load` reads)."""
        found: dict[str, tuple[Path, os.stat_result]] = {}
        for suffix in (OLD_SUFFIX, SUFFIX) if self.folder.is_dir() else ():
            for path in self.folder.glob(f"*{suffix}"):
                try:
                    found[path.stem] = (path, path.stat())
                except FileNotFoundError:  # removed since the listing, by another session's `rm`
                    continue
        return sorted(found.values(), key=lambda entry: entry[1].st_mtime, reverse=True)

    def _file(self, conversation_id: str) -> Path:
        """The file holding this conversation: its JSON Lines, else an older version's JSON; NoSuchConversation."""
        for path in (self._path(conversation_id), self._old_path(conversation_id)):
            if os.path.lexists(path):
                return path
        raise NoSuchConversation(f"no conversation {conversation_id!r} in {self.folder}")

    def _lock_path(self, conversation_id: str) -> Path:
        """The lock file beside the conversation's file: hidden, so never listed as a conversation."""
        return self._path(conversation_id).with_name(f".{conversation_id}.lock")

    def _path(self, conversation_id: str) -> Path:
        if not conversation_id or "/" in conversation_id or conversation_id.startswith("."):
            raise NoSuchConversation(f"not a conversation id: {conversation_id!r}")
        return self.folder / f"{conversation_id}{SUFFIX}"

    def _old_path(self, conversation_id: str) -> Path:
        """Where a version before JSON Lines kept this conversation."""
        return self._path(conversation_id).with_suffix(OLD_SUFFIX)


def _identity(path: Path) -> tuple[int, int] | None:
    """The (inode, size) of the file at `path`; None when there is none."""
    try:
        status = path.stat()
    except OSError:
        return None
    return status.st_ino, status.st_size


@dataclass
class _Written:
    """What a conversation file holds, as this session last read or wrote it: whose it is, its messages (the very
    objects, so that one replaced in memory is told apart, however alike), its cost, and the file's (inode, size)."""

    id: str
    created: str
    model: str
    messages: list[Message]
    cost: float
    file: tuple[int, int]

    @classmethod
    def of(cls, conversation: Conversation, messages: list[Message], file: tuple[int, int]) -> _Written:
        """What the file holds, written from (or read into) `conversation`, with `messages` as it holds them."""
        return cls(conversation.id, conversation.created, conversation.model, messages, conversation.cost, file)

    def tail(self, conversation: Conversation) -> str | None:
        """The lines that bring the file up to `conversation` where it only grew since ("" if it did not change);
        None when it no longer begins with what the file holds (an %undo, a repair, another conversation)."""
        count = len(self.messages)
        header = (conversation.id, conversation.created, conversation.model)
        if header != (self.id, self.created, self.model) or len(conversation.messages) < count:
            return None
        if any(held is not message for held, message in zip(self.messages, conversation.messages, strict=False)):
            return None
        cost = [] if conversation.cost == self.cost else [_line({"set": {"cost": conversation.cost}})]
        return "".join(cost + [_line(_stored(message)) for message in conversation.messages[count:]])

    def grew(self, conversation: Conversation, file: tuple[int, int]) -> None:
        """The file now holds `conversation` (appended to), and is `file`."""
        self.messages += conversation.messages[len(self.messages) :]
        self.cost = conversation.cost
        self.file = file


# ---- the stored form, checked -------------------------------------------------------------------------


def _file_text(conversation: Conversation) -> str:
    """A conversation file's text, whole: its header line, then one line per message."""
    return _line(_header(conversation)) + "".join(_line(_stored(message)) for message in conversation.messages)


def _header(conversation: Conversation) -> dict[str, Any]:
    """A conversation file's first line: what it is, and all that the one JSON document holds but the messages."""
    return {
        "format": LINES,
        "version": SCHEMA_VERSION,
        "id": conversation.id,
        "created": conversation.created,
        "model": conversation.model,
        "cost": conversation.cost,
    }


def _line(record: dict[str, Any]) -> str:
    """One record as one line: JSON escapes every line break inside text, so a newline only ever ends a record."""
    # A message made elsewhere (the Python API) may hold a lone surrogate, which no UTF-8 file can take.
    return valid_text(json.dumps(record, ensure_ascii=False)) + "\n"


@contextlib.contextmanager
def reading(source: Path) -> Iterator[None]:
    """StorageError naming `source` and why, for whatever fails reading a conversation from it."""
    try:
        yield
    except RecursionError as exc:  # Python's parser gives up on arrays or objects some thousands deep
        raise StorageError(f"cannot read {source}: its JSON is nested too deeply") from exc
    except ValueError as exc:
        raise StorageError(f"cannot read {source}: it is not JSON ({exc})") from exc
    except StorageError as exc:
        raise StorageError(f"cannot read {source}: {exc}") from exc


def decoded(data: bytes) -> str:
    """A file's text, its bytes that are not UTF-8 replaced (U+FFFD)."""
    return data.decode("utf-8", errors="replace")


def _parsed(text: str, source: Path) -> tuple[Conversation, list[Message] | None]:
    """A conversation from a file's text, in either form, checked, migrated and repaired; and the messages the file
    holds as read, when new lines may be appended to it (None: a file with a torn end, or one JSON document)."""
    with reading(source):
        if not _is_lines(text):
            return _repaired(_conversation(json.loads(text))), None
        conversation, whole = _from_lines(text, source)
        held = list(conversation.messages) if whole else None
        return _repaired(conversation), held


def _is_lines(text: str) -> bool:
    """Whether `text` is JSON Lines: a first line that is a header saying so (else it is one JSON document)."""
    try:
        header = json.loads(text.partition("\n")[0])
    except ValueError:
        return False
    return isinstance(header, dict) and header.get("format") == LINES


def _from_lines(text: str, source: Path) -> tuple[Conversation, bool]:
    """A conversation from its JSON Lines, not yet repaired; and whether the file ends whole (else its last line was
    torn, and dropped, or lacks its newline)."""
    records, whole = _records(text, source)
    header = records[0]
    if header.get("version") != SCHEMA_VERSION:
        raise StorageError(f"unknown format version {header.get('version')!r}")
    conversation = Conversation(
        id=_field(header, "id", str, "the header"),
        created=_field(header, "created", str, "the header"),
        model=_field(header, "model", str, "the header"),
        cost=_cost(header, "the header"),
    )
    for number, record in enumerate(records[1:], start=2):
        if record.keys() == {"set"}:
            changed = _object(record["set"], f"the change on line {number}")
            conversation.cost = _cost(changed, f"line {number}") if "cost" in changed else conversation.cost
        else:
            conversation.messages.append(_message(record, f"line {number}"))
    return conversation, whole


def _records(text: str, source: Path) -> tuple[list[dict[str, Any]], bool]:
    """Each line's JSON object; and whether the text ends whole. A last line that is not JSON was torn by a crash
    mid-append: dropped, and logged; any other line that is not is an error."""
    lines = text.split("\n")  # not splitlines: U+2028 and the like, which JSON leaves unescaped, are in the text
    torn = lines.pop()  # what follows the last newline: nothing, unless the last write was cut short
    lines += [torn] if torn else []
    records = []
    for number, line in enumerate(lines, start=1):
        try:
            records.append(_object(json.loads(line), f"line {number}"))
        except json.JSONDecodeError as exc:
            problem = f"{exc.msg}: column {exc.colno}"  # json says "line 1" of the line alone
            if number < len(lines) or number == 1:
                raise StorageError(f"line {number} is not JSON ({problem})") from exc
            _log.warning("%s: dropped its last line, cut short when a session ended mid-save (%s)", source, problem)
            return records, False
    return records, not torn


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


def _cost(record: dict[str, Any], where: str = "the file") -> float:
    """The conversation's cost in USD: 0 in a file from before costs were kept; StorageError when not a sum."""
    cost = record.get("cost", 0.0)
    if isinstance(cost, bool) or not isinstance(cost, int | float) or not 0 <= cost < math.inf:
        raise StorageError(f"{where} has a 'cost' that is not a sum of dollars")
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
