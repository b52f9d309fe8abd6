"""Everything the model is told besides the conversation: the tool's system message, the person's standing
instructions (the `instructions_file`, then `instructions`), and the project's AGENTS.md files, in that order.

Joined into the one system message of each request and never saved with the conversation: a resumed conversation
is told the files as they are when it resumes.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Final

from interpreter.errors import ConfigError, FileRefused
from interpreter.model.project_instructions import ProjectInstructions, find
from interpreter.settings.config import Settings
from interpreter.trust.regular_files import read_regular, size_text

PERSONAL_CAP: Final = 1 << 20  # bytes of an instructions_file read at most
PERSONAL_HEADING: Final = "The user's standing instructions (theirs, for every task):"


@dataclass(frozen=True)
class Piece:
    """One piece of standing text, as `%instructions` names it, and its text as told."""

    title: str
    text: str

    @property
    def size(self) -> int:
        """Bytes of its text, as told."""
        return len(self.text.encode("utf-8"))

    def heading(self) -> str:
        """`the tool's own (1.2 kB)`."""
        return f"{self.title} ({size_text(self.size)})"


@dataclass(frozen=True)
class Told:
    """The standing text of a session: the tool's own message, the person's pieces and the project's files."""

    tool: str = ""  # the tool's own system message (`system_prompt`), known once the languages are
    personal: tuple[Piece, ...] = ()
    project: ProjectInstructions | None = None  # None: not read (project_instructions = false)

    def system(self) -> str:
        """The system message: the tool's own, then the person's instructions, then the project's."""
        parts = [self.tool]
        if self.personal:
            parts.append("\n\n".join([PERSONAL_HEADING, *(piece.text.strip() for piece in self.personal)]))
        if self.project is not None and (project := self.project.text()):
            parts.append(project)
        return "\n\n".join(parts)

    def pieces(self) -> list[Piece]:
        """Every piece of standing text the model receives, in the order it is told, each with its title."""
        project = self.project.told if self.project is not None else ()
        return [Piece("the tool's own", self.tool), *self.personal, *(Piece(f.name, f.text) for f in project)]


def gather(settings: Settings, cwd: Path) -> Told:
    """What a session in `cwd` tells the model with `settings` besides the tool's own message (set once the languages
    are known); ConfigError when the `instructions_file` cannot be read."""
    project = find(cwd) if settings.project_instructions else None
    return Told(personal=personal(settings), project=project)


def personal(settings: Settings) -> tuple[Piece, ...]:
    """The person's standing instructions: the `instructions_file`'s text, then `instructions` (a flag's or the
    settings')."""
    pieces = []
    if settings.instructions_file:
        path = instructions_path(settings)
        pieces.append(Piece(f"your instructions file {path}", _read(path)))
    if settings.instructions.strip():
        pieces.append(Piece("your instructions", settings.instructions))
    return tuple(pieces)


def instructions_path(settings: Settings) -> Path:
    """Where the `instructions_file` is: `~` expanded, a relative path taken from the settings file's folder."""
    return settings.home / Path(settings.instructions_file or "").expanduser()


def _read(path: Path) -> str:
    """The text of the person's instructions file; ConfigError saying what to do when it cannot be told."""
    fix = "fix instructions_file in the settings file, or remove it"
    try:
        data = read_regular(path, limit=PERSONAL_CAP)
    except FileRefused as exc:
        raise ConfigError(f"instructions_file: {exc}; {fix}") from exc
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise ConfigError(f"instructions_file: {path} is not UTF-8 text; save it as UTF-8, or {fix}") from exc


def listing(settings: Settings, cwd: Path) -> list[str]:
    """What `interpreter config` says of the AGENTS.md files a session in `cwd` would tell the model."""
    if not settings.project_instructions:
        return ["AGENTS.md files: not read (project_instructions = false)"]
    project = find(cwd)
    if not project.files:
        return [f"AGENTS.md files: none from {project.root} down to here", *project.skipped]
    width = max(len(file.name) for file in project.files)
    files = [f"  {file.name:<{width}}  {file.sizes}" for file in project.files]
    return [f"AGENTS.md files, from {project.root} down to here:", *files, *project.skipped]
