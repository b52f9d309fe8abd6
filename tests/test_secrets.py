"""Secrets stay with the tool: what a cell can find of the key and other secrets, the command run as a user would."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from fake_server import FakeServer, Fault, RecordedRequest, Reply, closed_port, openai_error
from stored import conversation_files, stored_messages
from users import User, everyone_command, everyone_python, made_user, open_folder

pytestmark = pytest.mark.skipif(not Path("/proc/self/environ").exists(), reason="reads /proc, as an attacker would")

ENV_KEY = "sk-env-secret-0123456789abcdef"
FLAG_KEY = "sk-flag-secret-0123456789abcdef"
PROFILE_KEY = "ollama-profile-key"

# A cell that reports what it can see: some variables, and for each ancestor up to init whether its environment
# or command line (both read from /proc, as any program can) holds one of the keys.
SNOOP = f"""
import json, os
KEYS = [{ENV_KEY!r}, {FLAG_KEY!r}]
def look(path):
    try:
        with open(path, "rb") as file:
            data = file.read().decode("utf-8", "replace")
    except OSError:
        return "unreadable", ""
    # The command is shown cut short: an ancestor outside the tool (a CI script) may have a command line of pages.
    return ("has key" if any(key in data for key in KEYS) else "clean"), data.replace("\\0", " ")[:300]
ancestors, pid = [], os.getppid()
while pid > 1:
    environ, _ = look(f"/proc/{{pid}}/environ")
    cmdline, shown = look(f"/proc/{{pid}}/cmdline")
    ancestors.append({{"pid": pid, "environ": environ, "cmdline": cmdline, "command": shown}})
    with open(f"/proc/{{pid}}/stat", "rb") as file:
        stat = file.read()
    pid = int(stat[stat.rfind(b")") + 2 :].split()[1])
names = ["OPENAI_API_KEY", "OPENAI_BASE_URL", "FOO_TOKEN", "db_password", "GITHUB_TOKEN", "PATH", "HOME"]
print(json.dumps({{"env": {{name: os.environ.get(name) for name in names}}, "ancestors": ancestors}}))
"""


def chat_requests(server: FakeServer) -> list[RecordedRequest]:
    return [r for r in server.requests if r.path.endswith("/chat/completions")]


def cell_output(server: FakeServer, request: int = 1) -> str:
    """What the model was told a cell printed: the tool message of chat request number `request`."""
    body = chat_requests(server)[request].body
    assert body is not None
    return str(body["messages"][-1]["content"])


def write_settings(home: Path, text: str) -> Path:
    home.mkdir(parents=True, exist_ok=True)
    path = home / "config.toml"
    path.write_text(text)
    path.chmod(0o600)
    return path


def run(command: list[str], *args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    """The installed command with exactly `args`, stdin closed."""
    full_env = {**os.environ, **(env or {})}
    return subprocess.run(
        [*command, *args],
        capture_output=True,
        text=True,
        stdin=subprocess.DEVNULL,
        env=full_env,
        timeout=60,
        check=False,
    )


def interpreter_entry(ancestors: list[dict[str, str]]) -> dict[str, str]:
    """The report's line for the `interpreter` process itself (a python running the console script)."""
    return next(entry for entry in ancestors if "/interpreter " in entry["command"] and " -c " in entry["command"])


SECRETS = {"OPENAI_API_KEY": ENV_KEY, "OPENAI_BASE_URL": "http://elsewhere/v1", "FOO_TOKEN": "foo-value"}


def test_cells_see_no_secret_variables_and_cannot_find_the_key_above_them(
    interpreter_command: list[str], server: FakeServer, private_home: Path
) -> None:
    write_settings(private_home, 'pass_env = ["GITHUB_TOKEN"]\n')
    env = {**SECRETS, "db_password": "hunter2", "GITHUB_TOKEN": "gh-passed"}
    server.enqueue(Reply.tool_call("python", SNOOP), Reply.text("done"))

    result = run(interpreter_command, "--api-base", server.url, "-y", "--verbose", "-c", "look around", env=env)

    assert result.returncode == 0, result.stderr
    report = json.loads(cell_output(server))
    seen = report["env"]
    assert seen["OPENAI_API_KEY"] is seen["OPENAI_BASE_URL"] is seen["FOO_TOKEN"] is seen["db_password"] is None
    assert seen["GITHUB_TOKEN"] == "gh-passed"  # named by pass_env
    assert seen["PATH"] == os.environ["PATH"] and seen["HOME"] == os.environ.get("HOME")
    leaks = [entry for entry in report["ancestors"] if "has key" in (entry["environ"], entry["cmdline"])]
    assert leaks == []
    supervisor, interpreter = report["ancestors"][0], interpreter_entry(report["ancestors"])
    assert supervisor["environ"] == "clean"  # readable (ours), and without the key
    # Root reads any process's environ: the interpreter's own is then readable, and its key masked in place.
    # Anyone else is refused it, the process being non-dumpable.
    assert interpreter["environ"] == ("clean" if os.geteuid() == 0 else "unreadable")
    assert "cells do not get these environment variables:" in result.stderr
    assert "FOO_TOKEN" in result.stderr and "foo-value" not in result.stderr and ENV_KEY not in result.stderr


