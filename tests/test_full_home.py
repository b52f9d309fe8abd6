"""A home that stops taking writes mid-session (a full disk, `chmod 000`): the session runs on, says one line, and the
conversation is kept: in a spare file in the temp directory, and back in the home once it can be written again.

The disk is a real tmpfs of 256 KiB (root mounts it; skipped otherwise), filled by a cell or by the test between two
tasks; `chmod 000` is done by a user the test creates, as root ignores modes.
"""

from __future__ import annotations

import os
import stat
import subprocess
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from fake_server import FakeServer, Reply
from small_disk import FILL_CELL, FILLER, PAGE, fill, tmpfs
from stored import conversation_files, stored_messages
from terminal import Terminal
from users import User, everyone_command, made_user, open_folder

from interpreter.conversation import storage
from interpreter.conversation.locks import holder, lock
from interpreter.conversation.storage import Conversation, ConversationStore
from interpreter.errors import BudgetStoreUnavailable, HomeNotWritable
from interpreter.messages import Message
from interpreter.resilience import diagnostics
from interpreter.resilience.shared.sqlite import SqliteStore

PROBLEMS = ("Traceback", "Logging error", "internal error")  # what a user must never see


@pytest.fixture
def small_home(private_home: Path) -> Iterator[Path]:
    """INTERPRETER_HOME on a 256 KiB tmpfs."""
    with tmpfs(private_home) as home:
        yield home


@pytest.fixture
def spares(tmp_path: Path) -> Path:
    """The temp directory the tool is given (TMPDIR), where spare files of the conversation go."""
    folder = tmp_path / "spares"
    folder.mkdir()
    return folder


def run(
    interpreter_command: list[str], server: FakeServer, task: str, *, env: dict[str, str], cwd: Path
) -> subprocess.CompletedProcess[str]:
    argv = [*interpreter_command, "--api-base", server.url, "--api-key", "sk-test", "-y", "-c", task]
    return subprocess.run(
        argv, capture_output=True, text=True, env={**os.environ, **env}, cwd=cwd, timeout=60, check=False
    )


def spare_files(folder: Path) -> list[Path]:
    return sorted(folder.glob("interpreter-*.json"))


def lines_with(text: str, part: str) -> list[str]:
    return [line for line in text.splitlines() if part in line]


def roles(conversation: Conversation) -> list[str]:
    return [message.role for message in conversation.messages]


def test_a_home_that_fills_during_a_cell_is_one_line_exit_0_and_the_conversation_in_a_spare_file(
    small_home: Path, spares: Path, server: FakeServer, interpreter_command: list[str], tmp_path: Path
) -> None:
    server.enqueue(Reply.tool_call("python", FILL_CELL.format(folder=str(small_home))), Reply.text("Filled it."))
    done = run(interpreter_command, server, "fill the disk", env={"TMPDIR": str(spares)}, cwd=tmp_path)
    out = done.stdout + done.stderr

    assert done.returncode == 0, out
    [spare] = spare_files(spares)
    folder = small_home / "conversations"
    line = (
        f"cannot save the conversation in {folder} (no space left on device): it goes to {spare} "
        "until the home can be written again (%load that file continues it)"
    )
    assert lines_with(out, "cannot ") == [line]
    assert not [problem for problem in PROBLEMS if problem in out]
    kept = storage.read(spare)
    assert roles(kept) == ["user", "assistant", "tool", "assistant"]
    assert "filled: No space left on device" in kept.messages[2].content
    assert kept.messages[3].content == "Filled it."
    assert stat.S_IMODE(spare.stat().st_mode) == 0o600
    # The file in the home was never replaced by a half-written one: it holds what was saved before the disk filled.
    [home_file] = conversation_files(folder)
    assert len(stored_messages(home_file)) == 2  # and part of the third, cut short by the full disk: not read
    assert storage.read(home_file).messages[:2] == kept.messages[:2]
    assert not list(folder.glob(".*.tmp"))


def test_a_temp_directory_full_too_keeps_it_in_memory_and_says_at_exit_it_was_not_saved(
    small_home: Path, server: FakeServer, interpreter_command: list[str], tmp_path: Path
) -> None:
    temp = small_home / "tmp"  # on the same full disk
    temp.mkdir()
    server.enqueue(Reply.tool_call("python", FILL_CELL.format(folder=str(small_home))), Reply.text("Filled it."))
    done = run(interpreter_command, server, "fill the disk", env={"TMPDIR": str(temp)}, cwd=tmp_path)
    out = done.stdout + done.stderr

    assert done.returncode == 0, out
    folder = small_home / "conversations"
    [home_file] = conversation_files(folder)
    kept_in_memory = (
        f"cannot save the conversation in {folder} (no space left on device), nor in {temp} "
        "(no space left on device): it is kept in memory only until it can be"
    )
    lost = f"conversation {home_file.stem} was not saved in full: {folder} cannot be written"
    assert lines_with(out, "cannot ") == [kept_in_memory, lost]
    assert not [problem for problem in PROBLEMS if problem in out]
    assert spare_files(temp) == []  # no empty spare file left behind
    assert len(stored_messages(home_file)) == 2  # as saved before the disk filled


