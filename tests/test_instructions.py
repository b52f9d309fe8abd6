"""What the model is told besides the task: the AGENTS.md files from the repository root down to the working
directory, the person's standing instructions, and `%instructions`, which shows them all.

Whole-program tests run the installed command in a temporary git repository against the fake server, and read the
system message the server received.
"""

from __future__ import annotations

import io
import json
import os
import subprocess
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from fake_server import FakeServer, RecordedRequest, Reply
from rich.console import Console
from stored import conversation_files

from interpreter import Interpreter
from interpreter.doctor.check import Status
from interpreter.doctor.instructions import instructions_check
from interpreter.errors import ConfigError
from interpreter.messages import Notice
from interpreter.model.instructions import Piece, Told, gather, listing
from interpreter.model.project_instructions import PROJECT_CAP, find, repository_root
from interpreter.settings.config import Settings
from interpreter.ui.terminal import TerminalRenderer

Run = Callable[..., subprocess.CompletedProcess[str]]
ROOT_TEXT = "Use uv, never pip."
SUB_TEXT = "Tests: make test."


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    """A git repository (its `.git` a folder) with AGENTS.md at its root and in sub/."""
    root = tmp_path / "repo"
    (root / ".git").mkdir(parents=True)
    (root / "sub").mkdir()
    (root / "AGENTS.md").write_text(ROOT_TEXT + "\n")
    (root / "sub" / "AGENTS.md").write_text(SUB_TEXT + "\n")
    return root


