"""The doctor's line about what the model is told besides the task: the person's standing instructions and the
AGENTS.md files from the repository root down to here."""

from __future__ import annotations

from pathlib import Path

from interpreter.doctor.check import Check, Status
from interpreter.errors import ConfigError
from interpreter.model.instructions import gather
from interpreter.settings.config import Settings

INSTRUCTIONS = "instructions"


def instructions_check(settings: Settings, cwd: Path) -> Check:
    """What a session in `cwd` would tell the model; a failure for an instructions_file that cannot be read (the
    session would not start) or an AGENTS.md that is skipped (the model would not be told it)."""
    try:
        told = gather(settings, cwd)
    except ConfigError as exc:
        return Check(INSTRUCTIONS, Status.FAILED, str(exc))
    found = [piece.heading() for piece in told.personal]
    project = told.project
    if project is None:
        found.append("AGENTS.md not read (project_instructions = false)")
    elif project.files:
        found.append(project.line().removeprefix("instructions: "))
    else:
        found.append(f"no AGENTS.md from {project.root} down to here")
    if project is not None and project.skipped:
        fix = "make each a UTF-8 text file inside the repository, or remove it"
        return Check(INSTRUCTIONS, Status.FAILED, "; ".join([*found, *project.skipped]), fix)
    return Check(INSTRUCTIONS, Status.OK, "; ".join(found))