@pytest.mark.parametrize("verbose", [False, True], ids=["plain", "verbose"])
def test_an_interactive_session_on_a_home_that_fills_then_frees_says_so_twice_and_the_home_gets_it_all(
    small_home: Path, spares: Path, server: FakeServer, interpreter_command: list[str], verbose: bool
) -> None:
    history = small_home / "history"
    history.write_text("\n# 2025-01-01 00:00:00\n+an older task\n".ljust(PAGE - 1, "x") + "\n")  # one whole page
    history.chmod(0o600)
    server.enqueue(Reply.text("Hello."), Reply.text("Hello again."))
    terminal = Terminal(
        interpreter_command[0],
        ["--api-base", server.url, "--api-key", "sk-test", *(["--verbose"] if verbose else [])],
        cols=400,
        env={"TMPDIR": str(spares)},
    )
    try:
        terminal.wait_for_prompt()
        fill(small_home)
        terminal.send("hi\r")  # its history entry needs a new page: the history fails, then the conversation
        terminal.wait_for("Hello.")
        terminal.wait_for_prompt()
        [spare] = spare_files(spares)
        (small_home / FILLER).unlink()
        terminal.send("hi again\r")
        terminal.wait_for("Hello again.")
        terminal.wait_for_prompt()
        terminal.press("d")
        assert terminal.exit_status() == 0
    finally:
        terminal.close()

    folder = small_home / "conversations"
    screen = terminal.text()
    away = (
        f"cannot save the conversation in {folder} (no space left on device): it goes to {spare} "
        "until the home can be written again (%load that file continues it)"
    )
    assert lines_with(screen, "conversation") == [away, f"the conversation is saved in {folder} again"]
    # The history met the full disk first; the line about the conversation says it all, so its own is for --verbose.
    history_line = f"cannot write the history file {history} (no space left on device): going on without it"
    assert lines_with(screen, "history") == ([history_line] if verbose else [])
    assert not [problem for problem in PROBLEMS if problem in screen]
    assert spare_files(spares) == []  # the home holds it all again
    [home_file] = conversation_files(folder)
    kept = storage.read(home_file)
    assert [message.content for message in kept.messages] == ["hi", "Hello.", "hi again", "Hello again."]
    assert history.stat().st_size == PAGE  # left as it was, never half an entry


def test_load_on_a_full_home_goes_on_with_the_loaded_conversation_kept_in_a_spare_file(
    small_home: Path, spares: Path, server: FakeServer, interpreter_command: list[str], tmp_path: Path
) -> None:
    saved = Conversation.new("gpt-4o")
    saved.messages += [Message("user", "remember 42"), Message("assistant", "I will remember 42.")]
    path = tmp_path / "saved.json"
    storage.write(saved, path)
    server.enqueue(Reply.text("It was 42."))
    terminal = Terminal(
        interpreter_command[0],
        ["--api-base", server.url, "--api-key", "sk-test"],
        cols=400,
        env={"TMPDIR": str(spares)},
    )
    try:
        terminal.wait_for_prompt()
        fill(small_home)
        terminal.send(f"%load {path}\r")
        terminal.wait_for("loaded 2 messages")
        terminal.wait_for_prompt()
        terminal.send("what was it?\r")
        terminal.wait_for("It was 42.")
        terminal.wait_for_prompt()
        terminal.press("d")
        assert terminal.exit_status() == 0
    finally:
        terminal.close()

    [spare] = spare_files(spares)
    screen = terminal.text()
    assert len(lines_with(screen, f"it goes to {spare}")) == 1
    assert not [problem for problem in PROBLEMS if problem in screen]
    body = server.requests[-1].body
    assert body is not None
    sent = [message["content"] for message in body["messages"] if message["role"] != "system"]
    assert sent == ["remember 42", "I will remember 42.", "what was it?"]
    assert [message.content for message in storage.read(spare).messages][-2:] == ["what was it?", "It was 42."]


# ---- chmod 000, by a user who is not root ----------------------------------------------------------------------


@pytest.fixture
def stranger() -> Iterator[tuple[User, Path, list[str]]]:
    """A user made for the test, a folder of theirs (outside root's private temp directory), and the tool they run."""
    with made_user("si-home") as user, open_folder() as place:
        own = user.folder(place / "own", 0o700)
        try:
            yield user, own, everyone_command(place)
        finally:
            subprocess.run(["chmod", "-R", "u+rwx", str(own)], check=False)  # a home left at 000 is removed too


def as_user(user: User, own: Path, command: list[str]) -> Callable[[FakeServer, str], subprocess.CompletedProcess[str]]:
    """Run the installed tool as `user`, with a home and a temp directory of theirs."""
    env = {"PATH": "/usr/local/bin:/usr/bin:/bin", "HOME": str(own), "INTERPRETER_HOME": str(own / "home")}

    def start(server: FakeServer, task: str) -> subprocess.CompletedProcess[str]:
        argv = [*command, "--api-base", server.url, "--api-key", "sk-test", "-y", "-c", task]
        return user.run(argv, env={**env, "TMPDIR": str(own)}, cwd=own, timeout=60)

    return start


