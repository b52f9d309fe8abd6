"""Conversations on disk."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from interpreter.errors import NoSuchConversation, StorageError
from interpreter.messages import Message, ToolCall
from interpreter.storage import Conversation, ConversationStore


def test_a_saved_conversation_loads_back_identical_and_private(tmp_path: Path) -> None:
    store = ConversationStore(tmp_path / "conversations")
    conversation = Conversation.new("gpt-4o")
    conversation.messages += [
        Message("user", "hi"),
        Message("assistant", "", tool_calls=(ToolCall("c1", "execute", '{"language":"python","code":"1"}'),)),
        Message("tool", "1", tool_call_id="c1"),
    ]
    store.save(conversation)
    path = tmp_path / "conversations" / f"{conversation.id}.json"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert store.load(conversation.id) == conversation
    store.release()
    assert [p.name for p in path.parent.iterdir()] == [path.name]  # no temp file, and no lock once let go


def test_latest_is_the_most_recently_written(tmp_path: Path) -> None:
    store = ConversationStore(tmp_path)
    first, second = Conversation.new("m"), Conversation.new("m")
    store.save(second)
    store.save(first)
    assert store.latest().id == first.id


def test_missing_and_broken_conversations_are_storage_errors(tmp_path: Path) -> None:
    store = ConversationStore(tmp_path)
    with pytest.raises(StorageError, match="no saved conversation"):
        store.latest()
    with pytest.raises(StorageError, match="no conversation 'nope'"):
        store.load("nope")
    (tmp_path / "broken.json").write_text("{not json")
    with pytest.raises(StorageError, match=f"cannot read {tmp_path / 'broken.json'}: it is not JSON"):
        store.load("broken")
    with pytest.raises(StorageError, match="not a conversation id"):
        store.load("../etc/passwd")


def saved(store: ConversationStore, first: str, *, at: float, messages: int = 2) -> Conversation:
    """A saved conversation whose first user message is `first`, written at time `at`."""
    conversation = Conversation.new("m")
    conversation.messages += [Message("user", first), Message("assistant", "ok")][:messages]
    store.save(conversation)
    os.utime(store.folder / f"{conversation.id}.json", (at, at))
    return conversation


def test_summaries_list_the_newest_first_with_the_first_line(tmp_path: Path) -> None:
    store = ConversationStore(tmp_path)
    old = saved(store, "plot sales.csv\nand label the axes", at=1_000_000)
    new = saved(store, "  count the files  ", at=2_000_000, messages=1)
    (tmp_path / "broken.json").write_text("{not json")
    os.utime(tmp_path / "broken.json", (500_000, 500_000))
    summaries = store.summaries()
    assert [s.id for s in summaries] == [new.id, old.id, "broken"] == store.ids()
    assert [(s.first_line, s.messages, s.readable) for s in summaries] == [
        ("count the files", 1, True),
        ("plot sales.csv", 2, True),
        ("", 0, False),
    ]
    assert summaries[1].size == (tmp_path / f"{old.id}.json").stat().st_size
    assert summaries[0].updated.timestamp() == 2_000_000


def test_delete_removes_the_file_and_an_unknown_id_is_no_such_conversation(tmp_path: Path) -> None:
    store = ConversationStore(tmp_path)
    conversation = saved(store, "hi", at=1_000_000)
    store.delete(conversation.id)
    assert list(tmp_path.iterdir()) == []
    with pytest.raises(NoSuchConversation, match=f"no conversation '{conversation.id}'"):
        store.delete(conversation.id)
    with pytest.raises(NoSuchConversation, match="not a conversation id"):
        store.delete("../config")
