"""Conversations on disk: one JSON file each, rewritten atomically, readable only by their owner."""

from __future__ import annotations

import json
import os
import secrets
import tempfile
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from interpreter.errors import NoSuchConversation, StorageError
from interpreter.messages import Message

SCHEMA_VERSION = 1


@dataclass
class Conversation:
    """One conversation: its id, when it began, the model used, and its messages (the system message is not kept)."""

    id: str
    created: str
    model: str
    messages: list[Message] = field(default_factory=list)

    @classmethod
    def new(cls, model: str, now: datetime | None = None) -> Conversation:
        """A fresh conversation with a sortable, unique id."""
        now = now or datetime.now(UTC)
        return cls(id=f"{now:%Y%m%d-%H%M%S}-{secrets.token_hex(2)}", created=now.isoformat(), model=model)

    def to_dict(self) -> dict[str, Any]:
        """The stored form."""
        return {
            "version": SCHEMA_VERSION,
            "id": self.id,
            "created": self.created,
            "model": self.model,
            "messages": [m.to_dict() for m in self.messages],
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Conversation:
        """Read the stored form back."""
        if data.get("version") != SCHEMA_VERSION:
            raise StorageError(f"conversation {data.get('id')!r} has an unknown format version {data.get('version')!r}")
        messages = [Message.from_dict(m) for m in data["messages"]]
        return cls(id=data["id"], created=data["created"], model=data["model"], messages=messages)


@dataclass(frozen=True)
class Summary:
    """What a list of saved conversations shows of one: when it was last written, its first line, its size."""

    id: str
    updated: datetime  # local time
    first_line: str  # of the first user message; empty when there is none (or the file cannot be read)
    messages: int
    size: int  # bytes on disk
    readable: bool = True


class ConversationStore:
    """The conversations folder under the home directory."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder

    def save(self, conversation: Conversation) -> None:
        """Write the conversation atomically (temp file + rename), mode 0600."""
        try:
            self.folder.mkdir(parents=True, exist_ok=True, mode=0o700)
            _write_atomically(self._path(conversation.id), json.dumps(conversation.to_dict(), indent=1))
        except OSError as exc:
            raise StorageError(f"cannot save the conversation in {self.folder}: {exc.strerror}") from exc

    def load(self, conversation_id: str) -> Conversation:
        """The conversation with this id; StorageError if there is none or it cannot be read."""
        path = self._path(conversation_id)
        if not path.is_file():
            raise NoSuchConversation(f"no conversation {conversation_id!r} in {self.folder}")
        try:
            return Conversation.from_dict(json.loads(path.read_text(encoding="utf-8")))
        except (OSError, ValueError, KeyError, TypeError) as exc:
            raise StorageError(f"cannot read conversation {conversation_id!r} ({path}): {exc}") from exc

    def latest(self) -> Conversation:
        """The most recently written conversation; StorageError if there is none."""
        ids = self.ids()
        if not ids:
            raise StorageError(f"no saved conversation to resume in {self.folder}")
        return self.load(ids[0])

    def ids(self) -> list[str]:
        """The ids of the saved conversations, the most recently written first."""
        return [path.stem for path, _ in self._files_newest_first()]

    def summaries(self) -> list[Summary]:
        """Every saved conversation, the most recently written first."""
        return [self._summary(path, stat) for path, stat in self._files_newest_first()]

    def delete(self, conversation_id: str) -> None:
        """Remove the conversation with this id; NoSuchConversation if there is none."""
        path = self._path(conversation_id)
        try:
            path.unlink()
        except FileNotFoundError as exc:
            raise NoSuchConversation(f"no conversation {conversation_id!r} in {self.folder}") from exc
        except OSError as exc:
            raise StorageError(f"cannot remove conversation {conversation_id!r} ({path}): {exc.strerror}") from exc

    def _summary(self, path: Path, stat: os.stat_result) -> Summary:
        """The summary of one stored conversation; an unreadable one is listed as such, not skipped."""
        updated = datetime.fromtimestamp(stat.st_mtime).astimezone()
        try:
            messages = self.load(path.stem).messages
        except StorageError:
            return Summary(path.stem, updated, "", 0, stat.st_size, readable=False)
        first = next((m.content.strip() for m in messages if m.role == "user"), "")
        return Summary(path.stem, updated, first.split("\n", 1)[0], len(messages), stat.st_size)

    def _files_newest_first(self) -> list[tuple[Path, os.stat_result]]:
        """The conversation files with their stat, the most recently written first."""
        found = []
        for path in self.folder.glob("*.json") if self.folder.is_dir() else ():
            try:
                found.append((path, path.stat()))
            except FileNotFoundError:  # removed since the listing, by another session's `rm`
                continue
        return sorted(found, key=lambda entry: entry[1].st_mtime, reverse=True)

    def _path(self, conversation_id: str) -> Path:
        if not conversation_id or "/" in conversation_id or conversation_id.startswith("."):
            raise NoSuchConversation(f"not a conversation id: {conversation_id!r}")
        return self.folder / f"{conversation_id}.json"


def _write_atomically(path: Path, text: str) -> None:
    """Write `text` to a private temp file beside `path`, then rename it over `path`."""
    fd, temp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.stem}.", suffix=".tmp")  # mkstemp makes it 0600
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as file:
            file.write(text)
            file.flush()
            os.fsync(file.fileno())
        os.replace(temp, path)
    except BaseException:
        Path(temp).unlink(missing_ok=True)
        raise
