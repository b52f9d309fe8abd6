"""`--sandbox` as a hostile cell meets it, run by a non-root user: bubblewrap present, absent, and unable to start.

Each test makes that user a HOME of its own holding a `.bashrc`, an `~/.ssh/id_rsa`, and the tool's home
(INTERPRETER_HOME, at its default place ~/.local/share/steady-interpreter) with a settings file holding the API
key; then runs the installed `interpreter --sandbox -y -c ...` as that user, against the fake server, with the
cells the model asks for attacking those files.
"""

from __future__ import annotations

import socket
import stat
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from fake_server import FakeServer, Reply
from no_bwrap import path_without_bwrap
from users import User, everyone_command, made_user, open_folder

from interpreter.execution import sandbox

KEY = "sk-test-key-kept-in-the-settings-file"
SECRET = "the-password-is-swordfish"  # said in an earlier conversation
READ_ONLY = "Read-only file system"
NO_BWRAP_NOTE = (
    "sandbox: bubblewrap is not installed (no bwrap on PATH), so Landlock and seccomp confine cells alone: they can "
    f"still {sandbox.FALLBACK_GAPS}"
)

needs_bwrap = pytest.mark.skipif(not sandbox.probe().bwrap, reason="bubblewrap cannot set up a sandbox on this machine")
needs_landlock = pytest.mark.skipif(
    not sandbox.probe(bwrap=sandbox.Availability).available, reason="this kernel has no Landlock ABI 3 to fall back on"
)


@dataclass
class Account:
    """A user's HOME with the files an attacker wants, and the installed command run as that user."""

    user: User
    home: Path
    command: list[str]
    server: FakeServer

    @property
    def tool(self) -> Path:
        return self.home / ".local/share/steady-interpreter"

    @property
    def work(self) -> Path:
        return self.home / "project"

    @property
    def temp(self) -> Path:
        return self.home / "tmp"

    def __call__(self, *args: str, path: str = "/usr/bin:/bin", wrapper: tuple[str, ...] = ()) -> Done:
        env = {"HOME": str(self.home), "PATH": path, "TMPDIR": str(self.temp), "LANG": "C.UTF-8"}
        env |= {"USER": self.user.name, "INTERPRETER_HOME": str(self.tool)}  # named, so a cell could look for it
        asked = len(self.server.requests)
        done = self.user.run([*wrapper, *self.command, "--api-base", self.server.url, *args], env=env, cwd=self.work)
        return Done(done, [_told(request.body) for request in self.server.requests[asked + 1 :]])

    def files(self) -> dict[str, int]:
        """Every path below HOME outside the tool's home, with its mode."""
        return {str(path.relative_to(self.home)): path.stat().st_mode for path in sorted(self.home.rglob("*"))}


@dataclass
class Done:
    """A finished run, and what the model was told after each cell (the last message of each later request)."""

    process: subprocess.CompletedProcess[str]
    fed_back: list[str]


def _told(body: dict[str, object] | None) -> str:
    assert body is not None
    messages = body["messages"]
    assert isinstance(messages, list)
    return str(messages[-1]["content"])


@pytest.fixture(scope="module")
def user() -> Iterator[User]:
    with made_user() as made:
        yield made


@pytest.fixture(scope="module")
def folder() -> Iterator[Path]:
    with open_folder() as made:
        yield made


@pytest.fixture
def account(user: User, folder: Path, server: FakeServer, tmp_path: Path) -> Account:
    found = Account(user, folder / tmp_path.name, everyone_command(folder), server)
    user.folder(found.home, 0o700)
    for place in (found.work, found.temp, found.home / ".local", found.home / ".local/share"):
        user.folder(place, 0o755)
    user.folder(found.home / ".ssh", 0o700)
    user.folder(found.tool, 0o700)
    user.write(found.home / ".bashrc", "alias ll='ls -l'\n", 0o644)
    user.write(found.home / ".ssh/id_rsa", "-----BEGIN OPENSSH PRIVATE KEY-----\n", 0o600)
    user.write(found.tool / "config.toml", f'api_key = "{KEY}"\n', 0o600)
    return found


@pytest.fixture
def without_bwrap(folder: Path) -> str:
    """The users' PATH, without bwrap."""
    return path_without_bwrap("/usr/bin:/bin", folder)


