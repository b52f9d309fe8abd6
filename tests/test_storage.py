"""Conversations on disk."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest

from interpreter.errors import StorageError
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
    assert [p.name for p in path.parent.iterdir()] == [path.name]  # no temp file left behind


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
    with pytest.raises(StorageError, match="cannot read conversation 'broken'"):
        store.load("broken")
    with pytest.raises(StorageError, match="not a conversation id"):
        store.load("../etc/passwd")
