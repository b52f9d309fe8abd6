"""Conversation files as JSON Lines: a save writes only what is new, a crash tears at most the last line, and a file
of the version before (one JSON document) still opens and moves to the new form on its first save."""

from __future__ import annotations

import dataclasses
import json
import os
import stat
import subprocess
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from fake_server import FakeServer, Reply
from fakes import FakeAdapter, FakeChatModel, FakeRunner, always, call_reply, text_reply
from small_disk import PAGE, fill, tmpfs
from stored import conversation_files, records, stored_header, stored_messages

from interpreter.conversation.storage import ENDED, Conversation, ConversationStore, read
from interpreter.errors import ConversationInUse, HomeNotWritable, StorageError
from interpreter.messages import Message
from interpreter.model.context import ContextWindow
from interpreter.resilience import diagnostics
from interpreter.session import Session

Run = Callable[..., subprocess.CompletedProcess[str]]

ID = "20250101-000000-abcd"
CREATED = "2025-01-01T00:00:00+00:00"
# A conversation file byte for byte as the version before JSON Lines wrote it (one JSON document, indented by 1).
BEFORE = (
    '{\n "version": 2,\n "id": "20250101-000000-abcd",\n "created": "2025-01-01T00:00:00+00:00",\n'
    ' "model": "gpt-4o",\n "cost": 0.0123,\n "messages": [\n  {\n   "role": "user",\n   "content": "remember 7"\n'
    '  },\n  {\n   "role": "assistant",\n   "content": "",\n   "tool_calls": [\n    {\n     "id": "c1",\n'
    '     "type": "function",\n     "function": {\n      "name": "execute",\n'
    '      "arguments": "{\\"language\\":\\"python\\",\\"code\\":\\"7\\"}"\n     }\n    }\n   ]\n  },\n  {\n'
    '   "role": "tool",\n   "content": "7",\n   "tool_call_id": "c1"\n  },\n  {\n   "role": "assistant",\n'
    '   "content": "I will remember 7.",\n   "model": "gpt-4o"\n  }\n ]\n}\n'
)
CALL = {"type": "function", "function": {"name": "execute", "arguments": '{"language":"python","code":"1"}'}}


def header(**changes: object) -> str:
    """A conversation file's header line."""
    record = {"format": "jsonl", "version": 2, "id": ID, "created": CREATED, "model": "gpt-4o", "cost": 0.0}
    return json.dumps({**record, **changes}) + "\n"


def lines(*records: object) -> str:
    """A conversation file's text: the header, then each record on its line."""
    return header() + "".join(json.dumps(record) + "\n" for record in records)


def added(path: Path, before: bytes, inode: int) -> list[dict[str, object]]:
    """The records written at the end of `path` since it held `before`: appended to the same file, in place."""
    after = path.read_bytes()
    assert path.stat().st_ino == inode, "the file was written anew, not appended to"
    assert after.startswith(before), "bytes already written were changed"
    assert after.endswith(b"\n"), "the last line has no end"
    return [json.loads(line) for line in after[len(before) :].decode().split("\n")[:-1]]


def started(store: ConversationStore, *contents: str) -> tuple[Conversation, Path]:
    """A conversation of user messages `contents`, saved in `store`, and its file."""
    conversation = Conversation.new("gpt-4o")
    conversation.messages += [Message("user", content) for content in contents]
    store.save(conversation)
    return conversation, store.folder / f"{conversation.id}.jsonl"


@pytest.fixture
def logged() -> Iterator[list[str]]:
    """The lines of the diagnostics log, as --verbose shows them."""
    shown: list[str] = []
    diagnostics.configure(echo=shown.append)
    yield shown
    diagnostics.configure()


# ---- a save writes what is new, and only that ---------------------------------------------------------------


def test_each_save_appends_the_new_message_alone_leaving_every_byte_before_untouched(tmp_path: Path) -> None:
    store = ConversationStore(tmp_path)
    conversation, path = started(store, "count to 40")
    for number in range(1, 41):
        before, inode = path.read_bytes(), path.stat().st_ino
        conversation.messages.append(Message("assistant", str(number)))
        store.save(conversation)
        assert added(path, before, inode) == [{"role": "assistant", "content": str(number)}]
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert ConversationStore(tmp_path).load(conversation.id) == conversation
    assert len(records(path)) == 1 + 41  # the header, then a line a message