def test_a_shell_cell_sees_no_secret_variables(
    interpreter_command: list[str], server: FakeServer, private_home: Path
) -> None:
    write_settings(private_home, 'pass_env = ["GITHUB_*"]\n')
    env = {**SECRETS, "GITHUB_TOKEN": "gh-passed"}
    shell = "env; echo ---; tr '\\0' '\\n' < /proc/$PPID/environ"  # its own variables, then its supervisor's
    server.enqueue(Reply.tool_call("shell", shell), Reply.text("done"))

    result = run(interpreter_command, "--api-base", server.url, "-y", "-c", "look around", env=env)

    assert result.returncode == 0, result.stderr
    own, supervisor = cell_output(server).split("---")
    for listing in (own, supervisor):
        names = {line.split("=", 1)[0] for line in listing.splitlines() if "=" in line}
        assert not names & {"OPENAI_API_KEY", "OPENAI_BASE_URL", "FOO_TOKEN"}
        assert ENV_KEY not in listing
        assert "GITHUB_TOKEN=gh-passed" in listing
        assert f"PATH={os.environ['PATH']}" in listing


def test_a_key_given_as_an_option_is_gone_from_the_command_line_cells_can_read(
    interpreter_command: list[str], server: FakeServer
) -> None:
    server.enqueue(Reply.tool_call("python", SNOOP), Reply.text("done"))

    result = run(interpreter_command, "--api-key", FLAG_KEY, "--api-base", server.url, "-y", "-c", "look around")

    assert result.returncode == 0, result.stderr
    assert chat_requests(server)[0].headers["authorization"] == f"Bearer {FLAG_KEY}"  # still the key in use
    report = json.loads(cell_output(server))
    assert [entry for entry in report["ancestors"] if "has key" in (entry["environ"], entry["cmdline"])] == []
    command = interpreter_entry(report["ancestors"])["command"]
    assert f" --api-key {'*' * len(FLAG_KEY)} --api-base {server.url} -y -c look around" in command


def test_a_password_in_the_api_base_is_gone_from_the_command_line_cells_can_read(
    interpreter_command: list[str], server: FakeServer
) -> None:
    password = "pw-on-the-command-line"
    server.enqueue(Reply.tool_call("python", SNOOP), Reply.text("done"))

    base = server.url.replace("http://", f"http://ada:{password}@")
    result = run(interpreter_command, "--api-key", FLAG_KEY, "--api-base", base, "-y", "-c", "look around")

    assert result.returncode == 0, result.stderr
    command = interpreter_entry(json.loads(cell_output(server))["ancestors"])["command"]
    assert password not in command
    masked = "*" * len(f"ada:{password}")
    assert f" --api-base {server.url.replace('http://', f'http://{masked}@')} -y -c look around" in command


def test_a_profiles_own_key_reaches_its_server_not_the_environments(
    interpreter_command: list[str], server: FakeServer, private_home: Path
) -> None:
    write_settings(private_home, f'[profiles.local]\napi_base = "{server.url}"\napi_key = "{PROFILE_KEY}"\n')
    server.enqueue(Reply.text("hello"))

    result = run(interpreter_command, "--profile", "local", "-c", "hi", env=SECRETS)

    assert result.returncode == 0, result.stderr
    (request,) = chat_requests(server)
    assert request.headers["authorization"] == f"Bearer {PROFILE_KEY}"


