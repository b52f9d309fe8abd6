"""`interpreter conversations`: list, show, rm and export saved conversations, through the installed command."""

from __future__ import annotations

import json
import os
import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest
from fake_server import FakeServer, Reply
from rich.cells import cell_len
from stored import stored_header, stored_messages

from interpreter.conversation.storage import Conversation, ConversationStore
from interpreter.messages import Message, ToolCall

Run = Callable[..., subprocess.CompletedProcess[str]]


@pytest.fixture
def conversations(interpreter_command: list[str], tmp_path: Path) -> Run:
    """Run `interpreter conversations ARGS` without a terminal, from a scratch directory."""

    def run(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [*interpreter_command, "conversations", *args],
            capture_output=True,
            text=True,
            env={**os.environ, **(env or {})},
            cwd=tmp_path,
            timeout=30,
            check=False,
        )

    return run


@pytest.fixture
def store(private_home: Path) -> ConversationStore:
    return ConversationStore(private_home / "conversations")


def save(store: ConversationStore, *messages: Message, at: float) -> Conversation:
    """Save a conversation of `messages`, last written at time `at`."""
    conversation = Conversation.new("gpt-4o")
    conversation.messages += messages
    store.save(conversation)
    store.release()  # saved, not open: as a session leaves it when it ends
    os.utime(store.folder / f"{conversation.id}.jsonl", (at, at))
    return conversation


def worked(store: ConversationStore, at: float = 1_700_000_000) -> Conversation:
    """A conversation that ran one python cell."""
    call = ToolCall("c1", "execute", json.dumps({"language": "python", "code": "print(6*7)"}))
    return save(
        store,
        Message("user", "compute 6*7\nin python please"),
        Message("assistant", "Running it.", tool_calls=(call,)),
        Message("tool", "42\n", tool_call_id="c1"),
        Message("assistant", "It is 42."),
        at=at,
    )


def one_line(result: subprocess.CompletedProcess[str], code: int, expected: str) -> None:
    assert result.returncode == code
    assert result.stdout == ""
    assert "Traceback" not in result.stderr
    assert result.stderr.count("\n") == 1 and expected in result.stderr, result.stderr


def test_the_list_shows_the_newest_first_with_date_first_line_and_size(
    conversations: Run, store: ConversationStore
) -> None:
    older = worked(store, at=1_700_000_000)
    newer = save(store, Message("user", "list the files here"), at=1_700_086_400)
    result = conversations()
    assert result.returncode == 0, result.stderr
    header, first, second = result.stdout.splitlines()
    assert header.split() == ["ID", "UPDATED", "MESSAGES", "SIZE", "COST", "FIRST", "LINE"]
    assert first.startswith(newer.id) and first.endswith("list the files here")
    assert second.startswith(older.id) and second.endswith("compute 6*7")  # the first line only
    size = (store.folder / f"{older.id}.jsonl").stat().st_size
    assert f" 4  {size} B     -  compute" in second  # nothing priced was spent: no cost
    assert "2023-11-" in second  # the date it was last written (local time)
    assert conversations("list").stdout == result.stdout


def test_the_list_shows_what_each_conversation_cost(conversations: Run, store: ConversationStore) -> None:
    costly = save(store, Message("user", "summarise the logs"), at=1_700_000_000)
    costly.cost = 0.1337
    store.save(costly)
    store.release()
    cheap = save(store, Message("user", "say hi"), at=1_700_000_000)
    cheap.cost = 0.00042
    store.save(cheap)
    store.release()
    free = save(store, Message("user", "nothing sent"), at=1_700_000_000)
    lines = {line.split()[0]: line for line in conversations().stdout.splitlines()[1:]}
    assert "  $0.13  summarise the logs" in lines[costly.id]
    assert " $0.0004  say hi" in lines[cheap.id]
    assert "       -  nothing sent" in lines[free.id]


def test_a_long_first_line_is_cut_to_the_width(conversations: Run, store: ConversationStore) -> None:
    save(store, Message("user", "x" * 300), at=1_700_000_000)
    (line,) = conversations(env={"COLUMNS": "100"}).stdout.splitlines()[1:]
    assert len(line) == 100 and line.endswith("x…")


@pytest.mark.parametrize("first", ["数据分析" * 40, "🙂" * 80, "a数" * 60], ids=["CJK", "emoji", "mixed"])
def test_a_wide_first_line_is_cut_to_the_width_in_terminal_cells(
    conversations: Run, store: ConversationStore, first: str
) -> None:
    save(store, Message("user", first), at=1_700_000_000)
    (line,) = conversations(env={"COLUMNS": "100"}).stdout.splitlines()[1:]
    assert cell_len(line) <= 100 and line.endswith("…")
    assert cell_len(line) >= 99  # the room is used: at most half a wide character is left blank


def test_an_empty_list_says_where_it_looked(conversations: Run, private_home: Path) -> None:
    result = conversations()
    assert result.returncode == 0
    assert result.stdout == f"no conversations in {private_home / 'conversations'}\n"


