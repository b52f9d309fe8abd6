"""Non-root users for tests that face the tool as an attacker would: made with useradd, removed afterwards.

`made_user()` yields a `User` (skipping the test unless we are root); `User.run` runs a command as it (runuser),
with only the environment given. `everyone_command()` is the installed `interpreter`'s own script under a Python
every user may run: the project's Python may live under /root, which other users cannot enter, so the script is
copied beside, with its shebang changed, and the project and the packages it needs are mirrored into a folder every
user can read, put first on sys.path.
"""

from __future__ import annotations

import os
import pwd
import secrets
import shutil
import stat
import subprocess
import sys
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path

import pytest
from packaging.requirements import Requirement

import interpreter

_PYTHONS = ("/usr/bin/python3", "/usr/local/bin/python3")  # where a Python others can run usually is
_PROJECT = "steady-interpreter"
_OPEN_FOLDER = stat.S_IRWXU | stat.S_IRGRP | stat.S_IXGRP | stat.S_IROTH | stat.S_IXOTH  # 0755


@dataclass(frozen=True)
class User:
    """A user of this machine, made for a test."""

    name: str
    uid: int
    gid: int

    def run(
        self, argv: Sequence[str], *, env: Mapping[str, str], cwd: Path, stdin: str = "", timeout: float = 120
    ) -> subprocess.CompletedProcess[str]:
        """`argv` run as this user in `cwd`, with `env` alone as its environment; the finished process."""
        variables = [f"{name}={value}" for name, value in env.items()]
        return subprocess.run(
            ["runuser", "-u", self.name, "--", "env", "-i", "-C", str(cwd), *variables, *argv],
            input=stdin,
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )

    def folder(self, path: Path, mode: int) -> Path:
        """A folder of this user's at `path` (made if it is not there), with `mode`."""
        path.mkdir(parents=True, exist_ok=True)
        os.chown(path, self.uid, self.gid)
        path.chmod(mode)
        return path

    def write(self, path: Path, text: str, mode: int) -> Path:
        """A file of this user's holding `text`, with `mode`."""
        path.write_text(text)
        os.chown(path, self.uid, self.gid)
        path.chmod(mode)
        return path


@contextmanager
def made_user(prefix: str = "si-test") -> Iterator[User]:
    """A new user with no home of its own (tests give it one), removed afterwards; skips unless we are root."""
    if os.geteuid() != 0 or shutil.which("useradd") is None:
        pytest.skip("making a non-root user needs root and useradd")
    name = f"{prefix}-{secrets.token_hex(3)}"
    subprocess.run(["useradd", "--no-create-home", "--user-group", "--shell", "/bin/sh", name], check=True)
    try:
        entry = pwd.getpwnam(name)
        yield User(name, entry.pw_uid, entry.pw_gid)
    finally:
        subprocess.run(["userdel", name], capture_output=True, check=False)


@contextmanager
def open_folder(parent: Path = Path("/tmp")) -> Iterator[Path]:
    """A new folder every user may enter (pytest's tmp_path is root's alone), removed afterwards."""
    folder = parent / f"si-test-{secrets.token_hex(4)}"
    folder.mkdir(mode=_OPEN_FOLDER)
    folder.chmod(_OPEN_FOLDER)
    try:
        yield folder
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def everyone_command(folder: Path) -> list[str]:
    """The installed `interpreter` script, runnable by every user, written into `folder` (which they may enter)."""
    installed = shutil.which("interpreter")
    if installed is None:
        pytest.fail("the `interpreter` command is not installed: run README's install command first")
    python = everyone_python()
    site = folder / "site"
    if not site.exists():  # mirrored once per folder
        _mirror_packages(site)
    _, body = Path(installed).read_text().split("\n", 1)
    script = folder / "interpreter"
    script.write_text(f"#!{python} -s\nimport sys\nsys.path[:0] = [{str(site)!r}]\n{body}")
    script.chmod(_OPEN_FOLDER)
    return [str(script)]


def everyone_python() -> str:
    """A Python of this version that every user may run (skips the test where there is none)."""
    found = next((path for path in _PYTHONS if _same_python(path)), None)
    if found is None:
        pytest.skip(f"no Python {sys.version_info.major}.{sys.version_info.minor} that every user may run")
    return found


def _mirror_packages(site: Path) -> None:
    """The project and every package it needs, linked (else copied) into `site`, every folder open to all.

    Wherever they are installed (a checkout or a Python under /root, which other users cannot enter), the copy
    lies where the test's user can read it.
    """
    package = Path(interpreter.__file__).resolve().parent
    shutil.copytree(package, site / package.name, copy_function=_link_or_copy, ignore=shutil.ignore_patterns("*.pyc"))
    for distribution in _needed(_PROJECT):
        for file in distribution.files or ():
            source = Path(str(distribution.locate_file(file)))
            if ".." in file.parts or not source.is_file():
                continue  # scripts installed beside the Python, and the project's own editable-install hooks
            target = site / file
            target.parent.mkdir(parents=True, exist_ok=True)
            _link_or_copy(str(source), str(target))
    for path in (site, *site.rglob("*")):
        if path.is_dir():
            path.chmod(_OPEN_FOLDER)


def _needed(name: str) -> list[metadata.Distribution]:
    """The installed distributions `name` needs to run, itself excluded, found through their requirements."""
    found: dict[str, metadata.Distribution] = {}
    waiting = [name]
    while waiting:
        distribution = metadata.distribution(waiting.pop())
        key = distribution.metadata["Name"].lower().replace("_", "-")
        if key in found:
            continue
        found[key] = distribution
        for line in distribution.requires or ():
            requirement = Requirement(line)
            if requirement.marker is None or requirement.marker.evaluate({"extra": ""}):
                waiting.append(requirement.name)
    return [distribution for key, distribution in found.items() if key != name]


def _link_or_copy(source: str, target: str) -> None:
    """A hard link of `source` at `target` where both share a filesystem, else a copy."""
    try:
        os.link(source, target)
    except OSError:
        shutil.copy2(source, target)


def _same_python(path: str) -> bool:
    """Whether `path` is a Python of our version, runnable by anyone (its compiled packages then load)."""
    if not os.access(path, os.X_OK) or not os.stat(path).st_mode & stat.S_IXOTH:
        return False
    asked = subprocess.run(
        [path, "-c", "import sys; print(sys.version_info[:2])"], capture_output=True, text=True, check=False
    )
    return asked.stdout.strip() == str(sys.version_info[:2])