def test_the_verbose_log_says_once_where_the_environments_key_goes(
    interpreter_command: list[str], server: FakeServer
) -> None:
    server.enqueue(Reply.text("hello"))

    result = run(interpreter_command, "--api-base", server.url, "--verbose", "-c", "hi", env=SECRETS)

    assert result.returncode == 0, result.stderr
    warning = f"the API key from OPENAI_API_KEY (sk-…cdef) is sent to {server.url}, set by --api-base"
    assert result.stderr.count(warning) == 1, result.stderr
    assert ENV_KEY not in result.stderr
    assert chat_requests(server)[0].headers["authorization"] == f"Bearer {ENV_KEY}"  # a warning, not a refusal


def assert_one_clear_line(result: subprocess.CompletedProcess[str], expected: str) -> None:
    assert "Traceback" not in result.stderr + result.stdout
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, result.stderr
    assert expected in lines[0]


@pytest.mark.parametrize("args", [["-c", "hi"], ["config"], ["doctor"]])
def test_a_settings_file_that_is_not_utf8_is_one_line_for_every_command(
    interpreter_command: list[str], server: FakeServer, private_home: Path, args: list[str]
) -> None:
    path = write_settings(private_home, "")
    path.write_bytes(b'model = "caf\xe9"\n')

    result = run(interpreter_command, "--api-key", "sk-test", "--api-base", server.url, *args)

    assert result.returncode == 2
    assert_one_clear_line(result, f"interpreter: the settings file {path} is not UTF-8 text (line 1)")
    assert server.requests == []


def test_conversations_do_not_need_the_settings_file(interpreter_command: list[str], private_home: Path) -> None:
    write_settings(private_home, "").write_bytes(b"\xff\xfe")

    result = run(interpreter_command, "conversations")

    assert result.returncode == 0, result.stderr
    assert "no conversations in" in result.stdout


@pytest.mark.parametrize("args", [["-c", "hi"], ["config"]])
def test_a_key_in_a_settings_file_others_can_read_is_refused(
    interpreter_command: list[str], server: FakeServer, private_home: Path, args: list[str]
) -> None:
    path = write_settings(private_home, f'api_base = "{server.url}"\napi_key = "sk-in-the-file"\n')
    path.chmod(0o644)

    result = run(interpreter_command, *args)

    assert result.returncode == 2
    assert_one_clear_line(result, f"other users can read: chmod 600 {path}")
    assert "sk-in-the-file" not in result.stderr
    assert server.requests == []


@pytest.mark.parametrize(
    ("option", "value", "problem"),
    [
        ("--max-wait", "nan", "Invalid value for '--max-wait'"),  # Typer's own range check refuses this one
        ("--max-wait", "inf", "max_wait must be a finite number, not inf (set by flag)"),
        ("--timeout", "nan", "timeout must be a finite number, not nan (set by flag)"),
        ("--timeout", "inf", "timeout must be a finite number, not inf (set by flag)"),
    ],
)
def test_nan_and_infinity_from_the_command_line_are_one_line(
    interpreter_command: list[str], server: FakeServer, option: str, value: str, problem: str
) -> None:
    result = run(interpreter_command, "--api-key", "sk-test", "--api-base", server.url, "-c", "hi", option, value)

    assert result.returncode == 2
    assert_one_clear_line(result, problem)
    assert chat_requests(server) == []


# ---- a settings file is obeyed only when it is the person's ------------------------------------------------


