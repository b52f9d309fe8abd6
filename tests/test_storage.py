"""Conversations on disk."""

from __future__ import annotations

import fcntl
import json
import os
import stat
from pathlib import Path

import pytest
from stored import stored_header, stored_messages

from interpreter.conversation.storage import ENDED, SCHEMA_VERSION, Conversation, ConversationStore
from interpreter.errors import ConversationInUse, NoSuchConversation, StorageError
from interpreter.messages import Message, ToolCall


def test_a_saved_conversation_loads_back_identical_and_private(tmp_path: Path) -> None:
    store = ConversationStore(tmp_path / "conversations")
    conversation = Conversation.new("gpt-4o")
    conversation.messages += [
        Message("user", "hi"),
        Message("assistant", "", tool_calls=(ToolCall("c1", "execute", '{"language":"python","code":"1"}'),)),
        Message("tool", "1", tool_call_id="c1"),
    ]
    store.save(conversation)
    path = tmp_path / "conversations" / f"{conversation.id}.jsonl"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert store.load(conversation.id) == conversation
    store.release()
    assert [p.name for p in path.parent.iterdir()] == [path.name]  # no temp file, and no lock once let go


SIGNED = {"extra_content": {"google": {"thought_signature": "c2lnbmF0dXJl"}}}


def test_what_a_server_put_on_a_reply_and_which_server_it_was_load_back(tmp_path: Path) -> None:
    store = ConversationStore(tmp_path)
    conversation = Conversation.new("gemini-3-flash")
    call = ToolCall("function-call-1", "execute", '{"language":"python","code":"1"}', extras=SIGNED)
    reasoning = {"reasoning_content": "Six times seven."}
    conversation.messages += [
        Message("user", "hi"),
        Message("assistant", "", tool_calls=(call,), extras=reasoning, origin="https://example.test/v1"),
        Message("tool", "1", tool_call_id="function-call-1"),
    ]
    store.save(conversation)
    loaded = store.load(conversation.id).messages[1]
    assert loaded.tool_calls[0].extras == SIGNED and loaded.extras == reasoning
    assert loaded.origin == "https://example.test/v1"


def test_the_responses_apis_reasoning_items_load_back_with_their_server(tmp_path: Path) -> None:
    store = ConversationStore(tmp_path)
    conversation = Conversation.new("gpt-5.1-codex")
    item = {"type": "reasoning", "id": "rs_1", "summary": [], "encrypted_content": "gAAAAB..."}
    conversation.messages += [
        Message("user", "hi"),
        Message("assistant", "42", reasoning=(item,), origin="https://api.openai.com/v1"),
    ]
    store.save(conversation)
    loaded = store.load(conversation.id).messages[1]
    assert loaded.reasoning == (item,) and loaded.origin == "https://api.openai.com/v1"
    assert store.load(conversation.id).messages[0].reasoning == ()


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
    os.utime(store.folder / f"{conversation.id}.jsonl", (at, at))
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
    assert summaries[1].size == (tmp_path / f"{old.id}.jsonl").stat().st_size
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


# ---- what a file may hold -----------------------------------------------------------------------------


CALL = {"type": "function", "function": {"name": "execute", "arguments": '{"language":"python","code":"1"}'}}


