"""`--sandbox`, run as a user would: cells write only in the working and temp directories and have no network.

Each test runs the installed `interpreter` in a working directory of its own, with TMPDIR pointing at a temp
directory of its own, so "outside" (a third directory) is outside both, as a person's home would be. The tests
marked with both sandboxes run once with bubblewrap and once with its fallback, Landlock (bwrap then not on PATH);
tests/test_sandbox_attacker.py runs them as a non-root user, against the user's and the tool's own files.
"""

from __future__ import annotations

import errno
import json
import os
import socket
import subprocess
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from functools import partial
from pathlib import Path

import pytest
from fake_server import FakeServer, RecordedRequest, Reply
from no_bwrap import path_without_bwrap

from interpreter.doctor.check import Check, Status
from interpreter.doctor.machine import sandbox_check
from interpreter.execution import Executor, bubblewrap, landlock, sandbox, supervisor
from interpreter.messages import RunResult

NO_LANDLOCK = str(Path(__file__).parent / "no_landlock.py")
REFUSED_WRITE = "PermissionError: [Errno 13] Permission denied"  # by Landlock
READ_ONLY = "OSError: [Errno 30] Read-only file system"  # by bubblewrap's read-only root
REFUSED_SOCKET = "[Errno 1] Operation not permitted"
LANDLOCK_ONLY = "landlock"

needs_sandbox = pytest.mark.skipif(not sandbox.probe().available, reason="this machine cannot sandbox cells")
needs_bwrap = pytest.mark.skipif(not sandbox.probe().bwrap, reason="bubblewrap cannot set up a sandbox here")
both_sandboxes = pytest.mark.parametrize("kind", [pytest.param(sandbox.BWRAP, marks=needs_bwrap), LANDLOCK_ONLY])


@dataclass
class Place:
    """The directories of one test: where it runs, its temp directory, and one outside both."""

    work: Path
    temp: Path
    outside: Path


@dataclass
class Cli:
    """The installed command, run in `place.work` against `server`."""

    command: list[str]
    server: FakeServer
    place: Place

    def __call__(
        self, *args: str, stdin: str = "", wrapper: tuple[str, ...] = (), kind: str = sandbox.BWRAP
    ) -> subprocess.CompletedProcess[str]:
        env = {**os.environ, "TMPDIR": str(self.place.temp)}
        if kind == LANDLOCK_ONLY:
            env["PATH"] = path_without_bwrap(env["PATH"], self.place.temp.parent / "bin")
        full = [*wrapper, *self.command, "--api-base", self.server.url, "--api-key", "sk-test", *args]
        return subprocess.run(
            full, input=stdin, capture_output=True, text=True, env=env, cwd=self.place.work, timeout=60, check=False
        )

    def fed_back(self) -> list[str]:
        """What the model was told after each cell, in order (the last message of each later request)."""
        chats = [request for request in self.server.requests if request.path.endswith("/chat/completions")]
        return [str(_last(request)["content"]) for request in chats[1:]]


def _last(request: RecordedRequest) -> dict[str, object]:
    assert request.body is not None
    message: dict[str, object] = request.body["messages"][-1]
    return message


@pytest.fixture
def place(tmp_path: Path) -> Place:
    found = Place(tmp_path / "work", tmp_path / "temp", tmp_path / "outside")
    for folder in (found.work, found.temp, found.outside):
        folder.mkdir()
    return found


@pytest.fixture
def cli(interpreter_command: list[str], server: FakeServer, place: Place) -> Cli:
    return Cli(interpreter_command, server, place)