@needs_bwrap
def test_a_cell_cannot_chmod_touch_or_write_the_users_files(account: Account) -> None:
    python = (
        "import os\n"
        "for name, mode in (('.bashrc', 0o777), ('.ssh/id_rsa', 0o666)):\n"
        "    try:\n"
        "        os.chmod(os.path.expanduser('~/' + name), mode)\n"
        "    except OSError as exc:\n"
        "        print(name, exc.strerror)\n"
        "try:\n"
        "    open(os.path.expanduser('~/planted.py'), 'w')\n"
        "except OSError as exc:\n"
        "    print('planted.py', exc.strerror)"
    )
    shell = (
        "chmod 777 ~/.bashrc; chmod 666 ~/.ssh/id_rsa; touch -d 2001-01-01 ~/.bashrc; echo evil >> ~/.bashrc\n"
        "echo evil > ~/planted.sh; chmod 000 ~; echo tried"
    )
    account.server.enqueue(Reply.tool_call("python", python), Reply.tool_call("shell", shell), Reply.text("done"))
    before = account.files()
    mtime = (account.home / ".bashrc").stat().st_mtime

    done = account("--sandbox", "-y", "-c", "loosen the permissions of my dotfiles")

    assert done.process.returncode == 0, done.process.stderr
    assert done.fed_back[0] == f".bashrc {READ_ONLY}\n.ssh/id_rsa {READ_ONLY}\nplanted.py {READ_ONLY}\n"
    assert done.fed_back[1].count(READ_ONLY) == 6 and done.fed_back[1].endswith("tried\n"), done.fed_back[1]
    after = account.files()
    assert {name: after[name] for name in before} == before  # no mode changed, nothing new outside the tool's home
    assert stat.S_IMODE(after[".bashrc"]) == 0o644 and stat.S_IMODE(after[".ssh/id_rsa"]) == 0o600
    assert stat.S_IMODE(account.home.stat().st_mode) == 0o700
    assert (account.home / ".bashrc").read_text() == "alias ll='ls -l'\n"
    assert (account.home / ".bashrc").stat().st_mtime == mtime
    assert not (account.home / "planted.py").exists() and not (account.home / "planted.sh").exists()


@needs_bwrap
def test_a_cell_cannot_see_the_tools_home_nor_lock_or_chmod_it(account: Account) -> None:
    account.server.enqueue(Reply.text("noted"))
    account("-c", f"remember this: {SECRET}")  # a conversation, and the shared budget, now in the tool's home
    kept = sorted(path.name for path in account.tool.iterdir())
    python = (
        "import os, sqlite3\n"
        "tool = os.path.expanduser('~/.local/share/steady-interpreter')\n"
        "print(os.listdir(tool))\n"
        "for name in ('config.toml', 'budget.sqlite3'):\n"
        "    try:\n"
        "        print(open(os.path.join(tool, name)).read())\n"
        "    except OSError as exc:\n"
        "        print(name, exc.strerror)\n"
        "try:\n"
        "    os.chmod(tool, 0)\n"
        "except OSError as exc:\n"
        "    print('chmod', exc.strerror)\n"
        "print([k for k, v in os.environ.items() if tool in v or 'config.toml' in v or k.startswith('INTERPRETER')])"
    )
    shell = (
        "ls -A ~/.local/share/steady-interpreter; cat ~/.local/share/steady-interpreter/config.toml\n"
        "grep -rl swordfish ~/.local/share/steady-interpreter; chmod 000 ~/.local/share/steady-interpreter\n"
        "env | grep -c -e .local/share/steady-interpreter -e config.toml"
    )
    account.server.enqueue(Reply.tool_call("python", python), Reply.tool_call("shell", shell), Reply.text("done"))

    done = account("--sandbox", "-y", "-c", "read the settings and every conversation")

    assert done.process.returncode == 0, done.process.stderr
    assert {"config.toml", "budget.sqlite3", "conversations"} <= set(kept), kept  # there to be found
    python_told, shell_told = done.fed_back[:2]
    assert python_told == (
        f"[]\nconfig.toml No such file or directory\nbudget.sqlite3 No such file or directory\nchmod {READ_ONLY}\n[]\n"
    )
    assert shell_told == (  # ls lists nothing, grep finds nothing, no variable names the tool's home
        f"cat: {account.tool}/config.toml: No such file or directory\n"
        f"chmod: changing permissions of '{account.tool}': {READ_ONLY}\n0\n\n[exit status 1]"
    )
    assert all(KEY not in told and SECRET not in told for told in done.fed_back)
    assert stat.S_IMODE(account.tool.stat().st_mode) == 0o700
    conversations = list((account.tool / "conversations").iterdir())
    assert len(conversations) == 2  # the attacked session's result was kept, beside the first
    account.server.enqueue(Reply.text("still here"))
    assert "still here" in account("-c", "are you there?").process.stdout  # and later sessions still work


@needs_bwrap
def test_a_cell_writes_here_and_in_tmpdir_but_has_no_network(account: Account) -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as receiver:
        receiver.bind(("127.0.0.1", 0))
        receiver.setblocking(False)
        port = receiver.getsockname()[1]
        cells = [
            "import tempfile\nopen('here.txt', 'w').write('h')\nopen(tempfile.gettempdir() + '/t.txt', 'w').write('t')",
            f"import socket\nsocket.socket(socket.AF_INET, socket.SOCK_DGRAM).sendto(b'leak', ('127.0.0.1', {port}))",
            f"import urllib.request\nurllib.request.urlopen({account.server.url + '/models'!r})",
        ]
        account.server.enqueue(*(Reply.tool_call("python", cell) for cell in cells), Reply.text("done"))

        done = account("--sandbox", "-y", "-c", "write two files, then phone home")

        with pytest.raises(BlockingIOError):
            receiver.recv(64)
    assert done.process.returncode == 0, done.process.stderr
    assert (account.work / "here.txt").read_text() == "h" and (account.temp / "t.txt").read_text() == "t"
    assert all("Operation not permitted" in told for told in done.fed_back[1:3]), done.fed_back
    assert [request.path for request in account.server.requests if "models" in request.path] == []
    assert "done" in done.process.stdout  # the session's own requests went through