def test_a_new_cost_is_one_line_before_the_message_and_an_unchanged_conversation_writes_nothing(
    tmp_path: Path,
) -> None:
    store = ConversationStore(tmp_path)
    conversation, path = started(store, "hi")
    before, inode = path.read_bytes(), path.stat().st_ino
    conversation.cost = 0.25
    conversation.messages.append(Message("assistant", "hello"))
    store.save(conversation)
    assert added(path, before, inode) == [{"set": {"cost": 0.25}}, {"role": "assistant", "content": "hello"}]
    before = path.read_bytes()
    store.save(conversation)
    assert added(path, before, inode) == []
    assert ConversationStore(tmp_path).load(conversation.id).cost == 0.25 == stored_header(path)["cost"]


def test_line_breaks_json_leaves_unescaped_stay_inside_their_message(tmp_path: Path) -> None:
    store = ConversationStore(tmp_path)
    text = "a\u2028b\u2029c\x85d\x1ce\rf\ng\x0bh\x0ci"  # what str.splitlines would split on, each
    conversation, path = started(store, text, "after")
    assert ConversationStore(tmp_path).load(conversation.id).messages == conversation.messages
    assert path.read_text().count("\n") == 3


def test_a_resumed_conversation_is_appended_to_not_rewritten(tmp_path: Path) -> None:
    ended = ConversationStore(tmp_path)
    conversation, path = started(ended, "hi", "again")
    ended.release()
    resumed = ConversationStore(tmp_path)  # the next session
    loaded = resumed.load(conversation.id)
    before, inode = path.read_bytes(), path.stat().st_ino
    loaded.messages.append(Message("assistant", "yes"))
    resumed.save(loaded)
    assert added(path, before, inode) == [{"role": "assistant", "content": "yes"}]


# ---- what no longer continues the file rewrites it whole ----------------------------------------------------


def test_after_undo_the_file_is_rewritten_to_hold_the_conversation_exactly(tmp_path: Path) -> None:
    store = ConversationStore(tmp_path)
    model = FakeChatModel()
    model.enqueue(call_reply(("python", "1")), text_reply("one"), text_reply("two"), text_reply("three"))
    session = Session(
        model=model,
        runner=FakeRunner(),
        confirm=always(True),
        conversation=Conversation.new("gpt-4o"),
        save=store.save,
        system="SYSTEM",
        window=ContextWindow(FakeAdapter()),
    )
    for task in ("first", "second"):
        list(session.send(task))
    path = tmp_path / f"{session.conversation.id}.jsonl"
    inode = path.stat().st_ino

    assert [message.content for message in session.undo()] == ["second", "two"]
    assert path.stat().st_ino != inode  # rewritten whole
    assert read(path).messages == session.conversation.messages

    before, inode = path.read_bytes(), path.stat().st_ino
    list(session.send("third"))
    assert [record["content"] for record in added(path, before, inode)] == ["third", "three"]
    contents = [message["content"] for message in stored_messages(path)]
    assert contents == ["first", "", "ran 1\n", "one", "third", "three"]
    assert ConversationStore(tmp_path).load(session.conversation.id).messages == session.conversation.messages


@pytest.mark.parametrize("changed", ["an equal copy", "new words"])
def test_an_earlier_message_replaced_in_memory_rewrites_the_file_never_duplicating_one(
    tmp_path: Path, changed: str
) -> None:
    store = ConversationStore(tmp_path)
    conversation, path = started(store, "one", "two", "three")
    inode = path.stat().st_ino
    words = "two" if changed == "an equal copy" else changed
    conversation.messages[1] = dataclasses.replace(conversation.messages[1], content=words)
    conversation.messages.append(Message("user", "four"))
    store.save(conversation)
    assert path.stat().st_ino != inode
    assert [message["content"] for message in stored_messages(path)] == ["one", words, "three", "four"]


def test_a_file_changed_behind_the_sessions_back_is_rewritten_not_appended_to(tmp_path: Path) -> None:
    store = ConversationStore(tmp_path)
    conversation, path = started(store, "one")
    with path.open("a") as file:
        file.write(json.dumps({"role": "user", "content": "not ours"}) + "\n")
    conversation.messages.append(Message("user", "two"))
    store.save(conversation)
    assert [message["content"] for message in stored_messages(path)] == ["one", "two"]


