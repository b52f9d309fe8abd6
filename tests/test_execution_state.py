"""What carries over between cells in real workers: state does; options, redirections and silencing don't."""

from __future__ import annotations

import shutil
import time
from collections.abc import Iterator
from pathlib import Path

import psutil
import pytest
from test_execution import assert_nothing_left, run

from interpreter.execution import Executor

needs_node = pytest.mark.skipif(shutil.which("node") is None, reason="node is not installed")

RESTORED = "restored for the next cell]"


@pytest.fixture
def executor() -> Iterator[Executor]:
    """An executor checked to leave no process behind."""
    with Executor(grace=5.0) as started:
        yield started
    assert_nothing_left(started.tag)


# ---- shell -----------------------------------------------------------------------------------------------------


def test_shell_options_and_traps_end_with_their_cell_while_state_persists(executor: Executor, tmp_path: Path) -> None:
    setup = f"x=5; f() {{ echo \"fn $x\"; }}; cd {tmp_path}; set -euo pipefail; set -x; trap 'echo ERR-TRAP' ERR"
    run(executor, "shell", setup)

    _, result = run(executor, "shell", 'echo a | grep b; echo "after$undefined"; f; pwd')

    assert result.output == f"after\nfn 5\n{tmp_path}\n"  # no trace, no trap, no exit on the failing grep
    assert (result.exit_status, result.restarted) == (0, False)


def test_a_shell_cell_that_silences_its_output_does_not_silence_the_next(executor: Executor) -> None:
    _, silencing = run(executor, "shell", "exec >/dev/null 2>&-; echo hidden")
    assert silencing.output == f"[this cell redirected stdout and stderr with exec; {RESTORED}\n"

    _, result = run(executor, "shell", "echo visible; ls /nonexistent-path")
    assert result.output.startswith("visible\nls: cannot access")


# ---- python ----------------------------------------------------------------------------------------------------

SILENCING = {
    "a replaced sys.stdout": ('sys.stdout = open(os.devnull, "w")', "sys.stdout"),
    "a closed sys.stdout": ("sys.stdout.close()", "sys.stdout"),
    "fd 1 and 2 pointed at /dev/null": (
        "null = os.open(os.devnull, os.O_WRONLY); os.dup2(null, 1); os.dup2(null, 2)",
        "fd 1, fd 2",
    ),
}


@pytest.mark.parametrize(("code", "named"), SILENCING.values(), ids=SILENCING.keys())
def test_a_python_cell_that_silences_output_is_undone_and_says_so(executor: Executor, code: str, named: str) -> None:
    run(executor, "python", "import os, subprocess, sys\nkept = 7")
    _, silencing = run(executor, "python", code)
    assert silencing.output == f"[this cell replaced or closed {named}; {RESTORED}\n"

    _, result = run(
        executor, "python", "print(kept); print('err', file=sys.stderr); _ = subprocess.run(['echo', 'child'])"
    )
    assert result.output == "7\nerr\nchild\n"


# ---- javascript ------------------------------------------------------------------------------------------------


@needs_node
def test_a_javascript_cell_that_replaces_console_log_is_undone_and_says_so(executor: Executor) -> None:
    _, silencing = run(executor, "javascript", "console.log = () => {}; kept = 3")
    assert silencing.output == f"[this cell replaced or closed console.log; {RESTORED}\n3\n"

    assert run(executor, "javascript", "console.log(kept)")[1].output == "3\n"


CLOSING = {
    "fd 1": ("fs.closeSync(1)", "fd 1"),
    "fd 1 and 2": ("fs.closeSync(1); fs.closeSync(2)", "fd 1, fd 2"),
    "fd 1 reopened on /dev/null": ("fs.closeSync(1); fs.openSync('/dev/null', 'w'); undefined", "fd 1"),
}


@needs_node
@pytest.mark.parametrize(("code", "named"), CLOSING.values(), ids=CLOSING.keys())
def test_a_javascript_cell_that_closes_its_output_ends_and_the_next_cell_prints(
    executor: Executor, code: str, named: str
) -> None:
    run(executor, "javascript", "fs = require('fs'); kept = 7")
    _, closing = run(executor, "javascript", code, timeout=60)
    assert (closing.output, closing.exit_status, closing.interrupted) == (
        f"[this cell replaced or closed {named}; {RESTORED}\n",
        0,
        False,
    )

    echo = "require('child_process').execFileSync('echo', ['child'], { stdio: 'inherit' })"
    _, result = run(executor, "javascript", f"console.log(kept); console.error('err'); {echo}; 8")
    assert result.output == "7\nerr\nchild\n8\n"
    assert (result.exit_status, result.restarted) == (0, False)


# ---- restart ---------------------------------------------------------------------------------------------------


def test_restart_ends_every_process_and_the_next_cells_start_fresh_without_a_warning(executor: Executor) -> None:
    run(executor, "python", "x = 41")
    job = psutil.Process(int(run(executor, "shell", "sleep 1000 & echo $!")[1].output.splitlines()[0]))

    executor.restart()

    job.wait(timeout=10)  # ended by the restart (it raises if the job is still running by then)
    _, result = run(executor, "python", "print('x' in globals())")
    assert (result.output, result.restarted) == ("False\n", False)
    assert run(executor, "shell", "echo fresh")[1].output == "fresh\n"


# ---- output between cells --------------------------------------------------------------------------------------


def test_output_a_background_job_prints_between_cells_is_set_apart_from_the_next_cell(
    executor: Executor, tmp_path: Path
) -> None:
    go, done = tmp_path / "go", tmp_path / "done"
    job = f"(until [ -e {go} ]; do sleep 0.01; done; echo late; touch {done}) &"
    _, first = run(executor, "shell", f"{job} echo first")
    go.touch()
    deadline = time.monotonic() + 10
    while not done.exists() and time.monotonic() < deadline:
        time.sleep(0.01)

    _, second = run(executor, "shell", "echo second")

    assert "late" not in first.output
    assert second.output == (
        "[printed between cells by a process an earlier cell left running:]\nlate\n"
        "[end of that; this cell's output follows]\nsecond\n"
    )
