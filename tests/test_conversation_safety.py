"""Conversations that cannot be lost or bricked: kill -9, two sessions, odd bytes and huge tasks, as a user meets them.

Every test runs the installed `interpreter` against the fake server, which refuses tool calls and tool messages that
do not pair up, as OpenAI does.
"""

from __future__ import annotations

import contextlib
import json
import os
import random
import signal
import subprocess
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from fake_server import Answer, FakeServer, RecordedRequest, Reply
from fakes import without_total
from stored import conversation_files, stored_messages

HOMES = 10  # conversations, each killed KILLS times in a row: 50 kills in all, every resume after one
KILLS = 5
CELLS = 3  # cells each task runs before the model answers in text
CELL = "import time; time.sleep(0.3)"  # long enough that many kills land while it runs
SLOW_CELL = "import time; time.sleep(60)"


def cells_then_text(request: RecordedRequest) -> Answer:
    """The model: a cell, until CELLS cells answered the latest task; then "done" (at once for "go on")."""
    messages = (request.body or {}).get("messages") or []
    task = max(index for index, message in enumerate(messages) if message["role"] == "user")
    answered = sum(message["role"] == "tool" for message in messages[task:])
    if messages[task]["content"] == "go on" or answered >= CELLS:
        return Reply.text("done")
    return Reply.tool_call("python", CELL)


@pytest.fixture
def pairing_server() -> Iterator[FakeServer]:
    with FakeServer(responder=cells_then_text) as fake:
        yield fake


def command(server: FakeServer, interpreter_command: list[str], *args: str) -> list[str]:
    return [*interpreter_command, "--api-base", server.url, "--api-key", "sk-test", "-y", *args]


def environment(home: Path) -> dict[str, str]:
    return {**os.environ, "INTERPRETER_HOME": str(home)}


def run(argv: list[str], home: Path, stdin: bytes = b"") -> subprocess.CompletedProcess[str]:
    done = subprocess.run(argv, input=stdin, capture_output=True, env=environment(home), timeout=60, check=False)
    return subprocess.CompletedProcess(done.args, done.returncode, done.stdout.decode(), done.stderr.decode())


def start(argv: list[str], home: Path) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        argv,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        env=environment(home),
        start_new_session=True,  # its own group, so that whatever it leaves behind can be ended after the test
    )


def saved(home: Path) -> list[Path]:
    return conversation_files(home / "conversations")