def test_a_call_left_unanswered_at_the_end_is_answered_by_an_appended_line(tmp_path: Path) -> None:
    path = tmp_path / f"{ID}.jsonl"
    path.write_text(
        lines({"role": "user", "content": "two cells"}, {"role": "assistant", "content": "", "tool_calls": [
            {**CALL, "id": "c1"}, {**CALL, "id": "c2"}]}, {"role": "tool", "content": "1", "tool_call_id": "c1"})
    )  # fmt: skip
    store = ConversationStore(tmp_path)
    repaired = store.load(ID)
    assert repaired.repaired == 1
    before, inode = path.read_bytes(), path.stat().st_ino
    store.save(repaired)  # as --resume does at once
    assert added(path, before, inode) == [{"role": "tool", "content": ENDED, "tool_call_id": "c2"}]


def test_a_call_left_unanswered_before_later_messages_rewrites_the_file_in_order(tmp_path: Path) -> None:
    path = tmp_path / f"{ID}.jsonl"
    path.write_text(
        lines({"role": "user", "content": "a cell"}, {"role": "assistant", "content": "", "tool_calls": [
            {**CALL, "id": "c1"}]}, {"role": "user", "content": "and then?"})
    )  # fmt: skip
    store = ConversationStore(tmp_path)
    inode = path.stat().st_ino
    store.save(store.load(ID))
    assert path.stat().st_ino != inode
    assert [message["content"] for message in stored_messages(path)] == ["a cell", "", ENDED, "and then?"]
    assert ConversationStore(tmp_path).load(ID).repaired == 0


def test_another_session_cannot_append_to_a_conversation_this_one_holds(tmp_path: Path) -> None:
    mine, other = ConversationStore(tmp_path), ConversationStore(tmp_path)
    conversation, path = started(mine, "mine")
    theirs = other.load(conversation.id)
    theirs.messages.append(Message("user", "theirs"))
    before = path.read_bytes()
    with pytest.raises(ConversationInUse):
        other.save(theirs)
    assert path.read_bytes() == before
    conversation.messages.append(Message("user", "mine again"))
    mine.save(conversation)
    assert [message["content"] for message in stored_messages(path)] == ["mine", "mine again"]


# ---- a crash tears at most the last line ---------------------------------------------------------------------


def test_a_last_line_cut_at_any_byte_loses_that_message_alone_says_so_in_the_log_and_heals_on_save(
    tmp_path: Path, logged: list[str]
) -> None:
    store = ConversationStore(tmp_path)
    conversation, path = started(store, "hi", "still there")
    earlier = path.read_bytes()
    conversation.messages.append(Message("assistant", "café ☕, cut anywhere"))  # two- and three-byte characters
    store.save(conversation)
    store.release()
    whole = path.read_bytes()
    last = whole[len(earlier) :]
    for cut in range(len(last) + 1):
        path.write_bytes(whole[: len(earlier) + cut])
        logged.clear()
        resumed = ConversationStore(tmp_path)
        loaded = resumed.load(conversation.id)
        kept = cut >= len(last) - 1  # the line is whole, its newline or not
        assert loaded.messages == conversation.messages[: 3 if kept else 2], cut
        torn = 0 < cut < len(last) - 1
        assert len(logged) == torn and all(
            line.startswith(f"[interpreter.conversation] {path}: dropped") for line in logged
        )
        loaded.messages.append(Message("user", "go on"))
        resumed.save(loaded)  # rewrites a file with a torn or unended last line: never appended after it
        resumed.release()
        assert ConversationStore(tmp_path).load(conversation.id).messages == loaded.messages, cut
        assert path.read_bytes().endswith(b"\n")