@pytest.fixture
def udp() -> Iterator[socket.socket]:
    """A UDP socket on the loopback that a cell may try to send to."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as receiver:
        receiver.bind(("127.0.0.1", 0))
        receiver.setblocking(False)
        yield receiver


def _network_cells(server: FakeServer, udp: socket.socket) -> list[Reply]:
    """A cell that sends a datagram to `udp`, one that asks the fake API server for its models, and an answer."""
    port = udp.getsockname()[1]
    send = f"import socket\nsocket.socket(socket.AF_INET, socket.SOCK_DGRAM).sendto(b'leak', ('127.0.0.1', {port}))"
    fetch = f"import urllib.request\nprint(urllib.request.urlopen({server.url + '/models'!r}).status)"
    return [Reply.tool_call("python", send), Reply.tool_call("python", fetch), Reply.text("done")]


def _received(udp: socket.socket) -> bytes:
    try:
        return udp.recv(64)
    except BlockingIOError:
        return b""


@both_sandboxes
def test_a_python_cell_may_write_here_and_in_the_temp_dir_but_not_outside(cli: Cli, place: Place, kind: str) -> None:
    cli.server.enqueue(
        Reply.tool_call("python", f"open({str(place.outside / 'py.txt')!r}, 'w').write('x')"),
        Reply.tool_call("python", "import tempfile\nopen(tempfile.gettempdir() + '/t.txt', 'w').write('tt')"),
        Reply.tool_call("python", "open('inside.txt', 'w').write('in')"),
        Reply.text("done"),
    )

    result = cli("-c", "write three files", "-y", "--sandbox", kind=kind)

    assert result.returncode == 0, result.stderr
    refused, *written = cli.fed_back()[:3]
    assert _refused(kind) in refused and str(place.outside / "py.txt") in refused
    assert written == ["2\n", "2\n"]  # the value of each write, as a REPL shows it
    assert list(place.outside.iterdir()) == []
    assert (place.work / "inside.txt").read_text() == "in" and (place.temp / "t.txt").read_text() == "tt"
    assert "(exit status 1, " in result.stdout and "s, sandboxed)" in result.stdout


@both_sandboxes
def test_a_shell_cell_and_every_process_it_starts_cannot_write_outside(cli: Cli, place: Place, kind: str) -> None:
    out = place.outside
    code = (
        f"echo a > {out}/shell.txt; sh -c 'echo b > {out}/sh-c.txt'; (echo c > {out}/job.txt) & wait\n"
        f'python3 -c \'import subprocess; subprocess.run(["touch", "{out}/subprocess.txt"])\'\n'
        "echo d > inside.txt && echo still works here"
    )
    cli.server.enqueue(Reply.tool_call("shell", code), Reply.text("done"))

    result = cli("-c", "write files from children", "-y", "--sandbox", kind=kind)

    assert result.returncode == 0, result.stderr
    told = cli.fed_back()[0]
    assert told.count(_refused(kind).split("] ")[1]) == 4, told
    assert told.endswith("still works here\n")
    assert list(out.iterdir()) == []
    assert (place.work / "inside.txt").read_text() == "d\n"


@both_sandboxes
def test_a_cell_has_no_network_while_the_session_keeps_its_own(cli: Cli, udp: socket.socket, kind: str) -> None:
    cli.server.enqueue(*_network_cells(cli.server, udp))

    result = cli("-c", "send a datagram, then fetch the models", "-y", "--sandbox", kind=kind)

    assert result.returncode == 0, result.stderr
    datagram, fetch = cli.fed_back()[:2]
    assert f"PermissionError: {REFUSED_SOCKET}" in datagram
    assert REFUSED_SOCKET in fetch  # urllib's URLError wraps it
    assert _received(udp) == b""
    assert [request.path for request in cli.server.requests if "models" in request.path] == []
    assert "done" in result.stdout  # the session's own three requests went through


@needs_sandbox
def test_without_sandbox_the_same_cells_write_and_connect_as_before(cli: Cli, place: Place, udp: socket.socket) -> None:
    cli.server.enqueue(Reply.tool_call("shell", f"echo a > {place.outside}/shell.txt && echo wrote"))
    cli.server.enqueue(*_network_cells(cli.server, udp))

    result = cli("-c", "write outside, send, fetch", "-y")

    assert result.returncode == 0, result.stderr
    assert cli.fed_back()[:3] == ["wrote\n", "4\n", "200\n"]  # 4: the bytes sendto sent
    assert (place.outside / "shell.txt").read_text() == "a\n"
    assert _received(udp) == b"leak"
    assert "sandboxed" not in result.stdout


@needs_bwrap
def test_the_question_says_sandboxed_and_a_profile_can_ask_for_it(cli: Cli, place: Place, private_home: Path) -> None:
    private_home.mkdir()
    (private_home / "config.toml").write_text("[profiles.careful]\nsandbox = true\n")
    cli.server.enqueue(Reply.tool_call("shell", f"touch {place.outside}/x"), Reply.text("done"))

    result = cli("-c", "touch a file outside", "--profile", "careful", stdin="y\n")

    assert result.returncode == 0, result.stderr
    assert "Run this code (sandboxed)? [y/N/e]" in result.stdout
    assert "Read-only file system" in cli.fed_back()[0]
    assert list(place.outside.iterdir()) == []


@needs_sandbox
def test_json_events_say_a_cell_ran_sandboxed(cli: Cli) -> None:
    cli.server.enqueue(Reply.tool_call("python", "print(1)"), Reply.text("done"))

    result = cli("-c", "print one", "-y", "--sandbox", "--json")

    finished = [event for event in map(json.loads, result.stdout.splitlines()) if event["type"] == "code_finished"]
    assert [event["sandboxed"] for event in finished] == [True]


@needs_sandbox
def test_without_bwrap_and_landlock_sandbox_refuses_with_one_line_and_runs_nothing(cli: Cli, place: Place) -> None:
    cli.server.enqueue(Reply.tool_call("shell", f"touch {place.outside}/x"), Reply.text("done"))

    result = cli("-c", "touch", "-y", "--sandbox", wrapper=(sys.executable, NO_LANDLOCK), kind=LANDLOCK_ONLY)

    assert result.returncode == 2
    assert result.stderr.splitlines() == [
        "interpreter: cannot sandbox cells: bubblewrap is not installed (no bwrap on PATH), and this kernel has no "
        "Landlock (Linux 6.2 or newer with Landlock is needed); "
        "run without --sandbox (and without sandbox = true in the settings file) to run cells unconfined"
    ]
    assert list(place.outside.iterdir()) == []
    assert cli.server.requests == []  # refused before the model was asked anything


@needs_bwrap
def test_without_landlock_bubblewrap_sandboxes_cells_alone(cli: Cli, place: Place) -> None:
    cli.server.enqueue(Reply.tool_call("shell", f"touch {place.outside}/x; echo tried"), Reply.text("done"))

    result = cli("-c", "touch a file outside", "-y", "--sandbox", wrapper=(sys.executable, NO_LANDLOCK))

    assert result.returncode == 0, result.stderr
    assert cli.fed_back()[0] == f"touch: cannot touch '{place.outside}/x': Read-only file system\ntried\n"
    assert "sandbox:" not in result.stdout  # nothing to say: bubblewrap needs no Landlock
    assert list(place.outside.iterdir()) == []


@needs_sandbox
def test_without_landlock_a_session_without_sandbox_runs_as_before(cli: Cli, place: Place) -> None:
    cli.server.enqueue(Reply.tool_call("shell", f"touch {place.outside}/x && echo ok"), Reply.text("done"))

    result = cli("-c", "touch a file outside", "-y", wrapper=(sys.executable, NO_LANDLOCK))

    assert result.returncode == 0, result.stderr
    assert cli.fed_back()[0] == "ok\n"
    assert (place.outside / "x").exists()


@needs_sandbox
def test_doctor_names_the_landlock_abi_and_without_landlock_says_why(cli: Cli) -> None:
    available = cli("doctor", kind=LANDLOCK_ONLY)
    missing = cli("doctor", wrapper=(sys.executable, NO_LANDLOCK), kind=LANDLOCK_ONLY)

    line = next(line for line in available.stdout.splitlines() if line.startswith("sandbox "))
    assert f"available: Landlock ABI {landlock.abi()} and a seccomp filter (off; --sandbox turns it on); " in line
    missing_text = " ".join(missing.stdout.split())
    assert (
        "not available: bubblewrap is not installed (no bwrap on PATH), and this kernel has no Landlock" in missing_text
    )
    assert "(only --sandbox needs it)" in missing.stdout


@both_sandboxes
def test_a_cell_cannot_empty_move_or_delete_a_file_outside_nor_use_io_uring(place: Place, kind: str) -> None:
    kept = place.outside / "kept.txt"
    kept.write_text("precious")
    cells = [
        f"os.truncate({str(kept)!r}, 0)",
        f"os.rename({str(kept)!r}, 'moved.txt')",
        f"os.remove({str(kept)!r})",
        "ctypes.CDLL(None, use_errno=True).syscall(425, 1, None), os.strerror(ctypes.get_errno())",  # io_uring_setup
    ]
    environ = {**os.environ, "TMPDIR": str(place.temp)}

    with Executor(cwd=place.work, environ=environ, sandboxed=True, probe=_probe(kind)) as executor:
        outputs = [_output(executor, "python", f"import ctypes, os\n{cell}") for cell in cells]

    moving = "OSError: [Errno 18] Invalid cross-device link" if kind == sandbox.BWRAP else REFUSED_WRITE
    refusals = [_refused(kind), moving, _refused(kind)]  # the working directory is another mount in bwrap
    assert [refusal in output for refusal, output in zip(refusals, outputs, strict=False)] == [True] * 3, outputs
    assert outputs[3] == "(-1, 'Operation not permitted')\n"
    assert kept.read_text() == "precious" and list(place.work.iterdir()) == []


@needs_sandbox
def test_a_cell_reaches_no_daemon_over_a_unix_socket_but_keeps_socket_pairs(place: Place) -> None:
    path = str(place.outside / "daemon.sock")
    cells = [
        f"s = socket.socket(socket.AF_UNIX)\ns.connect({path!r})",
        "a, b = socket.socketpair()\na.sendall(b'ping')\nb.recv(4)",
    ]
    with socket.socket(socket.AF_UNIX) as daemon:
        daemon.bind(path)
        daemon.listen()
        daemon.setblocking(False)
        with Executor(cwd=place.work, sandboxed=True) as executor:
            outputs = [_output(executor, "python", f"import socket\n{cell}") for cell in cells]
        with pytest.raises(BlockingIOError):
            daemon.accept()

    assert f"PermissionError: {REFUSED_SOCKET}" in outputs[0]
    assert outputs[1] == "b'ping'\n"


@both_sandboxes
def test_a_worker_that_cannot_be_sandboxed_runs_nothing_and_says_why(place: Place, kind: str) -> None:
    environ = {**os.environ, "TMPDIR": str(place.temp)}

    with Executor(cwd=place.work, environ=environ, sandboxed=True, probe=_probe(kind)) as executor:
        place.temp.rmdir()  # after the sandbox named it: neither Landlock nor bwrap can open it
        told = _output(executor, "shell", f"touch {place.outside}/x; echo ran")

    # The line may come before the cell is sent, and then stands apart as printed between cells.
    landlock_line = f"could not sandbox /bin/bash: [Errno 2] No such file or directory: {str(place.temp)!r}\n"
    bwrap_lines = f"bwrap: Can't find source path {place.temp}: No such file or directory\n"
    bwrap_lines += "could not sandbox /bin/bash: bubblewrap did not start it\n"
    assert (bwrap_lines if kind == sandbox.BWRAP else landlock_line) in told, told
    assert "ran" not in told and list(place.outside.iterdir()) == []


def test_the_probe_says_why_a_machine_cannot_sandbox() -> None:
    def refused(code: int) -> sandbox.Availability:
        def answer() -> int:
            raise OSError(code, os.strerror(code))

        return sandbox.probe(landlock_abi=answer, bwrap=_no_bwrap)

    missing = "bubblewrap is not installed (no bwrap on PATH), and "
    assert (
        refused(errno.ENOSYS).problem
        == f"{missing}this kernel has no Landlock (Linux 6.2 or newer with Landlock is needed)"
    )
    assert refused(errno.EOPNOTSUPP).problem.startswith(f"{missing}Landlock is built into this kernel but turned off")
    old = sandbox.probe(landlock_abi=lambda: 2, bwrap=_no_bwrap)
    assert (old.abi, old.problem) == (
        2,
        f"{missing}Landlock ABI 2 cannot stop a cell truncating files; ABI 3 (Linux 6.2) can",
    )
    assert sandbox.probe(platform="darwin").problem == "the sandbox needs Linux (bubblewrap, or Landlock, and seccomp)"
    assert sandbox.probe(landlock_abi=lambda: 7, seccomp_problem=lambda: "no seccomp").problem == "no seccomp"
    fallback = sandbox.probe(landlock_abi=lambda: 7, seccomp_problem=lambda: "", bwrap=_no_bwrap)
    assert fallback.available and fallback.fallback_note().startswith("sandbox: bubblewrap is not installed")
    bubblewrap = sandbox.Availability(bwrap="/usr/bin/bwrap", version="bubblewrap 0.8.0")
    chosen = sandbox.probe(landlock_abi=_no_landlock, seccomp_problem=lambda: "", bwrap=lambda: bubblewrap)
    assert chosen == bubblewrap and chosen.fallback_note() == ""  # Landlock is not asked


def test_doctor_fails_an_unavailable_sandbox_only_when_the_settings_ask_for_it() -> None:
    missing = sandbox.Availability(problem="this kernel has no Landlock")

    assert sandbox_check(missing, wanted=True) == Check(
        "sandbox", Status.FAILED, "not available: this kernel has no Landlock", sandbox.FIX
    )
    assert sandbox_check(missing, wanted=False).status is Status.SKIPPED
    fallback = sandbox.Availability(7, without_bwrap="bubblewrap is not installed (no bwrap on PATH)")
    assert sandbox_check(fallback, wanted=True) == Check(
        "sandbox",
        Status.OK,
        "available: Landlock ABI 7 and a seccomp filter (on); bubblewrap is not installed (no bwrap on PATH), "
        f"so cells can still {sandbox.FALLBACK_GAPS}",
    )
    bubblewrap = sandbox.Availability(bwrap="/usr/bin/bwrap", version="bubblewrap 0.8.0")
    assert sandbox_check(bubblewrap, wanted=False) == Check(
        "sandbox",
        Status.OK,
        "available: bubblewrap 0.8.0 (/usr/bin/bwrap) and a seccomp filter (off; --sandbox turns it on)",
    )


def _refused(kind: str) -> str:
    """How a write outside fails in the sandbox of `kind`."""
    return READ_ONLY if kind == sandbox.BWRAP else REFUSED_WRITE


def _no_bwrap() -> sandbox.Availability:
    return sandbox.Availability(without_bwrap="bubblewrap is not installed (no bwrap on PATH)")


def _no_landlock() -> int:
    raise OSError(errno.ENOSYS, os.strerror(errno.ENOSYS))


def _probe(kind: str) -> Callable[[], sandbox.Availability]:
    """The probe of a machine with the sandbox of `kind`."""
    return sandbox.probe if kind == sandbox.BWRAP else partial(sandbox.probe, bwrap=_no_bwrap)


def _output(executor: Executor, language: str, code: str) -> str:
    """What the model gets of one cell."""
    result = [item for item in executor.run(language, code) if isinstance(item, RunResult)][-1]
    return result.output


def test_bwrap_mounts_the_root_read_only_then_the_writable_then_hides_the_private(tmp_path: Path) -> None:
    home, settings = tmp_path / "home", tmp_path / "dotfiles" / "interpreter.toml"
    home.mkdir()
    settings.parent.mkdir()
    settings.write_text("")
    (home / "config.toml").symlink_to(settings)  # a settings file kept with the person's dotfiles
    hidden = sandbox.hidden([home, home / "config.toml", tmp_path / "never-made"])

    argv = bubblewrap.command("/usr/bin/bwrap", ["/work", "/tmp", "/dev/shm", "/dev/null"], hidden, "bubblewrap 0.8.0")

    assert hidden == (str(home), str(settings))
    assert argv == [
        *("/usr/bin/bwrap", "--ro-bind", "/", "/", "--dev", "/dev", "--proc", "/proc"),
        *("--bind", "/work", "/work", "--bind", "/tmp", "/tmp"),  # /dev's own shm and null: no binds
        *("--tmpfs", str(home), "--remount-ro", str(home), "--ro-bind", "/dev/null", str(settings)),  # after: they win
        *("--unshare-user", "--unshare-pid", "--unshare-ipc", "--unshare-net", "--die-with-parent"),
        *("--disable-userns", "--cap-drop", "ALL"),
    ]
    assert "--disable-userns" not in bubblewrap.command("/usr/bin/bwrap", ["/work"], (), "bubblewrap 0.6.1")
    (home / "conversations").mkdir()
    assert sandbox.hidden([home, home / "conversations", home]) == (str(home),)  # nothing hidden twice


def test_a_bwrap_a_cell_could_have_planted_is_not_used(tmp_path: Path) -> None:
    planted = tmp_path / "work" / ".venv" / "bin"
    planted.mkdir(parents=True)
    (planted / "bwrap").write_text('#!/bin/sh\nexec "$@"\n')
    (planted / "bwrap").chmod(0o755)
    search = f"{planted}:relative/bin:/usr/bin"

    assert bubblewrap.find(search, [str(tmp_path / "work"), "/tmp/x"]) == os.path.realpath("/usr/bin/bwrap")
    assert bubblewrap.find(search, ["/elsewhere"]) == str(planted / "bwrap")  # outside the sandbox's reach: fine
    assert bubblewrap.find(str(planted), [str(tmp_path / "work")]) is None


@both_sandboxes
def test_a_sandboxed_cells_detached_daemon_is_listed_and_ends_with_the_executor(place: Place, kind: str) -> None:
    daemon = "sleep 987654"  # a command line no other test runs

    with Executor(cwd=place.work, sandboxed=True, probe=_probe(kind)) as executor:
        told = _output(executor, "shell", f"setsid nohup {daemon} >/dev/null 2>&1 & echo started")
        running = [pid for pid in supervisor.pids() if supervisor.command_line(pid) == daemon]

    assert told.startswith("started\n[still running: PID ") and f"({daemon}; detached with setsid)" in told, told
    assert "bwrap" not in told  # the sandbox's own processes are not the cell's
    assert len(running) == 1 and f"PID {running[0]} " in told  # numbered as this machine sees it
    assert [pid for pid in supervisor.pids() if supervisor.command_line(pid) == daemon] == []