def stored(*messages: object, version: int = 2) -> str:
    """A conversation file's text holding `messages` as given."""
    return json.dumps({"version": version, "id": "x", "created": "2025-01-01", "model": "m", "messages": messages})


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("[1, 2, 3]", "the file is not a JSON object"),
        (stored({"role": "wizard", "content": "hi"}), "message 1 has an unknown role 'wizard'"),
        (stored({"role": "user", "content": ["hi"]}), "message 1 has a 'content' that is not text"),
        (stored({"content": "hi"}), "message 1 has no 'role'"),
        (stored("hi"), "message 1 is not a JSON object"),
        (stored({"role": "user", "content": "hi", "kind": "spell"}), "message 1 has an unknown kind 'spell'"),
        (stored({"role": "assistant", "tool_calls": [{"id": "c"}]}), "the function of a tool call of message 1"),
        (stored({"role": "assistant", "extras": ["r"]}), "message 1 has a 'extras' that is not a JSON object"),
        (stored({"role": "assistant", "origin": 7}), "message 1 has a 'origin' that is not text"),
        (
            stored({"role": "assistant", "reasoning": ["r"]}),
            "message 1 has a 'reasoning' that is not a list of objects",
        ),
        (
            stored({"role": "assistant", "tool_calls": [{**CALL, "id": "c", "extras": "sig"}]}),
            "a tool call of message 1 has a 'extras' that is not a JSON object",
        ),
        ('{"version": 2, "id": "x", "created": "c", "messages": []}', "the file has no 'model'"),
        ('{"version": 3, "messages": []}', "unknown format version 3"),
    ],
)
def test_a_file_not_in_the_schema_is_one_line_naming_it_and_the_others_still_list(
    tmp_path: Path, text: str, problem: str
) -> None:
    store = ConversationStore(tmp_path)
    good = saved(store, "a good one", at=1_000_000)
    (tmp_path / "bad.json").write_text(text)
    with pytest.raises(StorageError) as failure:
        store.load("bad")
    assert problem in str(failure.value)
    assert str(failure.value).startswith(f"cannot read {tmp_path / 'bad.json'}: ") and "\n" not in str(failure.value)
    readable = {summary.id: summary.readable for summary in store.summaries()}
    assert readable == {good.id: True, "bad": False}
    assert store.load(good.id) == good
    store.delete("bad")
    assert store.ids() == [good.id]


def test_tool_calls_a_killed_session_left_unanswered_are_answered_right_after_the_others(tmp_path: Path) -> None:
    (tmp_path / "killed.json").write_text(
        stored(
            {"role": "user", "content": "run two cells"},
            {"role": "assistant", "content": None, "tool_calls": [{**CALL, "id": "c1"}, {**CALL, "id": "c2"}]},
            {"role": "tool", "content": "1", "tool_call_id": "c1"},
            {"role": "user", "content": "and then?"},
            {"role": "assistant", "content": "", "tool_calls": [{**CALL, "id": "c3"}]},
        )
    )
    conversation = ConversationStore(tmp_path).load("killed")
    assert [(m.role, m.tool_call_id, m.content) for m in conversation.messages[2:]] == [
        ("tool", "c1", "1"),
        ("tool", "c2", ENDED),
        ("user", None, "and then?"),
        ("assistant", None, ""),
        ("tool", "c3", ENDED),
    ]
    assert conversation.repaired == 2
    assert conversation.repair_note() == "repaired: 2 code cells had no result (the session ended while it ran)"


def test_version_1_files_get_their_kinds_from_the_output_heading_once(tmp_path: Path) -> None:
    (tmp_path / "old.json").write_text(
        stored(
            {"role": "user", "content": "run it"},
            {"role": "assistant", "content": "```python\nprint(1)\n```"},
            {"role": "user", "content": "Output of block 1 (python):\n1"},
            version=1,
        )
    )
    store = ConversationStore(tmp_path)
    old = store.load("old")
    assert [m.kind for m in old.messages] == ["text", "text", "output"]
    store.save(old)
    again = tmp_path / "old.jsonl"
    assert stored_header(again)["version"] == SCHEMA_VERSION and stored_messages(again)[2]["kind"] == "output"
    assert "kind" not in old.messages[2].to_dict()  # the wire form carries no field a server does not know


def test_version_2_files_keep_a_task_that_starts_like_an_output_heading_a_task(tmp_path: Path) -> None:
    store = ConversationStore(tmp_path)
    conversation = saved(store, "Output of block 1 (python): hi", at=1_000_000)
    assert store.load(conversation.id).messages[0].is_task
    assert store.summaries()[0].first_line == "Output of block 1 (python): hi"