def test_an_unreadable_conversation_is_listed_and_can_be_removed(conversations: Run, store: ConversationStore) -> None:
    worked(store)
    (store.folder / "broken.json").write_text("{not json")
    assert "broken" in conversations().stdout and "(cannot be read)" in conversations().stdout
    assert conversations("rm", "broken").returncode == 0
    assert "broken" not in conversations().stdout


def test_show_prints_a_plain_readable_transcript(conversations: Run, store: ConversationStore) -> None:
    conversation = worked(store)
    result = conversations("show", conversation.id)
    assert result.returncode == 0, result.stderr
    assert "\x1b" not in result.stdout
    assert result.stdout.startswith(f"# Conversation {conversation.id}\n")
    for part in ("## User\n\ncompute 6*7\nin python please", "```python\nprint(6*7)\n```", "```\n42\n```", "It is 42."):
        assert part in result.stdout


def test_rm_deletes_and_an_unknown_id_is_one_line_and_exit_2(conversations: Run, store: ConversationStore) -> None:
    conversation = worked(store)
    result = conversations("rm", conversation.id)
    assert (result.returncode, result.stdout) == (0, f"removed conversation {conversation.id}\n")
    assert not (store.folder / f"{conversation.id}.jsonl").exists()
    one_line(conversations("rm", conversation.id), 2, f"no conversation '{conversation.id}'")
    one_line(conversations("show", "nope"), 2, "no conversation 'nope'")
    one_line(conversations("export", "../config"), 2, "not a conversation id")


def test_export_writes_json_or_markdown_to_stdout_or_a_file(
    conversations: Run, store: ConversationStore, tmp_path: Path
) -> None:
    conversation = worked(store)
    as_json = conversations("export", conversation.id, "--format", "json")
    assert as_json.returncode == 0, as_json.stderr
    exported, saved = json.loads(as_json.stdout), store.folder / f"{conversation.id}.jsonl"
    assert exported.pop("messages") == stored_messages(saved)  # one JSON document, as %load and older versions read
    assert {**exported, "format": "jsonl"} == stored_header(saved)
    as_md = conversations("export", conversation.id)
    assert as_md.stdout == conversations("show", conversation.id).stdout  # Markdown is the default
    to_file = conversations("export", conversation.id, "-f", "md", "-o", "talk.md")
    assert (to_file.returncode, to_file.stdout) == (0, "")
    assert (tmp_path / "talk.md").read_text() == as_md.stdout


def test_export_problems_are_one_line(conversations: Run, store: ConversationStore, tmp_path: Path) -> None:
    conversation = worked(store)
    unknown_format = conversations("export", conversation.id, "--format", "xml")
    one_line(unknown_format, 2, "'xml' is not one of 'md', 'json'")
    one_line(conversations("export", conversation.id, "-o", str(tmp_path / "no" / "dir.md")), 1, "cannot write")


def test_a_finished_task_is_listed_and_its_id_completes(
    run_cli: Run, server: FakeServer, conversations: Run, store: ConversationStore, interpreter_command: list[str]
) -> None:
    server.enqueue(Reply.text("There are 3 files."))
    assert run_cli("-c", "how many files are here?").returncode == 0
    (line,) = conversations().stdout.splitlines()[1:]
    (conversation_id,) = store.ids()
    assert line.startswith(conversation_id) and line.endswith("how many files are here?")
    words = f"interpreter conversations show {conversation_id[:4]}"
    completion = {"_INTERPRETER_COMPLETE": "complete_bash", "COMP_WORDS": words, "COMP_CWORD": "3"}
    completed = subprocess.run(
        interpreter_command, capture_output=True, text=True, env={**os.environ, **completion}, timeout=30, check=False
    )
    assert completed.stdout.split() == [conversation_id]


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("[1, 2, 3]", "the file is not a JSON object"),
        ('{"version": 2, "id": "x", "created": "c", "model": "m", "messages": [{"role": "wizard", "content": "hi"}]}',
         "message 1 has an unknown role 'wizard'"),
    ],
)  # fmt: skip
def test_a_file_outside_the_schema_is_listed_unreadable_and_breaks_nothing_else(
    conversations: Run, store: ConversationStore, text: str, problem: str
) -> None:
    good = worked(store)
    (store.folder / "odd.json").write_text(text)
    listed = conversations()
    assert listed.returncode == 0, listed.stderr
    (odd,) = [line for line in listed.stdout.splitlines() if line.startswith("odd ")]
    assert odd.endswith("(cannot be read)")
    assert conversations("show", good.id).stdout.startswith(f"# Conversation {good.id}\n")
    assert json.loads(conversations("export", good.id, "-f", "json").stdout)["id"] == good.id
    one_line(conversations("show", "odd"), 1, f"cannot read {store.folder / 'odd.json'}: {problem}")
    assert conversations("rm", "odd").returncode == 0
