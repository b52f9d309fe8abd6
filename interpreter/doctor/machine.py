"""The doctor's checks of this machine: the shared budget's store, the languages, the Python of python cells, the
sandbox (bubblewrap, else Landlock), and the home directory."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Mapping, Sequence
from pathlib import Path

from interpreter.doctor.check import Check, Status
from interpreter.errors import BudgetStoreUnavailable, ConfigError
from interpreter.execution import sandbox
from interpreter.execution.interpreters import choose_python
from interpreter.execution.languages import LANGUAGES, Language
from interpreter.resilience.shared.store import budget_key, open_store
from interpreter.settings.config import Settings, ensure_home
from interpreter.ui.words import counted

STORE, LANGUAGES_CHECK, PYTHON_CHECK = "shared budget", "languages", "python"
SANDBOX, HOME = "sandbox", "home directory"


def store_check(settings: Settings) -> Check:
    """The store of the shared rate-limit budget answers: one step on the budget this setup's sessions would share."""
    store = open_store(settings.rate_limit_store, settings.home)
    if store is None:
        return Check(STORE, Status.OK, "off: each session limits itself alone")
    key = budget_key(settings.api_base, settings.api_key, settings.model)
    try:
        view = store.view(key, "doctor")
    except BudgetStoreUnavailable as exc:
        fix = "start the store or fix rate_limit_store; until then each session limits itself alone"
        return Check(STORE, Status.FAILED, str(exc), fix)
    finally:
        store.close()
    return Check(STORE, Status.OK, f"{store.where} answered; {counted(view.others, 'session')} used it lately")


def languages_check(table: Sequence[Language] = LANGUAGES) -> Check:
    """Which languages of the table can run here (their programs are installed); no process is started."""
    found = {language.name: language.executable() is not None for language in table}
    usable = [name for name, ok in found.items() if ok]
    missing = [f"{language.name} ({language.program})" for language in table if not found[language.name]]
    detail = ", ".join(usable) or "none"
    if missing:
        detail += f"; not installed: {', '.join(missing)}"
    if not usable:
        return Check(LANGUAGES_CHECK, Status.FAILED, detail, "install python3 or bash")
    return Check(LANGUAGES_CHECK, Status.OK, detail)


def sandbox_check(found: sandbox.Availability, *, wanted: bool) -> Check:
    """Which sandbox cells get here, and what Landlock, standing in for bubblewrap, does not cover; a failure only
    when the settings ask for a sandbox and there is none."""
    if found.available:
        use = "on" if wanted else "off; --sandbox turns it on"
        if found.bwrap:
            return Check(SANDBOX, Status.OK, f"available: {found.name()} ({use})")
        gaps = f"{found.without_bwrap}, so cells can still {sandbox.FALLBACK_GAPS}"
        return Check(SANDBOX, Status.OK, f"available: {found.name()} ({use}); {gaps}")
    if wanted:
        return Check(SANDBOX, Status.FAILED, f"not available: {found.problem}", sandbox.FIX)
    return Check(SANDBOX, Status.SKIPPED, f"not available: {found.problem} (only --sandbox needs it)")


def python_check(setting: str | None, environ: Mapping[str, str] | None = None) -> Check:
    """The Python python cells run on, and its version (it is started once to ask); failed when the person's is
    passed over for the tool's own."""
    choice = choose_python(setting, os.environ if environ is None else environ)
    if choice.refused:
        fix = "set python in the settings file to a Python 3.8 or newer, or activate an environment that has one"
        return Check(PYTHON_CHECK, Status.FAILED, choice.banner(), fix)
    return Check(PYTHON_CHECK, Status.OK, choice.banner())


def home_check(home: Path) -> Check:
    """The home directory exists (or can be made) and takes a new file."""
    fix = "fix its permissions, or set INTERPRETER_HOME to a writable directory"
    try:
        ensure_home(home)
        with tempfile.TemporaryFile(dir=home):
            pass
    except ConfigError as exc:
        return Check(HOME, Status.FAILED, str(exc), fix)
    except OSError as exc:
        return Check(HOME, Status.FAILED, f"{home} is not writable: {exc.strerror}", fix)
    return Check(HOME, Status.OK, f"{home} is writable")
