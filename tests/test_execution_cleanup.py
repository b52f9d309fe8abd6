"""Nothing left behind: real processes, real signals; after each test /proc must show no tagged process alive."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import textwrap
import time
from collections.abc import Callable
from pathlib import Path
from typing import cast

import pexpect
import pytest
from fake_server import FakeServer, Reply
from test_execution import assert_nothing_left, needs_perl, run, tagged_processes

from interpreter.execution import Executor, KernelState
from interpreter.execution.executor import TAG_VARIABLE
from interpreter.execution.supervisor import make_tag
from interpreter.messages import OutputChunk, RunResult

pytestmark = pytest.mark.skipif(not Path("/proc/self/environ").exists(), reason="finds processes through /proc")


def wait_until(condition: Callable[[], bool], seconds: float, what: str) -> None:
    """Poll `condition` until it holds; fail after `seconds` (a generous bound, never a measurement)."""
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, f"waited {seconds} s for {what}"
        time.sleep(0.05)


def owned_by(owner: int) -> list[int]:
    """Pids of live processes tagged by an executor inside process `owner`."""
    prefix = f"{TAG_VARIABLE}={owner}-".encode()
    found = []
    for entry in Path("/proc").iterdir():
        try:
            environ = (entry / "environ").read_bytes()
            state = (entry / "stat").read_text().rsplit(")", 1)[1].split()[0]
        except (OSError, IndexError):
            continue
        if state != "Z" and any(item.startswith(prefix) for item in environ.split(b"\0")):
            found.append(int(entry.name))
    return found


# ---- the interpreter process is ended --------------------------------------------------------------------


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGHUP, signal.SIGKILL], ids=lambda s: s.name)
def test_a_signal_to_the_interpreter_leaves_nothing_running(
    signum: signal.Signals, interpreter_command: list[str], server: FakeServer, tmp_path: Path
) -> None:
    # A background job, a detached daemon and a foreground command that ignore SIGINT and SIGTERM.
    code = "trap '' INT TERM; sleep 1000 & setsid sleep 1000 & sleep 1000"
    server.enqueue(Reply.tool_call("shell", code))
    command = [*interpreter_command, "-c", "wait", "-y", "--api-base", server.url, "--api-key", "x"]
    with (tmp_path / "stderr").open("w") as stderr:
        process = subprocess.Popen(command, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=stderr)
    try:
        # The supervisor, bash and three sleeps.
        wait_until(lambda: len(owned_by(process.pid)) >= 5, 60, "the cell to start its processes")
        process.send_signal(signum)
        process.wait(timeout=30)
    finally:
        process.kill()
        process.wait()
    wait_until(lambda: owned_by(process.pid) == [], 10, "the tagged processes to end")
    if signum != signal.SIGKILL:  # the CLI turned it into an ordinary exit, cleanup included
        assert process.returncode == 128 + signum, (tmp_path / "stderr").read_text()


def test_a_killed_parent_process_leaves_nothing_running(tmp_path: Path) -> None:
    script = textwrap.dedent(
        """
        import sys
        from interpreter.execution import Executor
        executor = Executor()
        list(executor.run("python", "import subprocess; child = subprocess.Popen(['sleep', '1000'])"))
        list(executor.run("javascript" if "javascript" in executor.languages() else "python", "1"))
        for item in executor.run("shell", "(sleep 1000 &); setsid sleep 1000 & echo started; sleep 1000"):
            print(item, flush=True)
        """
    )
    child = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, text=True)
    try:
        assert child.stdout is not None
        assert "started" in child.stdout.readline()
        # Supervisor and worker for each language, the python cell's child, the shell's three sleeps.
        wait_until(lambda: len(owned_by(child.pid)) >= 8, 30, "every worker and its children")
        child.kill()
    finally:
        child.kill()
        child.wait()
    wait_until(lambda: owned_by(child.pid) == [], 10, "the tagged processes to end")


def test_a_new_executor_ends_what_dead_sessions_left_and_nothing_else() -> None:
    gone = subprocess.Popen(["true"])
    gone.wait()
    orphan_env = {**os.environ, TAG_VARIABLE: f"{gone.pid}-1-deadsession"}
    orphan = subprocess.Popen(["sleep", "1000"], env=orphan_env, start_new_session=True)
    living_env = {**os.environ, TAG_VARIABLE: make_tag("livesession")}  # owned by this (live) process
    living = subprocess.Popen(["sleep", "1000"], env=living_env, start_new_session=True)
    foreign_env = {**os.environ, TAG_VARIABLE: "not-our-format"}
    foreign = subprocess.Popen(["sleep", "1000"], env=foreign_env, start_new_session=True)
    try:
        with Executor() as executor:
            run(executor, "shell", "true")
            orphan.wait(timeout=10)  # killed by the new executor's supervisor
            assert orphan.returncode == -signal.SIGKILL
        assert living.poll() is None
        assert foreign.poll() is None
    finally:
        for process in (orphan, living, foreign):
            process.kill()
            process.wait()
    assert_nothing_left(executor.tag)


# ---- what the cell does ------------------------------------------------------------------------------------


def test_fifty_children_of_a_python_cell_are_named_and_ended() -> None:
    with Executor() as executor:
        code = "import subprocess\nchildren = [subprocess.Popen(['sleep', '1000']) for _ in range(50)]"
        _, result = run(executor, "python", code)
        assert result.output.startswith("[still running: PID ")
        assert "(sleep 1000), PID" in result.output
        assert "and 45 more" in result.output
        assert len(tagged_processes(executor.tag)) == 52  # the supervisor, the worker and the 50
        assert run(executor, "python", "len(children)")[1].output == "50\n"  # named once, not again
    assert_nothing_left(executor.tag)


def test_orphaned_and_detached_children_of_a_shell_cell_are_ended() -> None:
    with Executor() as executor:
        code = "for i in $(seq 25); do (sleep 1000 &); setsid sleep 1000 & done; echo started"
        _, result = run(executor, "shell", code)
        assert result.output.startswith("started\n[still running: PID ")
        assert "(sleep 1000; detached with setsid)" in result.output
        assert len(tagged_processes(executor.tag)) == 52
    assert_nothing_left(executor.tag)


def test_a_cell_that_keeps_forking_until_its_timeout_is_ended() -> None:
    with Executor(grace=0.5) as executor:
        _, result = run(executor, "shell", "while :; do sleep 1000 & done", timeout=1)
        assert result.interrupted
        assert "state is lost" in result.output
    assert_nothing_left(executor.tag)


def test_a_timeout_ends_the_cells_group_and_keeps_what_left_it_with_setsid() -> None:
    code = (
        "import signal, subprocess, time\n"
        "ignore = lambda: signal.signal(signal.SIGINT, signal.SIG_IGN)\n"
        "grouped = subprocess.Popen(['sleep', '1000'], preexec_fn=ignore)\n"
        "detached = subprocess.Popen(['sleep', '1001'], start_new_session=True)\n"
        "time.sleep(60)"
    )
    with Executor(grace=5.0) as executor:
        _, result = run(executor, "python", code, timeout=1)
        assert result.output.startswith("Traceback")  # the cell obeyed SIGINT: its worker and state are kept
        assert "[timed out after 1 s and was interrupted]\n[still running: PID " in result.output
        assert "(sleep 1001; detached with setsid)" in result.output
        assert "sleep 1000" not in result.output  # it ignored SIGINT, yet went with the cell's group
        _, after = run(executor, "python", "print(grouped.poll(), detached.poll())")
        assert after.output == "-9 None\n"
        assert not after.restarted
    assert_nothing_left(executor.tag)


# Each generation forks the next, exits, and takes a session of its own, as fast as perl forks; the 1st, 51st,
# 101st... write their number to the file. Bounded for the shared machine: 20,000 generations, two alive at a time.
FAST_CHAIN = """
use POSIX;
$SIG{INT} = "IGNORE";
for my $i (1 .. 20000) {
    my $pid = fork;
    next unless defined $pid;
    POSIX::_exit(0) if $pid;
    POSIX::setsid();
    next if $i % 50 != 1;
    open(my $file, ">", $ARGV[0]) or next;
    print $file "$i\n";
    close($file);
}
"""


@needs_perl
def test_a_chain_forking_faster_than_proc_can_be_read_is_ended_with_its_worker(tmp_path: Path) -> None:
    progress = tmp_path / "progress"
    code = (
        "import signal, subprocess, time\n"
        f"subprocess.Popen(['perl', '-e', {FAST_CHAIN!r}, {str(progress)!r}])\n"
        "signal.signal(signal.SIGINT, signal.SIG_IGN)\n"
        "time.sleep(60)"
    )
    with Executor(grace=0.5) as executor:
        _, result = run(executor, "python", code, timeout=2)
        assert "state is lost" in result.output
        wait_until(progress.exists, 30, "the chain to have run")
        then = progress.read_text()
        time.sleep(3)  # 50 generations take ~0.2 s here: a live chain would have written again
        assert progress.read_text() == then
    assert_nothing_left(executor.tag)


def test_a_cell_that_ignores_sigint_and_sigterm_is_killed_with_its_children() -> None:
    code = (
        "import signal, subprocess\n"
        "for signum in (signal.SIGINT, signal.SIGTERM):\n"
        "    signal.signal(signum, signal.SIG_IGN)\n"
        "child = subprocess.Popen(['sleep', '1000'])  # inherits both as ignored\n"
        "while True:\n"
        "    pass"
    )
    with Executor(grace=0.5) as executor:
        _, result = run(executor, "python", code, timeout=0.5)
        assert "timed out after 0.5 s; the python process was stopped, so its state is lost" in result.output
        _, after = run(executor, "python", "print('fresh')")
        assert after.restarted
    assert_nothing_left(executor.tag)


def test_a_shell_cell_that_traps_sigint_and_sigterm_is_ended_by_close() -> None:
    with Executor(grace=0.5) as executor:
        items = executor.run("shell", "trap '' INT TERM; sleep 1000 & echo started; while :; do :; done")
        assert next(items) == OutputChunk("started\n")
        assert executor.interrupt()
        *_, result = items
        assert isinstance(result, RunResult)
        assert result.interrupted
        assert "interrupted; the shell process was stopped, so its state is lost" in result.output
    assert_nothing_left(executor.tag)


def test_an_exception_in_the_code_reading_the_run_stops_the_cell() -> None:
    with Executor() as executor:
        with pytest.raises(RuntimeError, match="renderer bug"):
            for _ in executor.run("shell", "sleep 1000 & echo started; sleep 1000"):
                raise RuntimeError("renderer bug")
        assert executor.kernels == {"shell": KernelState.IDLE}
        assert run(executor, "shell", "echo next")[1].output.endswith("next\n")
    assert_nothing_left(executor.tag)


def test_an_exception_with_the_executor_open_ends_everything() -> None:
    with pytest.raises(RuntimeError, match="anywhere"), Executor() as executor:
        run(executor, "shell", "setsid sleep 1000 & sleep 1000 &")
        raise RuntimeError("anywhere")
    assert_nothing_left(executor.tag)


# ---- terminal prompts --------------------------------------------------------------------------------------


def test_a_terminal_prompt_fails_at_once_even_when_we_have_a_terminal(tmp_path: Path) -> None:
    script = tmp_path / "prompt.py"
    script.write_text(
        textwrap.dedent(
            f"""
            import os
            from interpreter.execution import Executor
            os.close(os.open("/dev/tty", os.O_RDWR))  # this process does have a controlling terminal
            print("HAS TTY", flush=True)
            getpass = "{sys.executable} -c 'import getpass; getpass.getpass()'"
            with Executor() as executor:
                for code in (getpass, "read -r answer < /dev/tty"):
                    *_, result = executor.run("shell", code, timeout=60)
                    print("RESULT", result.exit_status, result.interrupted, flush=True)
            """
        )
    )
    child: pexpect.spawn[bytes] = pexpect.spawn(sys.executable, [str(script)], timeout=120, env=dict(os.environ))
    try:
        child.expect("HAS TTY")
        for _ in range(2):
            child.expect(r"RESULT (\S+) (\S+)")
            status, interrupted = cast("re.Match[bytes]", child.match).group(1, 2)
            assert (interrupted, status != b"0") == (b"False", True)  # it failed by itself, not by the timeout
        child.expect(pexpect.EOF)
    finally:
        child.close(force=True)
