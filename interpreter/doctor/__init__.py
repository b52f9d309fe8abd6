"""`interpreter doctor`: a few seconds of checks, each failure with its fix in one line.

The endpoint answers, which API requests go on (Chat Completions or Responses, and why), the key is accepted, the
model exists, tool calling works on that API, the model's context window and where it comes from, the rate-limit
headroom the server reports (`api`, `headroom`); the store of the shared rate-limit budget answers, which languages
can run here, which Python runs python cells, which sandbox cells get (if any), and whether the home directory is
writable (`machine`); what the model is told besides the task (`instructions`). `check` is one line of the report,
`probe` the plain HTTP requests doctor sends; the model's window and prices come from the model catalogue, which
server answers from `model.identity`.

May import every package below the session (`errors`, `messages`, `trust`, `settings`, `execution`, `resilience`,
`model`, `ui`); nothing imports it but the command line (and `ui.checklist`, its `check` value).
"""

from __future__ import annotations

import sys
from typing import TextIO

from interpreter.doctor import probe
from interpreter.doctor.api import api_checks, ask, identify_server, window_check
from interpreter.doctor.check import Status
from interpreter.doctor.instructions import instructions_check
from interpreter.doctor.machine import home_check, languages_check, python_check, sandbox_check, store_check
from interpreter.execution import sandbox
from interpreter.model.catalogue import for_settings
from interpreter.model.identity import retry_warning
from interpreter.settings.config import Settings
from interpreter.settings.directories import working_directory
from interpreter.ui.checklist import print_checklist


def run(
    settings: Settings,
    *,
    out: TextIO | None = None,
    terminal: bool | None = None,
    read_timeout: float = probe.READ_TIMEOUT,
) -> int:
    """Run every check and print the report on `out` (stdout), after the warnings if any; 0 if all pass."""
    out = sys.stdout if out is None else out
    if settings.key_warning:  # a warning, not a failed check: OPENAI_API_KEY with --api-base is a common setup
        print(f"warning: {settings.key_warning}\n", file=out)
    with probe.client(read_timeout) as http:
        answers = ask(settings, http)
        identity = identify_server(settings, answers, http)
    if warning := retry_warning(identity):  # a proxy's habit, not a fault: the setup works, but waits stack up
        print(f"warning: {warning}\n", file=out)
    checks = [*api_checks(settings, answers, identity), window_check(settings.model, for_settings(settings))]
    checks += [store_check(settings), languages_check()]
    checks += [python_check(settings.python), sandbox_check(sandbox.probe(), wanted=settings.sandbox)]
    checks += [home_check(settings.home), instructions_check(settings, working_directory())]
    print_checklist(checks, out, terminal=terminal)
    return 1 if any(check.status is Status.FAILED for check in checks) else 0
