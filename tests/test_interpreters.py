"""Python cells run on the person's Python, found as a shell finds it; other languages on the person's PATH.

Whole-program tests make a real virtualenv (no network: a marker module written into its site-packages, a wheel
built here for `pip install`), and use the older Pythons pyenv put on this machine when they are there.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import venv
import zipfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from fake_server import FakeServer, Reply

from interpreter.doctor.check import Status
from interpreter.doctor.machine import python_check
from interpreter.execution import Executor
from interpreter.execution.interpreters import choose_python
from interpreter.messages import Notice, OutputChunk, RunResult

Run = Callable[..., subprocess.CompletedProcess[str]]
PYENV = Path("/root/.pyenv/versions")
OLDEST = PYENV / "3.8.18" / "bin" / "python"
TOO_OLD = [PYENV / "3.6.15" / "bin" / "python", PYENV / "2.7.18" / "bin" / "python"]
MARKER = "import steady_marker; print(steady_marker.WHERE)"


def site_packages(environment: Path) -> Path:
    """The site-packages folder of a virtualenv, as its own Python names it."""
    python = environment / "bin" / "python"
    asked = [str(python), "-c", "import sysconfig; print(sysconfig.get_path('purelib'))"]
    return Path(subprocess.run(asked, capture_output=True, text=True, check=True).stdout.strip())


def make_venv(where: Path, *, with_pip: bool = False) -> Path:
    """A virtualenv at `where` (this Python's version), holding the module `steady_marker` unless pip is wanted."""
    venv.EnvBuilder(with_pip=with_pip, symlinks=True).create(where)
    if not with_pip:
        (site_packages(where) / "steady_marker.py").write_text(f"WHERE = 'marker from {where.name}'\n")
    return where


def activated(environment: Path) -> dict[str, str]:
    """The environment a shell has after `source ENV/bin/activate`."""
    return {"VIRTUAL_ENV": str(environment), "PATH": f"{environment / 'bin'}{os.pathsep}{os.environ['PATH']}"}


@pytest.fixture(autouse=True)
def no_active_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    """Whatever environment the tests were started in is not the one a test means."""
    monkeypatch.delenv("VIRTUAL_ENV", raising=False)
    monkeypatch.delenv("CONDA_PREFIX", raising=False)


@pytest.fixture
def marked_venv(tmp_path: Path) -> Path:
    return make_venv(tmp_path / "project-venv")


def records(result: subprocess.CompletedProcess[str]) -> list[dict[str, Any]]:
    return [json.loads(line) for line in result.stdout.splitlines()]


def told(server: FakeServer) -> str:
    """What the model was told about the cells it ran: every tool message's text."""
    messages = [message for request in server.requests for message in (request.body or {}).get("messages", [])]
    return "\n".join(message["content"] for message in messages if message["role"] == "tool")


def run_cells(executor: Executor, *cells: str) -> list[RunResult]:
    """Run python cells in order; their results."""
    results = []
    for code in cells:
        *_, result = executor.run("python", code)
        assert isinstance(result, RunResult)
        results.append(result)
    return results


def test_python_cells_import_the_packages_of_the_active_virtualenv(
    run_cli: Run, server: FakeServer, marked_venv: Path
) -> None:
    server.enqueue(Reply.tool_call("python", MARKER), Reply.text("done"))

    result = run_cli("-c", "use my package", "-y", env=activated(marked_venv))

    assert result.returncode == 0, result.stderr
    assert "marker from project-venv" in result.stdout
    version = ".".join(map(str, sys.version_info[:3]))
    banner = f"python {version}: {marked_venv / 'bin' / 'python'} (the active virtualenv, VIRTUAL_ENV)"
    assert banner in result.stdout
    assert "marker from project-venv" in told(server) and banner not in told(server)  # the banner is the person's


def test_the_python_setting_of_a_profile_wins_over_the_active_virtualenv(
    run_cli: Run, server: FakeServer, marked_venv: Path, private_home: Path
) -> None:
    private_home.mkdir()
    (private_home / "config.toml").write_text(f'[profiles.plain]\npython = "{sys.executable}"\n')
    server.enqueue(Reply.tool_call("python", MARKER), Reply.text("done"))

    result = run_cli("-c", "use my package", "-y", "--profile", "plain", env=activated(marked_venv))

    assert "No module named 'steady_marker'" in result.stdout
    assert f": {sys.executable} (the python setting)" in result.stdout


def test_pip_install_in_a_shell_cell_is_importable_in_the_next_python_cell(
    run_cli: Run, server: FakeServer, tmp_path: Path
) -> None:
    environment = make_venv(tmp_path / "with-pip", with_pip=True)
    wheel = build_wheel(tmp_path / "dist")
    install = f"pip install --no-index --no-deps --disable-pip-version-check --quiet {wheel}"
    server.enqueue(
        Reply.tool_call("python", "print('worker up')"),  # the python process exists before the install
        Reply.tool_call("shell", install),
        Reply.tool_call("python", "import steady_wheel; print(steady_wheel.WHERE)"),
        Reply.text("done"),
    )

    result = run_cli("-c", "install and use it", "-y", env=activated(environment), timeout=120)

    assert result.returncode == 0, result.stderr
    assert "from the wheel" in result.stdout and "ModuleNotFoundError" not in result.stdout


def build_wheel(folder: Path) -> Path:
    """A wheel holding the module `steady_wheel`, as pip installs it (made here: no network, no build tools)."""
    folder.mkdir()
    wheel = folder / "steady_wheel-1.0-py3-none-any.whl"
    info = "steady_wheel-1.0.dist-info"
    files = {
        "steady_wheel.py": "WHERE = 'from the wheel'\n",
        f"{info}/METADATA": "Metadata-Version: 2.1\nName: steady-wheel\nVersion: 1.0\n",
        f"{info}/WHEEL": "Wheel-Version: 1.0\nGenerator: test\nRoot-Is-Purelib: true\nTag: py3-none-any\n",
    }
    with zipfile.ZipFile(wheel, "w") as archive:
        for name, text in files.items():
            archive.writestr(name, text)
        archive.writestr(f"{info}/RECORD", "".join(f"{name},,\n" for name in [*files, f"{info}/RECORD"]))
    return wheel


@pytest.mark.parametrize("old", TOO_OLD, ids=lambda path: path.parent.parent.name)
def test_a_too_old_python_falls_back_to_the_tools_own_with_one_line(
    run_cli: Run, server: FakeServer, old: Path
) -> None:
    if not old.exists():
        pytest.skip(f"{old} is not installed (pyenv)")
    server.enqueue(Reply.tool_call("python", "import sys; print(sys.version_info[:2])"), Reply.text("done"))

    result = run_cli("-c", "which python", "-y", env={"VIRTUAL_ENV": str(old.parent.parent)})

    version = old.parent.parent.name
    line = f"because {old} (the active virtualenv, VIRTUAL_ENV) is Python {version} and cells need 3.8 or newer"
    assert result.stdout.count(line) == 1
    assert str(tuple(sys.version_info[:2])) in result.stdout  # the cell ran, on the tool's own Python
    assert line in told(server)  # so the model knows why the person's packages are missing


def test_a_broken_python_falls_back_to_the_tools_own_with_one_line(
    run_cli: Run, server: FakeServer, tmp_path: Path
) -> None:
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    broken = bin_dir / "python3"
    broken.write_text("#!/bin/sh\necho 'python3: cannot open shared object file' >&2\nexit 127\n")
    broken.chmod(0o755)
    server.enqueue(Reply.tool_call("python", "print(6 * 7)"), Reply.text("done"))

    result = run_cli("-c", "compute", "-y", env={"PATH": f"{bin_dir}{os.pathsep}{os.environ['PATH']}"})

    line = f"because {broken} failed with exit status 127: python3: cannot open shared object file"
    assert result.stdout.count(line) == 1 and "42" in result.stdout


def test_the_json_events_name_the_python_that_ran_the_cell(run_cli: Run, server: FakeServer, marked_venv: Path) -> None:
    server.enqueue(Reply.tool_call("python", MARKER), Reply.text("done"))

    result = run_cli("-c", "use my package", "-y", "--json", env=activated(marked_venv))

    (finished,) = [record for record in records(result) if record["type"] == "code_finished"]
    version = ".".join(map(str, sys.version_info[:3]))
    assert finished["interpreter"] == {"path": str(marked_venv / "bin" / "python"), "version": version}


@pytest.fixture
def oldest_executor() -> Iterator[Executor]:
    if not OLDEST.exists():
        pytest.skip(f"{OLDEST} is not installed (pyenv)")
    with Executor(environ={**os.environ, "VIRTUAL_ENV": str(OLDEST.parent.parent)}) as executor:
        yield executor


def test_the_worker_runs_cells_on_python_3_8(oldest_executor: Executor) -> None:
    first, second, failing = run_cells(
        oldest_executor, "import sys\nx = sys.version_info[:2]", "x", "def f():\n    raise ValueError('no')\nf()"
    )
    assert first.runtime is not None and first.runtime.version == "3.8.18"
    assert second.output == "(3, 8)\n"  # state kept, the final expression shown as the REPL does
    assert "ValueError: no" in failing.output and 'File "<cell 3>", line 2, in f' in failing.output


def test_python_cells_run_on_the_first_python3_of_the_path(tmp_path: Path) -> None:
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    (bin_dir / "python3").symlink_to(sys.executable)
    with Executor(environ={"PATH": f"{bin_dir}{os.pathsep}/usr/bin{os.pathsep}/bin"}) as executor:
        items = list(executor.run("python", "import sys\nsys.executable"))
    assert items[0] == Notice(
        f"python {'.'.join(map(str, sys.version_info[:3]))}: {bin_dir / 'python3'} (python3 on PATH)"
    )
    assert "".join(item.text for item in items if isinstance(item, OutputChunk)) == f"{str(bin_dir / 'python3')!r}\n"


def test_other_languages_come_from_the_persons_path(tmp_path: Path) -> None:
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    ruby = bin_dir / "ruby"
    ruby.write_text('#!/bin/sh\necho "ruby from the PATH ran: $2"\n')
    ruby.chmod(0o755)
    with Executor(environ={"PATH": f"{bin_dir}{os.pathsep}/usr/bin{os.pathsep}/bin"}) as executor:
        assert "ruby" in executor.languages()
        *_, result = executor.run("ruby", "puts 1")
    assert isinstance(result, RunResult) and result.output == "ruby from the PATH ran: puts 1\n"


def test_doctor_names_the_python_and_fails_when_it_is_passed_over(marked_venv: Path) -> None:
    found = python_check(None, activated(marked_venv))
    assert (found.status, found.detail) == (Status.OK, choose_python(None, activated(marked_venv)).banner())
    assert str(marked_venv / "bin" / "python") in found.detail

    missing = python_check("no-such-python", activated(marked_venv))
    assert missing.status is Status.FAILED and "python = 'no-such-python' (the python setting) was not found" in (
        missing.detail
    )