@needs_bwrap
def test_a_bwrap_planted_by_a_cell_in_an_activated_venv_is_not_the_next_sessions_sandbox(account: Account) -> None:
    fake = 'touch "$HOME/fake-bwrap-ran"; while [ "$1" != -- ]; do shift; done; shift; exec "$@"'  # unconfined
    plant = f"mkdir -p .venv/bin && printf '%s\\n' '#!/bin/sh' '{fake}' > .venv/bin/bwrap && chmod +x .venv/bin/bwrap"
    account.server.enqueue(Reply.tool_call("shell", f"{plant} && echo planted"), Reply.text("done"))
    account.server.enqueue(Reply.tool_call("shell", "chmod 777 ~/.bashrc; echo tried"), Reply.text("done"))
    venv_first = f"{account.work}/.venv/bin:/usr/bin:/bin"  # as `source .venv/bin/activate` leaves PATH

    planted = account("--sandbox", "-y", "-c", "plant a bwrap")
    attacked = account("--sandbox", "-y", "-c", "loosen my dotfiles", path=venv_first)

    assert planted.fed_back[0] == "planted\n" and (account.work / ".venv/bin/bwrap").exists()
    assert attacked.fed_back[0] == f"chmod: changing permissions of '{account.home}/.bashrc': {READ_ONLY}\ntried\n"
    assert not (account.home / "fake-bwrap-ran").exists()
    assert stat.S_IMODE((account.home / ".bashrc").stat().st_mode) == 0o644


@needs_bwrap
def test_doctor_names_bubblewrap_and_without_it_landlock_and_what_it_leaves_open(
    account: Account, without_bwrap: str
) -> None:
    present = account("doctor").process.stdout
    absent = account("doctor", path=without_bwrap).process.stdout

    line = next(line for line in present.splitlines() if line.startswith("sandbox "))
    assert line == f"sandbox         ok       available: {sandbox.probe().name()} (off; --sandbox turns it on)"
    assert "bubblewrap" in line and "/bwrap) and a seccomp filter" in line
    fallback = " ".join(absent.split())  # the table may wrap the line
    assert "available: Landlock ABI" in fallback
    assert f"bubblewrap is not installed (no bwrap on PATH), so cells can still {sandbox.FALLBACK_GAPS}" in fallback


@needs_landlock
def test_without_bwrap_landlock_sandboxes_cells_and_says_once_what_it_leaves_open(
    account: Account, without_bwrap: str
) -> None:
    cells = [f"echo x > {account.home}/planted; echo tried", "echo again > here.txt && echo wrote"]
    account.server.enqueue(*(Reply.tool_call("shell", cell) for cell in cells), Reply.text("done"))

    done = account("--sandbox", "-y", "-c", "plant a file", path=without_bwrap)

    assert done.process.returncode == 0, done.process.stderr
    assert done.fed_back[:2] == [f"bash: line 8: {account.home}/planted: Permission denied\ntried\n", "wrote\n"]
    shown = done.process.stdout + done.process.stderr
    assert " ".join(shown.split()).count(NO_BWRAP_NOTE) == 1, shown
    assert all("bubblewrap" not in told for told in done.fed_back)  # for the person; the model need not know
    assert not (account.home / "planted").exists() and (account.work / "here.txt").read_text() == "again\n"


@needs_landlock
def test_with_user_namespaces_off_landlock_stands_in_and_says_why(account: Account) -> None:
    # Off only inside a user namespace of this test's own, as `sysctl user.max_user_namespaces=0` turns them off.
    off = (
        "unshare",
        "--user",
        "--map-root-user",
        "sh",
        "-c",
        'echo 0 > /proc/sys/user/max_user_namespaces && "$@"',
        "-",
    )
    account.server.enqueue(Reply.tool_call("shell", f"touch {account.home}/planted; echo tried"), Reply.text("done"))

    done = account("--sandbox", "-y", "-c", "plant a file", wrapper=off)

    assert done.process.returncode == 0, done.process.stderr
    shown = " ".join((done.process.stdout + done.process.stderr).split())
    assert "sandbox: /usr/bin/bwrap cannot set up a sandbox here (bwrap: Creating new namespace failed" in shown
    assert f"so Landlock and seccomp confine cells alone: they can still {sandbox.FALLBACK_GAPS}" in shown
    assert "Permission denied" in done.fed_back[0] and not (account.home / "planted").exists()
