"""The Keeper: where the conversation is saved while the home cannot be written, and the one line said about it.

The store here is a real one whose home can be made to refuse writes as a full disk does; tests/test_full_home.py
meets a real full disk.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from interpreter.conversation import storage
from interpreter.conversation.keeper import Keeper
from interpreter.conversation.storage import Conversation, ConversationStore
from interpreter.errors import HomeNotWritable
from interpreter.messages import Message


@pytest.fixture
def spares(tmp_path: Path) -> Path:
    folder = tmp_path / "spares"
    folder.mkdir()
    return folder


def spare_files(folder: Path) -> list[Path]:
    return sorted(folder.glob("interpreter-*.json"))


class FlakyStore(ConversationStore):
    """A conversation store whose home can be made to refuse writes, as a full disk does."""

    full = False

    def save(self, conversation: Conversation) -> None:
        if self.full:
            raise HomeNotWritable(f"cannot save the conversation in {self.folder} (no space left on device)")
        super().save(conversation)


class Lines:
    def __init__(self) -> None:
        self.said: list[str] = []
        self.verbose: list[str] = []


@pytest.fixture
def lines() -> Lines:
    return Lines()


def keeper_on(store: ConversationStore, lines: Lines, spares: Path) -> Keeper:
    return Keeper(store, say=lines.said.append, verbose=lines.verbose.append, spares=spares)


def test_the_keeper_says_once_where_the_conversation_went_and_once_that_it_came_back(
    tmp_path: Path, spares: Path, lines: Lines
) -> None:
    store = FlakyStore(tmp_path / "conversations")
    keeper = keeper_on(store, lines, spares)
    conversation = Conversation.new("gpt-4o")
    conversation.messages.append(Message("user", "one"))
    keeper.save(conversation)
    store.full = True
    for text in ("two", "three"):
        conversation.messages.append(Message("user", text))
        keeper.save(conversation)
    [spare] = spare_files(spares)
    assert [m.content for m in storage.read(spare).messages] == ["one", "two", "three"]
    assert [m.content for m in store.load(conversation.id).messages] == ["one"]
    store.full = False
    conversation.messages.append(Message("user", "four"))
    keeper.save(conversation)
    keeper.close()

    folder = store.folder
    assert lines.said == [
        f"cannot save the conversation in {folder} (no space left on device): it goes to {spare} "
        "until the home can be written again (%load that file continues it)",
        f"the conversation is saved in {folder} again",
    ]
    assert spare_files(spares) == []
    assert [m.content for m in store.load(conversation.id).messages] == ["one", "two", "three", "four"]
    store.release()


def test_other_writers_lines_are_shown_unless_the_home_as_a_whole_fails(
    tmp_path: Path, spares: Path, lines: Lines
) -> None:
    store = FlakyStore(tmp_path / "conversations")
    keeper = keeper_on(store, lines, spares)
    conversation = Conversation.new("gpt-4o")
    keeper.aside("cannot write the log (permission denied): going on without it")
    keeper.save(conversation)  # the home takes it: the log's problem is its own, so it is shown
    store.full = True
    keeper.aside("cannot write the history file (no space left on device): going on without it")
    keeper.save(conversation)  # the home fails: the line about the conversation says it all
    keeper.aside("the shared budget file cannot be used: database or disk is full")
    keeper.close()

    assert lines.said[0] == "cannot write the log (permission denied): going on without it"
    assert lines.said[1].startswith(f"cannot save the conversation in {store.folder} (no space left on device)")
    assert len(lines.said) == 2
    assert lines.verbose == [
        "cannot write the history file (no space left on device): going on without it",
        "the shared budget file cannot be used: database or disk is full",
    ]
    store.release()


def test_with_no_usable_temp_directory_it_is_kept_in_memory_and_the_end_says_it_was_lost(
    tmp_path: Path, lines: Lines
) -> None:
    store = FlakyStore(tmp_path / "conversations")
    store.full = True
    not_a_folder = tmp_path / "file"
    not_a_folder.write_text("")
    keeper = keeper_on(store, lines, not_a_folder)
    conversation = Conversation.new("gpt-4o")
    keeper.save(conversation)
    keeper.save(conversation)
    keeper.close()
    assert lines.said == [
        f"cannot save the conversation in {store.folder} (no space left on device), nor in {not_a_folder} "
        "(not a directory): it is kept in memory only until it can be",
        f"conversation {conversation.id} was not saved in full: {store.folder} cannot be written",
    ]