def test_chmod_000_on_the_home_mid_session_keeps_the_cell_result_in_a_spare_file_a_later_session_loads(
    stranger: tuple[User, Path, list[str]], server: FakeServer
) -> None:
    user, own, command = stranger
    home = own / "home"
    session = as_user(user, own, command)
    server.enqueue(Reply.tool_call("python", f"import os; os.chmod({str(home)!r}, 0); print('locked')"))
    server.enqueue(Reply.text("Locked it."))

    done = session(server, "lock the home")
    out = done.stdout + done.stderr
    assert done.returncode == 0, out
    [spare] = spare_files(own)
    line = (
        f"cannot save the conversation in {home / 'conversations'} (permission denied): it goes to {spare} "
        "until the home can be written again (%load that file continues it)"
    )
    assert lines_with(out, "cannot ") == [line]
    assert not [problem for problem in PROBLEMS if problem in out]
    kept = storage.read(spare)
    assert [message.content for message in kept.messages[2:]] == ["locked\n", "Locked it."]

    # The next session, the home still locked: one line saying which file it cannot read, and no traceback.
    refused = session(server, "hello")
    assert refused.returncode == 2
    [line] = refused.stderr.splitlines()
    assert line == (
        f"interpreter: cannot read the settings file {home / 'config.toml'}: permission denied "
        f"(chmod u+rwx {home}; chmod u+r {home / 'config.toml'})"
    )

    home.chmod(0o700)  # the person unlocks it, and goes on with what the spare file holds
    loaded = session(server, f"%load {spare}")
    assert loaded.returncode == 0, loaded.stdout + loaded.stderr
    [loaded_file] = [path for path in conversation_files(home / "conversations") if path.stem != kept.id]
    assert storage.read(loaded_file).messages == kept.messages


# ---- the pieces, each on a real full disk ----------------------------------------------------------


def test_a_save_on_a_full_disk_leaves_the_saved_file_whole_and_no_temp_file(tmp_path: Path) -> None:
    with tmpfs(tmp_path / "disk") as disk:
        store = ConversationStore(disk / "conversations")
        conversation = Conversation.new("gpt-4o")
        conversation.messages.append(Message("user", "kept"))
        store.save(conversation)
        fill(disk)
        conversation.messages.append(Message("assistant", "x" * 3 * PAGE))  # the file now needs new pages
        with pytest.raises(HomeNotWritable) as failure:
            store.save(conversation)
        assert str(failure.value) == f"cannot save the conversation in {store.folder} (no space left on device)"
        assert [m.content for m in store.load(conversation.id).messages] == ["kept"]
        assert [path.name for path in store.folder.glob(".*.tmp")] == []
        store.release()


def test_a_lock_taken_on_a_full_disk_holds_without_its_holder_named(tmp_path: Path) -> None:
    with tmpfs(tmp_path / "disk") as disk:
        fill(disk)
        path = disk / ".conversation.lock"  # an empty file needs no page; the PID in it would
        fd = lock(path)
        assert fd is not None
        try:
            with pytest.raises(BlockingIOError):
                lock(path)
            assert holder(path) == "PID unknown"
        finally:
            os.close(fd)


def test_a_log_on_a_disk_that_fills_says_so_once_and_never_prints_a_logging_error(
    tmp_path: Path, capfd: pytest.CaptureFixture[str]
) -> None:
    said: list[str] = []
    with tmpfs(tmp_path / "disk") as disk:
        logger = diagnostics.configure()
        diagnostics.log_to_file(disk / "logs", say=said.append)
        logger.info("before the disk filled")
        fill(disk)
        for number in range(20):
            logger.info("a line of %d characters: %s", PAGE, str(number) * PAGE)
        diagnostics.configure()  # closes the file before the disk goes away

    log = disk / "logs" / "interpreter.log"
    assert said == [f"cannot write the log {log} (no space left on device): going on without it"]
    captured = capfd.readouterr()
    assert captured.err == "" and captured.out == ""


def test_a_log_call_with_a_bug_still_gets_loggings_own_report(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    said: list[str] = []
    logger = diagnostics.configure()
    diagnostics.log_to_file(tmp_path / "logs", say=said.append)
    try:
        logger.info("%d", "not a number")
    finally:
        diagnostics.configure()
    assert said == []
    assert "--- Logging error ---" in capsys.readouterr().err  # a programming error, not the disk's: logging says it


def test_the_shared_budget_on_a_full_disk_is_one_clear_error_the_session_falls_back_on(tmp_path: Path) -> None:
    with tmpfs(tmp_path / "disk") as disk:
        store = SqliteStore(disk / "budget.sqlite3")
        store.reserve("key", "one session", 100)  # the file and its write-ahead log exist, with room of their own
        fill(disk)
        with pytest.raises(BudgetStoreUnavailable) as failure:
            for number in range(200):  # ledgers of new budgets, until the file needs a page the disk has not got
                store.reserve(f"key {number} {'x' * PAGE}", "one session", 100)
        store.close()
    assert (
        str(failure.value)
        == f"the shared budget file {disk / 'budget.sqlite3'} cannot be used: database or disk is full"
    )