@pytest.mark.parametrize("where", ["middle", "last"])
@pytest.mark.parametrize(
    ("line", "problem"),
    [
        ('{"role": "us', "is not JSON (Unterminated string starting at: column 10)"),
        ('{"role": "wizard", "content": "hi"}', "has an unknown role 'wizard'"),
        ("[1]", "is not a JSON object"),
        ('{"set": {"cost": -1}}', "has a 'cost' that is not a sum of dollars"),
    ],
)
def test_a_bad_line_is_one_line_naming_the_file_and_the_line(
    tmp_path: Path, where: str, line: str, problem: str
) -> None:
    good = json.dumps({"role": "user", "content": "hi"})
    # Only a last line that is not JSON can be one a crash tore: a line that is JSON was written whole.
    refused = where == "middle" or "JSON (" not in problem
    text = header() + f"{good}\n{line}\n" + (f"{good}\n" if where == "middle" else "")
    (tmp_path / f"{ID}.jsonl").write_text(text)
    if not refused:
        assert len(ConversationStore(tmp_path).load(ID).messages) == 1
        return
    with pytest.raises(StorageError) as failure:
        ConversationStore(tmp_path).load(ID)
    assert str(failure.value).startswith(f"cannot read {tmp_path / f'{ID}.jsonl'}: line 3 ")
    assert problem in str(failure.value) and "\n" not in str(failure.value)


def test_resuming_a_file_with_a_bad_middle_line_is_one_line_and_exit_2_and_a_torn_end_resumes(
    run_cli: Run, server: FakeServer, private_home: Path
) -> None:
    folder = private_home / "conversations"
    folder.mkdir(parents=True)
    first, second = ({"role": "user", "content": "hi"}, {"role": "assistant", "content": "Hello."})
    (folder / "bad.jsonl").write_text(header(id="bad") + f"{json.dumps(first)}\n{{oops\n{json.dumps(second)}\n")
    (folder / "torn.jsonl").write_text(header(id="torn") + f"{json.dumps(first)}\n{json.dumps(second)}\n" + '{"ro')
    server.enqueue(Reply.text("Back."))

    bad = run_cli("--resume", "bad", "-c", "go on")
    torn = run_cli("--resume", "torn", "-c", "go on")

    assert (bad.returncode, bad.stdout) == (2, "")
    where = folder / "bad.jsonl"
    problem = "line 3 is not JSON (Expecting property name enclosed in double quotes: column 2)"
    assert bad.stderr == f"interpreter: cannot read {where}: {problem}\n"
    assert torn.returncode == 0, torn.stderr
    (request,) = [request for request in server.requests if request.path.endswith("/chat/completions")]
    sent = (request.body or {})["messages"][1:]
    assert [message["content"] for message in sent] == ["hi", "Hello.", "go on"]
    assert [message["content"] for message in stored_messages(folder / "torn.jsonl")] == [
        "hi",
        "Hello.",
        "go on",
        "Back.",
    ]


def test_undo_in_a_resumed_session_rewrites_the_file_and_the_next_task_appends_to_it(
    run_cli: Run, server: FakeServer, private_home: Path
) -> None:
    server.enqueue(Reply.text("I will remember 7."), Reply.text("I will remember 8."), Reply.text("7, then."))
    assert run_cli("-c", "remember 7").returncode == 0
    assert run_cli("--resume", "-c", "remember 8").returncode == 0
    (path,) = conversation_files(private_home / "conversations")
    inode = path.stat().st_ino

    undone = run_cli("--resume", stdin="%undo\n")
    assert undone.returncode == 0, undone.stderr
    assert "dropped the last exchange: 'remember 8' and the 1 message after it" in undone.stdout
    assert path.stat().st_ino != inode  # rewritten whole
    before, inode = path.read_bytes(), path.stat().st_ino
    assert run_cli("--resume", "-c", "which number?").returncode == 0

    appended = [record["content"] for record in added(path, before, inode) if record.keys() != {"set"}]  # not costs
    assert appended == ["which number?", "7, then."]
    contents = [message["content"] for message in stored_messages(path)]
    assert contents == ["remember 7", "I will remember 7.", "which number?", "7, then."]


def test_an_append_cut_short_by_a_full_disk_keeps_what_was_saved_and_the_next_save_rewrites_it_whole(
    tmp_path: Path,
) -> None:
    with tmpfs(tmp_path / "disk") as disk:
        store = ConversationStore(disk / "conversations")
        conversation, path = started(store, "kept")
        fill(disk)
        conversation.messages.append(Message("assistant", "x" * 3 * PAGE))  # more than the page the file holds
        with pytest.raises(HomeNotWritable):
            store.save(conversation)
        assert [message.content for message in ConversationStore(store.folder).load(conversation.id).messages] == [
            "kept"
        ]
        (disk / "filler").unlink()
        conversation.messages.append(Message("user", "after"))
        store.save(conversation)
        assert [len(message["content"]) for message in stored_messages(path)] == [4, 3 * PAGE, 5]
        assert ConversationStore(store.folder).load(conversation.id).messages == conversation.messages
        store.release()