@dataclass(frozen=True)
class Person:
    """A user of this machine other than root, with a private folder under /tmp holding their home."""

    user: User
    folder: Path
    command: list[str]  # the installed tool, as this user can run it

    @property
    def name(self) -> str:
        return self.user.name

    @property
    def home(self) -> Path:
        return self.folder / "home"

    def give(self, *paths: Path) -> None:
        """Make `paths` theirs."""
        for path in paths:
            os.chown(path, self.user.uid, self.user.gid)

    def run(self, *args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
        """The installed tool, run by them with a clean environment of their own plus `env`."""
        given = {
            "PATH": "/usr/local/bin:/usr/bin:/bin",
            "HOME": str(self.home),
            "INTERPRETER_HOME": str(self.home / "interp"),
            **(env or {}),
        }
        return self.user.run([*self.command, *args], env=given, cwd=self.folder, timeout=60)


@pytest.fixture(scope="module")
def someone() -> Iterator[tuple[User, list[str]]]:
    """A non-root user of this machine, created for these tests (we are root), and the tool as they can run it."""
    with made_user("si-secrets") as user, open_folder() as place:
        yield user, everyone_command(place)


@pytest.fixture
def person(someone: tuple[User, list[str]]) -> Iterator[Person]:
    """`someone` with a fresh private folder: /tmp/steady-secrets-XXXX/home/interp, all 0700 and theirs."""
    folder = Path(tempfile.mkdtemp(prefix="steady-secrets-", dir="/tmp"))
    user, command = someone
    found = Person(user, folder, command)
    (found.home / "interp").mkdir(parents=True, mode=0o700)
    found.give(folder, found.home, found.home / "interp")
    yield found
    shutil.rmtree(folder)


def planted_python(folder: Path, marker: Path) -> Path:
    """A "python" that notes it was run in `marker`, then runs the real one: what an attacker would leave in /tmp."""
    script = folder / "python"
    script.write_text(f'#!/bin/sh\necho ran >> {marker}\nexec {everyone_python()} "$@"\n')
    script.chmod(0o755)
    return script


def hostile_settings(person: Person, server: FakeServer, marker: Path, *, mode: int, folder_mode: int) -> Path:
    """Their settings file naming the fake server and a planted python, with `mode`, in a folder with `folder_mode`."""
    path = person.home / "interp" / "config.toml"
    path.write_text(f'api_base = "{server.url}"\npython = "{planted_python(person.folder, marker)}"\n')
    person.give(path)
    path.chmod(mode)
    path.parent.chmod(folder_mode)
    return path


@pytest.mark.parametrize("args", [["-y", "-c", "hi"], ["config"], ["doctor"]])
@pytest.mark.parametrize(
    ("mode", "folder_mode"),
    [pytest.param(0o666, 0o700, id="file-0666"), pytest.param(0o644, 0o777, id="file-0644-in-folder-0777")],
)
def test_a_settings_file_others_can_change_is_refused_and_nothing_is_sent_or_run(
    person: Person, server: FakeServer, args: list[str], mode: int, folder_mode: int
) -> None:
    marker = person.folder / "planted-python-ran"
    path = hostile_settings(person, server, marker, mode=mode, folder_mode=folder_mode)
    server.enqueue(Reply.tool_call("python", "print(1)"), Reply.text("done"))

    result = person.run(*args, env={"OPENAI_API_KEY": ENV_KEY})

    assert result.returncode == 2, result.stderr
    assert_one_clear_line(result, f"interpreter: the settings file {path} ")
    if folder_mode == 0o700:  # the file itself is open to all
        assert result.stderr.rstrip().endswith(f"can be changed by other users (mode 0666): chmod go-w {path}")
    else:
        changed = f"is in {path.parent}, which other users can change (mode 0777): chmod go-w {path.parent}"
        assert result.stderr.rstrip().endswith(changed)
    assert server.requests == []
    assert not marker.exists()


def test_a_settings_file_of_another_user_is_refused(
    interpreter_command: list[str], person: Person, private_home: Path
) -> None:
    path = write_settings(private_home, 'model = "theirs"\n')
    person.give(path)

    result = run(interpreter_command, "config")

    assert result.returncode == 2
    assert_one_clear_line(result, f"the settings file {path} belongs to user {person.name} (uid ")
    assert "move it away and write your own" in result.stderr


@pytest.mark.parametrize(
    ("mode", "folder_mode"),
    [pytest.param(0o600, 0o700, id="file-0600"), pytest.param(0o644, 0o1777, id="file-0644-in-sticky-folder-1777")],
)
def test_a_settings_file_only_its_owner_can_change_is_obeyed(
    person: Person, server: FakeServer, mode: int, folder_mode: int
) -> None:
    marker = person.folder / "planted-python-ran"
    hostile_settings(person, server, marker, mode=mode, folder_mode=folder_mode)
    server.enqueue(Reply.tool_call("python", "print(6 * 7)"), Reply.text("done"))

    result = person.run("-y", "-c", "hi", env={"OPENAI_API_KEY": ENV_KEY})

    assert result.returncode == 0, result.stderr
    assert len(chat_requests(server)) == 2
    assert cell_output(server).strip() == "42"
    assert marker.exists()  # the python setting was obeyed: the cell ran on it


@pytest.mark.parametrize("kind", ["fifo", "dev-zero", "huge", "directory"])
@pytest.mark.parametrize("args", [["-c", "hi"], ["config"], ["doctor"]])
def test_a_settings_file_that_is_not_a_small_regular_file_is_one_line_at_once(
    interpreter_command: list[str], server: FakeServer, private_home: Path, kind: str, args: list[str]
) -> None:
    private_home.mkdir(parents=True)
    path = private_home / "config.toml"
    if kind == "fifo":
        os.mkfifo(path, 0o600)  # opened for reading the usual way, this would wait for a writer forever
    elif kind == "dev-zero":
        path.symlink_to("/dev/zero")  # read to the end, this would never end
    elif kind == "huge":
        path.write_text("# padding\n" * 200_000)  # 2 MB of valid TOML
        path.chmod(0o600)
    else:
        path.mkdir()
    expected = {
        "fifo": "it is a FIFO (named pipe), not a regular file",
        "dev-zero": f"the settings file {path} is refused: cannot read /dev/zero: it is a character device",
        "huge": "it is 2.0 MB, over the 1.0 MB read",
        "directory": "it is a directory, not a regular file",
    }[kind]

    result = run(interpreter_command, "--api-key", "sk-test", "--api-base", server.url, *args)  # 60 s: "at once"

    assert result.returncode == 2
    assert_one_clear_line(result, expected)
    assert server.requests == []


# ---- no URL password or key on screen, in the log or on disk ----------------------------------------------

URL_PASSWORD = "pw-hunter2-in-the-url"
URL_KEY = "key-0123456789-in-the-url"
STORE_PASSWORD = "redis-pw-in-the-url"
URL_SECRETS = (URL_PASSWORD, URL_KEY, STORE_PASSWORD)
STORE = f"redis://:{STORE_PASSWORD}@127.0.0.1:1/0"  # nothing listens on port 1: the store fails at once


def with_credentials(url: str, *, query: bool = True) -> str:
    """`url` (http://127.0.0.1:PORT/v1) with a user and password, and with `query` an api-key parameter."""
    return url.replace("http://", f"http://ada:{URL_PASSWORD}@") + (f"?api-key={URL_KEY}" if query else "")


def assert_no_secret(*texts: str | bytes) -> None:
    for text in texts:
        data = text.encode() if isinstance(text, str) else text
        assert not [secret for secret in URL_SECRETS if secret.encode() in data], data[-2000:]


def everything_kept(home: Path) -> bytes:
    """Every byte of every file under the home: conversations, the log, the budget, the history."""
    return b"".join(path.read_bytes() for path in sorted(home.rglob("*")) if path.is_file())


def test_config_shows_urls_without_their_password_or_key(interpreter_command: list[str], server: FakeServer) -> None:
    base = with_credentials(server.url)
    env = {"INTERPRETER_RATE_LIMIT_STORE": f"{STORE}?password={STORE_PASSWORD}"}

    result = run(interpreter_command, "--api-base", base, "config", env=env)

    assert result.returncode == 0, result.stderr
    assert_no_secret(result.stdout, result.stderr)
    assert "http://ada:***@" not in result.stdout
    assert f"{server.url.replace('http://', 'http://***@')}?api-key=***" in result.stdout
    assert "redis://***@127.0.0.1:1/0?password=***" in result.stdout


def test_doctor_names_the_endpoint_and_the_store_without_their_password_or_key(
    interpreter_command: list[str], server: FakeServer, private_home: Path
) -> None:
    base = with_credentials(server.url)
    env = {"OPENAI_API_KEY": ENV_KEY, "INTERPRETER_RATE_LIMIT_STORE": STORE}

    result = run(interpreter_command, "--api-base", base, "doctor", env=env)

    assert_no_secret(result.stdout, result.stderr, everything_kept(private_home))
    redacted = f"{server.url.replace('http://', 'http://***@')}?api-key=***"
    assert f"is sent to {redacted}, set by --api-base" in result.stdout  # the key warning
    assert f"endpoint        FAILED   {redacted}" in result.stdout  # the SDK's path mangles a query: 404 on both
    assert "the shared budget at redis://***@127.0.0.1:1/0 cannot be used" in result.stdout
    assert server.requests, "the real URL still goes to the server"


def test_a_session_keeps_no_url_password_in_its_output_log_or_conversation(
    interpreter_command: list[str], server: FakeServer, private_home: Path
) -> None:
    base = with_credentials(server.url, query=False)
    server.enqueue(Reply.tool_call("python", "print(6 * 7)"), Reply.text("done"))

    result = run(
        interpreter_command, "--api-base", base, "--rate-limit-store", STORE, "-y", "--verbose", "-c", "hi", env=SECRETS
    )

    assert result.returncode == 0, result.stderr
    assert "Basic " in chat_requests(server)[0].headers["authorization"]  # the real URL's user and password, sent
    (saved,) = conversation_files(private_home / "conversations")
    origins = [m.get("origin") for m in stored_messages(saved) if m["role"] == "assistant"]
    assert origins[0] == server.url.replace("http://", "http://***@")
    shown = run(interpreter_command, "conversations", "show", saved.stem)
    exported = [run(interpreter_command, "conversations", "export", saved.stem, "-f", kind) for kind in ("md", "json")]
    assert_no_secret(result.stdout, result.stderr, everything_kept(private_home), shown.stdout)
    assert_no_secret(*(done.stdout for done in exported))
    assert "redis://***@127.0.0.1:1/0" in result.stdout + result.stderr  # the store that failed, named
    assert "***@" in exported[1].stdout


def test_json_events_and_the_verbose_log_of_a_failed_request_hold_no_url_key(
    interpreter_command: list[str], server: FakeServer, private_home: Path
) -> None:
    base = with_credentials(f"http://127.0.0.1:{closed_port()}/v1")

    result = run(
        interpreter_command,
        "--api-key",
        "sk-test",
        "--api-base",
        base,
        "--max-retries",
        "0",
        "--json",
        "--verbose",
        "-c",
        "hi",
    )

    assert result.returncode == 1
    events = [json.loads(line) for line in result.stdout.splitlines()]
    (error,) = [event for event in events if event["type"] == "error"]
    assert "cannot reach the API at http://***@127.0.0.1:" in error["message"]
    assert error["message"].endswith("?api-key=***: check --api-base and your connection")
    assert "[interpreter.api] attempt 1 failed" in result.stderr  # the verbose log, on stderr
    assert_no_secret(result.stdout, result.stderr, everything_kept(private_home))


def test_a_conversation_saved_with_a_secret_origin_is_shown_redacted_and_saved_again_without_it(
    interpreter_command: list[str], server: FakeServer, private_home: Path
) -> None:
    folder = private_home / "conversations"
    folder.mkdir(parents=True)
    old = folder / "20260101-000000-abcd.json"
    call = {"id": "call_1", "type": "function", "function": {"name": "execute", "arguments": "{}"}}
    messages = [
        {"role": "user", "content": "hi"},
        {"role": "assistant", "content": "", "tool_calls": [call], "origin": with_credentials("http://old.example/v1")},
        {"role": "tool", "content": "1", "tool_call_id": "call_1", "kind": "output"},
    ]
    record = {"version": 2, "id": old.stem, "created": "2026-01-01T00:00:00+00:00", "model": "gpt-4o"}
    old.write_text(json.dumps({**record, "messages": messages}))
    server.enqueue(Reply.text("again"))

    shown = run(interpreter_command, "conversations", "export", old.stem, "-f", "json")
    resumed = run(
        interpreter_command, "--api-key", "sk-test", "--api-base", server.url, "--resume", old.stem, "-c", "more"
    )

    assert shown.returncode == resumed.returncode == 0, resumed.stderr
    migrated = old.with_suffix(".jsonl")  # saved again in today's form, under the same id; the old file gone
    assert not old.exists()
    assert_no_secret(shown.stdout, migrated.read_bytes())
    assert "http://***@old.example/v1?api-key=***" in migrated.read_text()


@pytest.mark.parametrize("args", [["--verbose", "-c", "hi"], ["--json", "--verbose", "-c", "hi"], ["doctor"]])
def test_a_server_quoting_the_key_in_its_url_back_is_shown_redacted(
    interpreter_command: list[str], server: FakeServer, private_home: Path, args: list[str]
) -> None:
    quoted = f"Invalid URL (POST /v1/chat/completions?api-key={URL_KEY})"
    server.enqueue(Fault.status(400, openai_error(quoted, "invalid_request_error")))

    result = run(interpreter_command, "--api-key", "sk-test", "--api-base", server.url, *args)

    assert result.returncode == 1
    assert "Invalid URL (POST /v1/chat/completions?api-key=***)" in result.stdout + result.stderr
    assert_no_secret(result.stdout, result.stderr, everything_kept(private_home))