@pytest.fixture
def run_in(interpreter_command: list[str], server: FakeServer) -> Iterator[Run]:
    """Run the installed CLI in the folder given, against the fake server, without a terminal."""

    def run(cwd: Path, *args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
        command = [*interpreter_command, "--api-base", server.url, "--api-key", "sk-test", *args]
        return subprocess.run(
            command, capture_output=True, text=True, env={**os.environ, **(env or {})}, cwd=cwd, timeout=60, check=False
        )

    yield run


def system_of(request: RecordedRequest) -> str:
    """The system message a Chat Completions request carried."""
    assert request.body is not None
    first: dict[str, Any] = request.body["messages"][0]
    assert first["role"] == "system"
    text: str = first["content"]
    return text


def settings_file(home: Path, text: str) -> None:
    home.mkdir(parents=True, exist_ok=True)
    (home / "config.toml").write_text(text)


# ---- whole program: AGENTS.md ---------------------------------------------------------------------------------


def test_run_in_sub_the_model_is_told_both_files_the_inner_last_and_one_line_says_so(
    run_in: Run, server: FakeServer, repo: Path, private_home: Path
) -> None:
    server.enqueue(Reply.text("done"))

    result = run_in(repo / "sub", "-c", "hello")

    assert result.returncode == 0, result.stderr
    system = system_of(server.requests[0])
    assert ROOT_TEXT in system
    assert SUB_TEXT in system
    assert system.index(ROOT_TEXT) < system.index(SUB_TEXT)
    assert '<file path="sub/AGENTS.md">' in system
    assert result.stdout.splitlines()[0] == "instructions: AGENTS.md (19 B), sub/AGENTS.md (18 B)"
    (path,) = conversation_files(private_home / "conversations")
    saved = path.read_text()
    assert ROOT_TEXT not in saved  # told anew each session, never kept in the conversation
    assert SUB_TEXT not in saved


def test_on_responses_they_are_part_of_the_instructions(run_in: Run, server: FakeServer, repo: Path) -> None:
    server.enqueue(Reply.text("done"))

    result = run_in(repo / "sub", "-c", "hello", "--api", "responses")

    assert result.returncode == 0, result.stderr
    body = server.requests[0].body or {}
    assert body["instructions"].index(ROOT_TEXT) < body["instructions"].index(SUB_TEXT)
    assert ROOT_TEXT not in json.dumps(body["input"])


def test_nothing_above_the_repository_root_is_read_and_a_git_file_marks_a_worktree(
    run_in: Run, server: FakeServer, tmp_path: Path
) -> None:
    (tmp_path / "AGENTS.md").write_text("ABOVE THE ROOT\n")
    worktree = tmp_path / "worktree"
    worktree.mkdir()
    (worktree / ".git").write_text("gitdir: /elsewhere/.git/worktrees/w\n")  # a worktree's .git is a file
    (worktree / "AGENTS.md").write_text("the worktree's\n")
    server.enqueue(Reply.text("done"))

    result = run_in(worktree, "-c", "hello")

    assert result.returncode == 0, result.stderr
    system = system_of(server.requests[0])
    assert "the worktree's" in system
    assert "ABOVE THE ROOT" not in system


def test_outside_a_repository_only_the_working_directory_is_read(tmp_path: Path) -> None:
    (tmp_path / "AGENTS.md").write_text("parent\n")
    here = tmp_path / "here"
    here.mkdir()
    (here / "AGENTS.md").write_text("here\n")

    found = find(here)

    assert repository_root(here) == here
    assert [(file.name, file.text) for file in found.files] == [("AGENTS.md", "here\n")]


def test_over_32_kib_in_all_the_innermost_is_kept_whole_and_the_outer_cut_with_a_note(
    run_in: Run, server: FakeServer, repo: Path
) -> None:
    (repo / "AGENTS.md").write_text("R" * 30_000 + "ROOT-END")
    (repo / "sub" / "AGENTS.md").write_text("S" * 10_000 + "SUB-END")
    server.enqueue(Reply.text("done"))

    result = run_in(repo / "sub", "-c", "hello")

    assert result.returncode == 0, result.stderr
    system = system_of(server.requests[0])
    assert "SUB-END" in system
    assert "ROOT-END" not in system
    kept = PROJECT_CAP - 10_007
    assert "R" * kept in system
    assert "R" * (kept + 1) not in system
    cut = f"AGENTS.md (30.0 kB, cut to {kept / 1000:.1f} kB)"
    assert f"[Cut to 32 KiB in all, the innermost kept: {cut}.]" in system
    assert result.stdout.splitlines()[0] == (
        f"instructions: {cut}, sub/AGENTS.md (10.0 kB) (over 32 KiB in all: the innermost kept)"
    )


def test_an_innermost_file_over_the_cap_is_cut_and_the_outer_left_out(repo: Path) -> None:
    (repo / "sub" / "AGENTS.md").write_text("é" * PROJECT_CAP)  # two bytes each: the cut falls between characters

    found = find(repo / "sub")

    outer, inner = found.files
    assert outer.sent == 0
    assert outer.label == "AGENTS.md (19 B, left out)"
    assert inner.text == "é" * (PROJECT_CAP // 2)
    assert [file.name for file in found.told] == ["sub/AGENTS.md"]


def test_a_fifo_a_folder_and_a_file_not_utf8_are_one_line_each_and_skipped(
    run_in: Run, server: FakeServer, repo: Path
) -> None:
    (repo / "sub" / "AGENTS.md").unlink()
    os.mkfifo(repo / "sub" / "AGENTS.md")
    deeper = repo / "sub" / "deeper"
    (deeper / "AGENTS.md").mkdir(parents=True)  # a folder named AGENTS.md
    (repo / "AGENTS.md").write_bytes(b"caf\xe9\n")  # Latin-1
    server.enqueue(Reply.text("done"))

    result = run_in(deeper, "-c", "hello")

    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[:3] == [
        "note: AGENTS.md skipped: it is not UTF-8 text (byte 3 is not): save it as UTF-8",
        f"note: sub/AGENTS.md skipped: cannot read {repo}/sub/AGENTS.md: it is a FIFO (named pipe), not a regular file",
        f"note: sub/deeper/AGENTS.md skipped: cannot read {deeper}/AGENTS.md: it is a directory, not a regular file",
    ]
    assert "AGENTS.md" not in system_of(server.requests[0])


def test_a_link_to_a_file_outside_the_repository_is_skipped(repo: Path, tmp_path: Path) -> None:
    secret = tmp_path / "secret.txt"
    secret.write_text("SECRET\n")
    (repo / "sub" / "AGENTS.md").unlink()
    (repo / "sub" / "AGENTS.md").symlink_to(secret)

    found = find(repo / "sub")

    assert [file.name for file in found.files] == ["AGENTS.md"]
    assert found.skipped == (f"sub/AGENTS.md skipped: it is a link to {secret}, outside the repository",)


def test_no_project_instructions_tells_no_file_and_says_nothing(run_in: Run, server: FakeServer, repo: Path) -> None:
    server.enqueue(Reply.text("done"))

    result = run_in(repo / "sub", "-c", "hello", "--no-project-instructions")

    assert result.returncode == 0, result.stderr
    assert "AGENTS.md" not in system_of(server.requests[0])
    assert "instructions:" not in result.stdout


def test_json_gets_a_notice_naming_the_files(run_in: Run, server: FakeServer, repo: Path) -> None:
    server.enqueue(Reply.text("done"))

    result = run_in(repo / "sub", "-c", "hello", "--json")

    records = [json.loads(line) for line in result.stdout.splitlines()]
    notices = [record for record in records if record["type"] == "notice"]
    assert notices == [{"type": "notice", "text": "instructions: AGENTS.md (19 B), sub/AGENTS.md (18 B)"}]
    assert records.index(notices[0]) < [record["type"] for record in records].index("request_started")


def test_a_resumed_conversation_is_told_the_files_as_they_are_now(run_in: Run, server: FakeServer, repo: Path) -> None:
    server.enqueue(Reply.text("first"), Reply.text("second"))
    assert run_in(repo / "sub", "-c", "hello").returncode == 0
    (repo / "sub" / "AGENTS.md").write_text("Tests: tox.\n")

    result = run_in(repo / "sub", "--resume", "-c", "again")

    assert result.returncode == 0, result.stderr
    system = system_of(server.requests[1])
    assert "Tests: tox." in system
    assert SUB_TEXT not in system
    assert [m["role"] for m in (server.requests[1].body or {})["messages"]].count("system") == 1


def test_config_lists_the_files_found_and_their_sizes(run_in: Run, repo: Path) -> None:
    result = run_in(repo / "sub", "config")

    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines()[-3:] == [
        f"AGENTS.md files, from {repo} down to here:",
        "  AGENTS.md      19 B",
        "  sub/AGENTS.md  18 B",
    ]
    assert any(line.split()[:3] == ["project_instructions", "true", "default"] for line in result.stdout.splitlines())


def test_percent_instructions_shows_every_piece_with_its_size(
    run_in: Run, server: FakeServer, repo: Path, private_home: Path
) -> None:
    (private_home / "mine.md").parent.mkdir(parents=True, exist_ok=True)
    (private_home / "mine.md").write_text("Prefer polars.\n")
    settings_file(private_home, 'instructions_file = "mine.md"\n')

    result = run_in(repo / "sub", "-c", "%instructions", "--instructions", "Answer in French.")

    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    headings = [line for line in lines if line.startswith("--- ")]
    assert [heading.rsplit(" (", 1)[0] for heading in headings] == [
        "--- the tool's own",
        f"--- your instructions file {private_home / 'mine.md'}",
        "--- your instructions",
        "--- AGENTS.md",
        "--- sub/AGENTS.md",
    ]
    assert headings[2] == "--- your instructions (17 B) ---"
    for text in ("You are a code interpreter", "Prefer polars.", "Answer in French.", ROOT_TEXT, SUB_TEXT):
        assert any(text in line for line in lines), text
    assert lines[1].startswith("the model is told 5 pieces (")
    assert server.requests == []


def test_percent_instructions_shows_a_files_hidden_characters_as_stand_ins(run_in: Run, repo: Path) -> None:
    (repo / "sub" / "AGENTS.md").write_text("fine\x1b[2J\n")

    result = run_in(repo / "sub", "-c", "%instructions")

    assert "\x1b" not in result.stdout
    assert "fine␛[2J" in result.stdout


# ---- whole program: the person's standing instructions --------------------------------------------------------


def test_the_setting_and_the_file_are_told_after_the_tools_own_message(
    run_in: Run, server: FakeServer, tmp_path: Path, private_home: Path
) -> None:
    (tmp_path / "mine.md").write_text("FROM THE FILE\n")
    settings_file(private_home, f'instructions = "FROM THE SETTING"\ninstructions_file = "{tmp_path / "mine.md"}"\n')
    server.enqueue(Reply.text("done"))

    result = run_in(tmp_path, "-c", "hello")

    assert result.returncode == 0, result.stderr
    system = system_of(server.requests[0])
    assert system.index("You are a code interpreter") < system.index("FROM THE FILE") < system.index("FROM THE SETTING")


def test_the_flag_takes_the_place_of_the_setting_and_the_file_stays(
    run_in: Run, server: FakeServer, tmp_path: Path, private_home: Path
) -> None:
    (tmp_path / "mine.md").write_text("FROM THE FILE\n")
    settings_file(private_home, f'instructions = "FROM THE SETTING"\ninstructions_file = "{tmp_path / "mine.md"}"\n')
    server.enqueue(Reply.text("done"))

    result = run_in(tmp_path, "-c", "hello", "--instructions", "FROM THE FLAG")

    assert result.returncode == 0, result.stderr
    system = system_of(server.requests[0])
    assert "FROM THE FLAG" in system
    assert "FROM THE FILE" in system
    assert "FROM THE SETTING" not in system


def test_a_profile_has_instructions_of_its_own(
    run_in: Run, server: FakeServer, tmp_path: Path, private_home: Path
) -> None:
    settings_file(private_home, 'instructions = "PLAIN"\n[profiles.fr]\ninstructions = "EN FRANÇAIS"\n')
    server.enqueue(Reply.text("done"))

    result = run_in(tmp_path, "-c", "hello", "--profile", "fr")

    assert result.returncode == 0, result.stderr
    assert "EN FRANÇAIS" in system_of(server.requests[0])
    assert "PLAIN" not in system_of(server.requests[0])


def test_an_instructions_file_that_is_missing_is_one_line_exit_2_and_nothing_sent(
    run_in: Run, server: FakeServer, tmp_path: Path, private_home: Path
) -> None:
    settings_file(private_home, 'instructions_file = "~/nowhere/mine.md"\n')

    result = run_in(tmp_path, "-c", "hello", env={"HOME": str(tmp_path)})

    assert result.returncode == 2
    assert result.stderr == (
        f"interpreter: instructions_file: cannot read {tmp_path}/nowhere/mine.md: No such file or directory; "
        "fix instructions_file in the settings file, or remove it\n"
    )
    assert server.requests == []


def test_on_a_terminal_the_line_is_dim_and_a_skipped_file_yellow() -> None:
    out = io.StringIO()
    renderer = TerminalRenderer(Console(file=out, width=100, height=24, force_terminal=True, color_system="standard"))

    renderer.handle(Notice("instructions: AGENTS.md (19 B)", quiet=True))
    renderer.handle(Notice("sub/AGENTS.md skipped: it is not UTF-8 text"))
    renderer.stop()

    assert "\x1b[2minstructions: AGENTS.md (19 B)" in out.getvalue()
    assert "\x1b[33msub/AGENTS.md skipped" in out.getvalue()


def test_the_python_api_tells_the_same_files_and_instructions(
    server: FakeServer, repo: Path, private_home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings_file(private_home, 'instructions = "Answer in French."\n')
    monkeypatch.chdir(repo / "sub")
    server.enqueue(Reply.text("fait"))

    with Interpreter(api_base=server.url, api_key="sk-test") as session:
        list(session.chat("hello"))
        kept = session.messages

    system = system_of(server.requests[0])
    assert system.index("Answer in French.") < system.index(ROOT_TEXT) < system.index(SUB_TEXT)
    assert [message.role for message in kept] == ["user", "assistant"]


# ---- the pieces ---------------------------------------------------------------------------------------------------


def test_an_instructions_file_not_utf8_is_a_config_error(tmp_path: Path) -> None:
    (tmp_path / "mine.md").write_bytes(b"\xff\xfe")

    with pytest.raises(ConfigError, match="is not UTF-8 text"):
        gather(Settings(home=tmp_path, instructions_file="mine.md"), tmp_path)


def test_without_any_standing_text_the_system_message_is_the_tools_own() -> None:
    assert Told(tool="TOOL").system() == "TOOL"
    assert Told(tool="TOOL").pieces() == [Piece("the tool's own", "TOOL")]


def test_config_says_when_the_files_are_not_read_or_none_is_found(tmp_path: Path) -> None:
    assert listing(Settings(home=tmp_path, project_instructions=False), tmp_path) == [
        "AGENTS.md files: not read (project_instructions = false)"
    ]
    assert listing(Settings(home=tmp_path), tmp_path) == [f"AGENTS.md files: none from {tmp_path} down to here"]


def test_the_doctor_names_the_files_and_fails_for_one_skipped(repo: Path, tmp_path: Path) -> None:
    good = instructions_check(Settings(home=tmp_path, instructions="be brief"), repo / "sub")
    assert (good.status, good.detail) == (Status.OK, "your instructions (8 B); AGENTS.md (19 B), sub/AGENTS.md (18 B)")

    (repo / "AGENTS.md").write_bytes(b"\xff")
    bad = instructions_check(Settings(home=tmp_path), repo / "sub")
    assert bad.status is Status.FAILED
    assert "AGENTS.md skipped: it is not UTF-8 text" in bad.detail

    missing = instructions_check(Settings(home=tmp_path, instructions_file="gone.md"), repo)
    assert missing.status is Status.FAILED
    assert missing.detail.startswith(f"instructions_file: cannot read {tmp_path}/gone.md")