def test_the_model_that_wrote_each_answer_is_kept_and_files_from_before_it_still_load(tmp_path: Path) -> None:
    (tmp_path / "before.json").write_text(
        stored({"role": "user", "content": "hi"}, {"role": "assistant", "content": "a"})
    )
    store = ConversationStore(tmp_path)
    before = store.load("before")
    assert [m.model for m in before.messages] == [None, None]
    before.messages.append(Message("assistant", "b", model="gpt-4o-mini"))
    store.save(before)

    again = tmp_path / "before.jsonl"
    assert stored_header(again)["version"] == SCHEMA_VERSION == 2  # an optional field: a reader of version 2 ignores it
    assert [m.get("model") for m in stored_messages(again)] == [None, None, "gpt-4o-mini"]
    assert store.load("before").messages[-1].model == "gpt-4o-mini"
    assert "model" not in before.messages[-1].to_dict()  # never sent: servers refuse fields they do not know


def test_undecodable_characters_saved_by_an_older_version_are_replaced_on_load(tmp_path: Path) -> None:
    (tmp_path / "latin.json").write_text(stored({"role": "user", "content": "caf\udce9 \ud800"}))  # as json escapes
    message = ConversationStore(tmp_path).load("latin").messages[0]
    assert message.content == "caf\ufffd \ufffd"
    message.content.encode("utf-8")  # what sending it needs; it raised UnicodeEncodeError before


# ---- files: where saves go, locks, leftovers ------------------------------------------------------------


def test_a_copied_file_saves_to_its_own_name_not_to_the_id_written_inside(tmp_path: Path) -> None:
    store = ConversationStore(tmp_path)
    original = saved(store, "the original", at=1_000_000)
    before = (tmp_path / f"{original.id}.jsonl").read_text()
    (tmp_path / "copy.jsonl").write_text(before)
    copy = store.load("copy")
    assert copy.id == "copy"
    copy.messages.append(Message("user", "only in the copy"))
    store.save(copy)
    assert (tmp_path / f"{original.id}.jsonl").read_text() == before
    assert store.load("copy").messages[-1].content == "only in the copy"


def test_a_conversation_held_by_one_session_is_refused_to_another_until_let_go(tmp_path: Path) -> None:
    first, second = ConversationStore(tmp_path), ConversationStore(tmp_path)
    conversation = saved(first, "mine", at=1_000_000)
    with pytest.raises(ConversationInUse) as refused:
        second.hold(conversation.id)
    assert str(refused.value) == f"conversation {conversation.id} is open in another session (PID {os.getpid()})"
    with pytest.raises(ConversationInUse):
        second.save(conversation)
    first.release()
    second.hold(conversation.id)
    second.save(conversation)


def test_a_conversation_open_in_another_session_is_not_removed(tmp_path: Path) -> None:
    session, command = ConversationStore(tmp_path), ConversationStore(tmp_path)
    conversation = saved(session, "mine", at=1_000_000)
    with pytest.raises(ConversationInUse, match=r"open in another session \(PID \d+\): end that session first"):
        command.delete(conversation.id)
    assert command.load(conversation.id) == conversation
    session.release()
    command.delete(conversation.id)
    assert command.ids() == []


def test_a_lock_file_that_cannot_be_created_means_no_lock_not_a_failure(tmp_path: Path) -> None:
    store = ConversationStore(tmp_path)
    conversation = Conversation.new("m")
    (tmp_path / f".{conversation.id}.lock").mkdir()  # cannot be opened as a file, as in a read-only home
    conversation.messages.append(Message("user", "hi"))
    store.save(conversation)
    assert store.load(conversation.id) == conversation


def test_leftover_temp_files_of_killed_saves_are_removed_when_listing(tmp_path: Path) -> None:
    now = 2_000_000.0
    store = ConversationStore(tmp_path, clock=lambda: now)
    kept = saved(store, "kept", at=now)
    killed, fresh, writing = (tmp_path / f".{kept.id}.{name}.tmp" for name in ("killed", "fresh", "writing"))
    for temp, age in ((killed, 60), (fresh, 1), (writing, 60)):
        temp.write_text("{")
        os.utime(temp, (now - age, now - age))
    with writing.open() as held:
        fcntl.flock(held, fcntl.LOCK_EX)  # a save under way in another session
        assert [s.id for s in store.summaries()] == [kept.id]
        assert not killed.exists() and fresh.exists() and writing.exists()