def wait_for(condition: Callable[[], object], what: str, timeout: float = 30) -> None:
    """Poll `condition()` until it holds; the test fails saying `what` did not happen."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            pytest.fail(f"{what} did not happen within {timeout}s")
        time.sleep(0.02)


def kill_9(process: subprocess.Popen[bytes]) -> None:
    """SIGKILL, as the OOM killer sends it; then end whatever the process had started (its group)."""
    process.kill()
    process.wait()
    with contextlib.suppress(ProcessLookupError):  # it left nothing behind
        os.killpg(process.pid, signal.SIGKILL)


def in_a_cell(server: FakeServer, interpreter_command: list[str], home: Path) -> subprocess.Popen[bytes]:
    """A session started on a task whose one cell sleeps a minute, once that cell runs (kill it when done)."""
    server.enqueue(Reply.tool_call("python", SLOW_CELL))
    process = start(command(server, interpreter_command, "-c", "sleep a minute"), home)
    try:
        wait_for(lambda: a_cell_is_running(home), "the cell's start")
    except BaseException:
        kill_9(process)
        raise
    return process


def a_cell_is_running(home: Path) -> bool:
    """Whether the conversation's last message is an assistant's tool call (the cell it asked for is running)."""
    files = saved(home)
    if not files:
        return False
    messages = stored_messages(files[0])
    return bool(messages) and bool(messages[-1].get("tool_calls"))


def calls_asked(home: Path) -> int:
    """How many of the conversation's answers asked for cells (a new one: the model's request got through)."""
    files = saved(home)
    messages = stored_messages(files[0]) if files else []
    return sum(bool(message.get("tool_calls")) for message in messages)


def kill_during_cells(argv: list[str], home: Path, delay: float) -> tuple[int, str]:
    """Run `argv` until a new cell starts, `delay` seconds more, then kill -9: (its exit status, what it printed)."""
    before = calls_asked(home)
    process = subprocess.Popen(
        argv, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, env=environment(home)
    )
    try:
        wait_for(lambda: calls_asked(home) > before or process.poll() is not None, "a cell's start")
        time.sleep(delay)  # where the kill lands: the seed decides, not the machine's speed
    finally:
        process.kill()
    printed, _ = process.communicate()
    return process.returncode, printed.decode()


def test_kill_9_at_random_moments_never_leaves_a_conversation_the_server_refuses(
    pairing_server: FakeServer, interpreter_command: list[str], tmp_path: Path
) -> None:
    delays = random.Random(10).sample([step / 100 for step in range(150)], HOMES * KILLS)  # 0 to 1.5 s into cells

    def kill_and_resume(number: int) -> list[tuple[int, str]]:
        home = tmp_path / f"home{number}"
        outcomes = []
        for kill in range(KILLS):
            resume = ["--resume"] if kill else []
            argv = command(pairing_server, interpreter_command, *resume, "-c", "run three cells")
            outcomes.append(kill_during_cells(argv, home, delays[number * KILLS + kill]))
        last = run(command(pairing_server, interpreter_command, "--resume", "-c", "go on"), home)
        return [*outcomes, (last.returncode, last.stdout + last.stderr)]

    with ThreadPoolExecutor(max_workers=4) as pool:
        outcomes = [outcome for home in pool.map(kill_and_resume, range(HOMES)) for outcome in home]

    failed = [printed for status, printed in outcomes if status not in (0, -signal.SIGKILL)]
    assert failed == [], failed[:3]  # a refused resume exits 1 with the server's 400 before any kill
    answers = [without_total(printed.splitlines())[-1] for _, printed in outcomes[KILLS :: KILLS + 1]]
    assert [answer.endswith("done") for answer in answers] == [True] * HOMES


def test_a_cell_cut_short_by_kill_9_is_answered_on_resume_and_said_once(
    server: FakeServer, interpreter_command: list[str], tmp_path: Path
) -> None:
    kill_9(in_a_cell(server, interpreter_command, tmp_path))
    server.enqueue(Reply.text("It was cut short."))

    first = run(command(server, interpreter_command, "--resume", "-c", "what happened?"), tmp_path)
    again = run(command(server, interpreter_command, "--resume", "-c", "and now?"), tmp_path)

    assert first.returncode == 0, first.stderr
    note = "repaired: 1 code cell had no result (the session ended while it ran)"
    assert note in first.stdout + first.stderr
    assert note not in again.stdout + again.stderr
    sent = server.requests[-2].body or {}
    assert [m["role"] for m in sent["messages"][1:]] == ["user", "assistant", "tool", "user"]
    assert sent["messages"][3]["content"] == "not run: the session ended"


def test_a_second_session_gets_one_line_offering_a_copy_and_the_copy_goes_on(
    server: FakeServer, interpreter_command: list[str], tmp_path: Path
) -> None:
    first = in_a_cell(server, interpreter_command, tmp_path)
    try:
        (original,) = saved(tmp_path)
        before = original.read_text()
        conversation_id = original.stem

        second = run(command(server, interpreter_command, "--resume", conversation_id, "-c", "me too"), tmp_path)
        server.enqueue(Reply.text("Copied."))
        copy = run(
            command(server, interpreter_command, "--resume", conversation_id, "--copy", "-c", "me too"), tmp_path
        )
    finally:
        kill_9(first)

    assert second.returncode == 2
    assert second.stderr == (
        f"interpreter: conversation {conversation_id} is open in another session (PID {first.pid}); "
        f"to continue a copy: interpreter --resume {conversation_id} --copy\n"
    )
    assert copy.returncode == 0, copy.stderr
    assert f"continuing a copy of conversation {conversation_id} as " in copy.stdout + copy.stderr
    assert original.read_text() == before  # the copy saved under its own id
    (copied,) = [path for path in saved(tmp_path) if path != original]
    assert [m["content"] for m in stored_messages(copied)][-2:] == ["me too", "Copied."]


def test_after_kill_9_the_lock_is_gone_and_the_conversation_resumes(
    server: FakeServer, interpreter_command: list[str], tmp_path: Path
) -> None:
    kill_9(in_a_cell(server, interpreter_command, tmp_path))
    server.enqueue(Reply.text("Back."))
    resumed = run(command(server, interpreter_command, "--resume", "-c", "are you there?"), tmp_path)
    assert resumed.returncode == 0, resumed.stderr
    assert without_total(resumed.stdout.splitlines())[-1] == "Back."


def test_a_task_that_is_not_utf8_is_sent_and_saved_with_replacement_characters(
    server: FakeServer, interpreter_command: list[str], tmp_path: Path
) -> None:
    server.enqueue(Reply.text("Bonjour."), Reply.text("Encore."), Reply.text("Toujours."))
    argument = run(command(server, interpreter_command, "-c", "caf\udce9"), tmp_path)  # the bytes b"caf\xe9"
    piped = run(command(server, interpreter_command), tmp_path / "piped", stdin="crème brûlée".encode("latin-1"))
    resumed = run(command(server, interpreter_command, "--resume", "-c", "again"), tmp_path)

    assert (argument.returncode, piped.returncode, resumed.returncode) == (0, 0, 0), argument.stderr + piped.stderr
    sent = [request.body["messages"][-1]["content"] for request in server.requests if request.body]
    assert sent == ["caf\ufffd", "cr\ufffdme br\ufffdl\ufffde", "again"]
    (conversation,) = saved(tmp_path)
    assert stored_messages(conversation)[0]["content"] == "caf\ufffd"


def test_a_conversation_saved_with_undecodable_characters_resumes(
    server: FakeServer, interpreter_command: list[str], tmp_path: Path
) -> None:
    folder = tmp_path / "conversations"
    folder.mkdir()
    messages = [{"role": "user", "content": "caf\udce9"}, {"role": "assistant", "content": "Oui."}]
    old = {"version": 1, "id": "old", "created": "2025-01-01T00:00:00+00:00", "model": "gpt-4o", "messages": messages}
    (folder / "old.json").write_text(json.dumps(old))  # as versions before this fix saved it
    server.enqueue(Reply.text("Encore."))
    resumed = run(command(server, interpreter_command, "--resume", "old", "-c", "again"), tmp_path)
    assert resumed.returncode == 0, resumed.stderr
    assert (server.requests[-1].body or {})["messages"][1]["content"] == "caf\ufffd"


def test_a_task_larger_than_the_context_window_is_one_line_and_neither_sent_nor_saved(
    server: FakeServer, interpreter_command: list[str], tmp_path: Path
) -> None:
    huge = ("word " * 200_000).encode()  # 1 MB
    result = run(command(server, interpreter_command, "-m", "gpt-4o"), tmp_path, stdin=huge)
    assert result.returncode == 1
    lines = (result.stdout + result.stderr).splitlines()
    assert len(lines) == 1, lines
    assert lines[0].startswith("error: the task is too long to send: about ")
    assert "gpt-4o's context window is 128,000 tokens" in lines[0]
    assert lines[0].endswith("save it to a file and ask the model to read that file")
    assert [request for request in server.requests if request.path.endswith("/chat/completions")] == []
    assert saved(tmp_path) == []


def test_code_output_sent_back_as_text_is_stored_as_output_and_sent_without_the_kind(
    server: FakeServer, interpreter_command: list[str], tmp_path: Path
) -> None:
    server.enqueue(Reply.text("```python\nprint(1)\n```"), Reply.text("It printed 1."))
    result = run(command(server, interpreter_command, "--no-tools", "-c", "Output of block 1 (python): hi"), tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    (conversation,) = saved(tmp_path)
    stored = stored_messages(conversation)
    assert [message.get("kind", "text") for message in stored] == ["text", "text", "output", "text"]
    sent = (server.requests[-1].body or {})["messages"]
    assert [set(message) for message in sent] == [{"role", "content"}] * 4