# ---- files of the version before -------------------------------------------------------------------------------


def test_a_file_of_the_version_before_opens_lists_and_moves_to_json_lines_on_its_first_save(tmp_path: Path) -> None:
    old, new = tmp_path / f"{ID}.json", tmp_path / f"{ID}.jsonl"
    old.write_text(BEFORE)
    old.chmod(0o600)
    store = ConversationStore(tmp_path)
    assert [(summary.id, summary.messages, summary.cost) for summary in store.summaries()] == [(ID, 4, 0.0123)]
    conversation = store.load(ID)
    assert [message.content for message in conversation.messages] == ["remember 7", "", "7", "I will remember 7."]
    assert old.read_text() == BEFORE  # reading changes nothing

    conversation.messages.append(Message("user", "and 8?"))
    store.save(conversation)

    assert not old.exists() and stat.S_IMODE(new.stat().st_mode) == 0o600
    assert store.ids() == [ID]
    assert stored_header(new) == {
        "format": "jsonl",
        "version": 2,
        "id": ID,
        "created": CREATED,
        "model": "gpt-4o",
        "cost": 0.0123,
    }
    assert stored_messages(new)[1]["tool_calls"][0]["id"] == "c1"
    assert [message["content"] for message in stored_messages(new)][-2:] == ["I will remember 7.", "and 8?"]
    assert ConversationStore(tmp_path).load(ID) == conversation
    before, inode = new.read_bytes(), new.stat().st_ino
    conversation.messages.append(Message("assistant", "15."))
    store.save(conversation)
    assert added(new, before, inode) == [{"role": "assistant", "content": "15."}]


def test_a_migration_cut_short_lists_the_conversation_once_reads_the_new_file_and_removes_both(
    tmp_path: Path,
) -> None:
    (tmp_path / f"{ID}.json").write_text(BEFORE)
    (tmp_path / f"{ID}.jsonl").write_text(
        lines({"role": "user", "content": "remember 7"}, {"role": "user", "content": "8"})
    )
    store = ConversationStore(tmp_path)
    assert [(summary.id, summary.messages) for summary in store.summaries()] == [(ID, 2)]
    assert [message.content for message in store.load(ID).messages] == ["remember 7", "8"]
    store.delete(ID)
    assert list(tmp_path.iterdir()) == []


def test_a_migration_on_a_full_disk_leaves_the_file_of_the_version_before_as_it_was(tmp_path: Path) -> None:
    with tmpfs(tmp_path / "disk") as disk:
        folder = disk / "conversations"
        folder.mkdir()
        (folder / f"{ID}.json").write_text(BEFORE)
        store = ConversationStore(folder)
        conversation = store.load(ID)
        fill(disk)
        conversation.messages.append(Message("user", "and 8?"))
        with pytest.raises(HomeNotWritable):
            store.save(conversation)
        assert (folder / f"{ID}.json").read_text() == BEFORE
        assert sorted(path.name for path in folder.iterdir() if not path.name.endswith(".lock")) == [f"{ID}.json"]
        store.release()


def test_read_takes_either_form_and_names_the_id_inside(tmp_path: Path) -> None:
    (tmp_path / "before.json").write_text(BEFORE)
    (tmp_path / "now.jsonl").write_text(lines({"role": "user", "content": "remember 7"}))
    assert read(tmp_path / "before.json").id == read(tmp_path / "now.jsonl").id == ID
    assert read(tmp_path / "before.json").messages[0] == read(tmp_path / "now.jsonl").messages[0]


def test_conversations_lists_files_of_both_forms(run_cli: Run, private_home: Path) -> None:
    folder = private_home / "conversations"
    folder.mkdir(parents=True)
    (folder / f"{ID}.json").write_text(BEFORE)
    (folder / "20250102-000000-abcd.jsonl").write_text(
        header(id="x") + json.dumps({"role": "user", "content": "hi"}) + "\n"
    )
    os.utime(folder / f"{ID}.json", (1_700_000_000, 1_700_000_000))
    listed = run_cli("conversations")
    assert listed.returncode == 0, listed.stderr
    rows = [line.split()[0] for line in listed.stdout.splitlines()[1:]]
    assert rows == ["20250102-000000-abcd", ID]
