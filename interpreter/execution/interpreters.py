"""Which Python runs python cells: the person's, found as their shell would find it, else the tool's own.

The order: the `python` setting; the active virtualenv (`VIRTUAL_ENV`); the active conda environment
(`CONDA_PREFIX`); `python3`, then `python`, on `PATH`; the Python this tool runs on. One found but missing, broken
or older than the worker needs is passed over for the tool's own, and the banner says why.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path

from interpreter.errors import UnusablePython
from interpreter.messages import Runtime

# The oldest Python python_worker.py runs on (it uses the walrus operator and nothing newer).
MIN_VERSION = (3, 8)
# Also valid Python 2, so an old interpreter answers with its version instead of a syntax error.
_PROBE = "import sys; print('%d.%d.%d' % sys.version_info[:3])"
_PROBE_TIMEOUT = 10.0
_OWN = "the tool's own"
_ENVIRONMENTS = (("VIRTUAL_ENV", "the active virtualenv"), ("CONDA_PREFIX", "the active conda environment"))

Probe = Callable[[str], str]


@dataclass(frozen=True)
class Candidate:
    """A Python that might run the cells, and where it was found ("the active virtualenv")."""

    path: str | None  # None: the place it was looked for holds none
    source: str
    wanted: str = ""  # what was asked for, when `path` is None: the setting's value


@dataclass(frozen=True)
class PythonChoice:
    """The Python that runs the cells, where it came from, and why the person's was passed over ("" if it was not)."""

    runtime: Runtime
    source: str
    refused: str = ""

    def banner(self) -> str:
        """One line naming it: `python 3.12.1: /home/ada/proj/.venv/bin/python (the active virtualenv)`."""
        why = f", because {self.refused}" if self.refused else ""
        return f"python {self.runtime.version}: {self.runtime.path} ({self.source}{why})"


def choose_python(
    setting: str | None,
    environ: Mapping[str, str],
    *,
    own: str = sys.executable,
    probe: Probe | None = None,
) -> PythonChoice:
    """The Python for cells: the setting's, else the environment's, else `own`; each checked by running it."""
    found = candidate(setting, environ)
    own_version = ".".join(map(str, sys.version_info[:3]))
    if found.path is None and not found.wanted:
        return PythonChoice(Runtime(own, own_version), _OWN)
    try:
        version = _checked(found, own, own_version, probe or run_probe)
    except UnusablePython as exc:
        return PythonChoice(Runtime(own, own_version), _OWN, refused=str(exc))
    return PythonChoice(Runtime(found.path or own, version), found.source)


def candidate(setting: str | None, environ: Mapping[str, str]) -> Candidate:
    """The first Python a shell would pick, by the order above; Candidate(None, ...) when none is found."""
    search = environ.get("PATH")
    if setting:
        return Candidate(shutil.which(setting, path=search), "the python setting", wanted=setting)
    for variable, source in _ENVIRONMENTS:
        if environ.get(variable):
            found = _in_environment(Path(environ[variable]))
            if found is not None:
                return Candidate(found, f"{source}, {variable}")
    for name in ("python3", "python"):
        found = shutil.which(name, path=search)
        if found is not None:
            return Candidate(found, f"{name} on PATH")
    return Candidate(None, _OWN)


def run_probe(path: str) -> str:
    """The version `path` reports when run ("3.12.1"); UnusablePython saying why it cannot tell."""
    try:
        done = subprocess.run(
            [path, "-E", "-S", "-c", _PROBE],
            capture_output=True,
            text=True,
            errors="replace",
            stdin=subprocess.DEVNULL,
            timeout=_PROBE_TIMEOUT,
            check=False,
        )
    except subprocess.TimeoutExpired as exc:
        raise UnusablePython(f"{path} did not answer within {_PROBE_TIMEOUT:g} s") from exc
    except OSError as exc:
        raise UnusablePython(f"{path} cannot be run: {exc.strerror or exc}") from exc
    if done.returncode != 0:
        said = (done.stderr.strip().splitlines() or [""])[-1][:200]
        raise UnusablePython(f"{path} failed with exit status {done.returncode}" + (f": {said}" if said else ""))
    return done.stdout.strip()


def _checked(found: Candidate, own: str, own_version: str, probe: Probe) -> str:
    """The version of `found`, which must be a Python new enough; UnusablePython saying why it is not."""
    if found.path is None:
        raise UnusablePython(f"python = {found.wanted!r} (the python setting) was not found")
    if _same_environment(found.path, own):
        return own_version  # no need to start it: it is this very environment
    version = probe(found.path)
    numbers = _numbers(version)
    if numbers is None:
        raise UnusablePython(f"{found.path} did not report a Python version (it said {version[:80]!r})")
    if numbers < MIN_VERSION:
        oldest = ".".join(map(str, MIN_VERSION))
        raise UnusablePython(f"{found.path} ({found.source}) is Python {version} and cells need {oldest} or newer")
    return version


def _in_environment(prefix: Path) -> str | None:
    """The python of the environment at `prefix` (bin/ on POSIX, Scripts/ on Windows), if it has one."""
    for relative in ("bin/python", "bin/python3", "Scripts/python.exe"):
        path = prefix / relative
        if os.access(path, os.X_OK):
            return str(path)
    return None


def _same_environment(path: str, own: str) -> bool:
    """Whether `path` is `own`, in the same bin directory (a virtualenv's python links to its base Python, which
    is the same file but does not see the virtualenv: the directory it is started from decides)."""
    try:
        return Path(path).parent.resolve() == Path(own).parent.resolve() and os.path.samefile(path, own)
    except OSError:
        return False


def _numbers(version: str) -> tuple[int, ...] | None:
    """(3, 12, 1) from "3.12.1"; None when `version` is not of that form."""
    parts = version.split(".")
    if len(parts) != 3 or not all(part.isdigit() for part in parts):
        return None
    return tuple(int(part) for part in parts)
