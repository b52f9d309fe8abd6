"""The shared budget as a user meets it: several `interpreter -c` at once, the store setting, doctor, a dead store."""

from __future__ import annotations

import os
import subprocess
from collections.abc import Callable
from pathlib import Path

from fake_server import FakeServer, TokenLimits, cells
from redis_server import free_port

SESSIONS = 6
TPM = 9_000  # the six tasks need about 13,000 tokens: a third of them wait for the refill


def test_six_sessions_at_once_share_one_budget_and_lose_no_task(
    interpreter_command: list[str], private_home: Path, tmp_path: Path
) -> None:
    with FakeServer(limits=TokenLimits(tokens_per_minute=TPM), responder=cells(3)) as server:
        command = [*interpreter_command, "-y", "--api-base", server.url, "--api-key", "sk-test", "-c"]
        sessions = [
            subprocess.Popen(
                [*command, f"task {number}: run three cells"],
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                text=True,
                cwd=tmp_path,
                env={**os.environ, "INTERPRETER_HOME": str(private_home)},
            )
            for number in range(SESSIONS)
        ]
        outputs = [session.communicate(timeout=300)[0] for session in sessions]
        assert server.limiter is not None
        refused = server.limiter.rejected
    assert [session.returncode for session in sessions] == [0] * SESSIONS, outputs
    assert all("All 3 cells ran." in output for output in outputs)
    assert refused <= 1  # each session waited its turn instead of learning of the others from a 429
    assert any("waiting for the shared budget" in output for output in outputs)


def test_a_store_that_is_not_one_is_one_line_and_exit_2(
    run_cli: Callable[..., subprocess.CompletedProcess[str]],
) -> None:
    result = run_cli("--rate-limit-store", "redis:/localhost", "-c", "hi")
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == [
        'interpreter: rate_limit_store must be "sqlite", "off" or a Redis URL like redis://localhost:6379/0, '
        "got 'redis:/localhost'"
    ]


def test_a_store_nobody_answers_is_said_once_and_the_task_still_gets_done(
    run_cli: Callable[..., subprocess.CompletedProcess[str]], server: FakeServer
) -> None:
    store = f"redis://127.0.0.1:{free_port()}/0"
    result = run_cli("--rate-limit-store", store, "-c", "hi")
    assert result.returncode == 0, result.stderr
    said = [line for line in result.stdout.splitlines() if "cannot be used" in line]
    assert len(said) == 1 and said[0].startswith(f"the shared budget at {store} cannot be used")
    assert said[0].endswith("this session limits its own requests from now on")
    assert len(server.requests) == 1


def test_doctor_checks_that_the_store_answers(
    run_cli: Callable[..., subprocess.CompletedProcess[str]], private_home: Path
) -> None:
    shown = run_cli("doctor").stdout
    assert "shared budget" in shown and f"sqlite {private_home / 'budget.sqlite3'} answered" in shown
    dead = f"redis://127.0.0.1:{free_port()}/0"
    result = run_cli("doctor", env={"INTERPRETER_RATE_LIMIT_STORE": dead})
    assert result.returncode == 1
    assert f"the shared budget at {dead} cannot be used" in result.stdout
    assert "start the store or fix rate_limit_store" in result.stdout


def test_a_damaged_budget_file_is_said_once_and_the_task_still_gets_done(
    run_cli: Callable[..., subprocess.CompletedProcess[str]], private_home: Path
) -> None:
    private_home.mkdir(parents=True, exist_ok=True)
    (private_home / "budget.sqlite3").write_bytes(b"\x00garbage, not a database\n" * 200)
    result = run_cli("-c", "hi")
    assert result.returncode == 0, result.stderr
    said = [line for line in result.stdout.splitlines() if "cannot be used" in line]
    assert said == [
        f"the shared budget file {private_home / 'budget.sqlite3'} cannot be used: file is not a database; "
        "this session limits its own requests from now on"
    ]
