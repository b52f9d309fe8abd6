"""A project's standing instructions: every AGENTS.md from the repository root down to the working directory.

As Codex reads them (openai/codex, docs/agents_md.md): the repository root is the nearest folder at or above the
working directory holding `.git` (a folder; a file in a worktree or a submodule), else the working directory alone,
and nothing above the root is read. Outer files come first, so the closer ones, told later, win where they disagree.
At most PROJECT_CAP bytes in all: the innermost are kept first, so an outer one is cut (its start kept) or left out,
with a note. A file that is not a regular file (a FIFO, a directory), cannot be read, is not UTF-8, or is a link
to a file outside the repository (a cloned repository must not send the person's own files to the server) is
skipped, with one line saying why.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Final

from interpreter.errors import FileRefused
from interpreter.trust.regular_files import read_regular, size_text

NAME: Final = "AGENTS.md"
PROJECT_CAP: Final = 32 * 1024  # bytes of AGENTS.md text told in all, as Codex's project_doc_max_bytes
CAP_SHOWN: Final = "32 KiB"
READ_CAP: Final = 1 << 20  # a bigger file is refused, not read to be cut


@dataclass(frozen=True)
class InstructionFile:
    """One AGENTS.md as told: its path from the repository root, its text (whole, or its start when cut), its size."""

    name: str  # "AGENTS.md", "app/AGENTS.md"
    text: str
    size: int  # bytes of the file
    sent: int  # bytes of it told (less than `size` when cut; 0 when left out)

    @property
    def label(self) -> str:
        """`app/AGENTS.md (2.1 kB)`, and what the cap did to it."""
        return f"{self.name} ({self.sizes})"

    @property
    def sizes(self) -> str:
        """`2.1 kB`; `40.0 kB, cut to 32.8 kB` or `5.0 kB, left out` when the cap cut it."""
        if self.sent == self.size:
            return size_text(self.size)
        return f"{size_text(self.size)}, " + (f"cut to {size_text(self.sent)}" if self.sent else "left out")


@dataclass(frozen=True)
class ProjectInstructions:
    """The AGENTS.md files found from `root` down to the working directory, outermost first, and those skipped."""

    root: Path
    files: tuple[InstructionFile, ...] = ()
    skipped: tuple[str, ...] = ()  # one line for each file that could not be told, saying why

    @property
    def told(self) -> tuple[InstructionFile, ...]:
        """The files whose text is told (all of them unless the cap left some out)."""
        return tuple(file for file in self.files if file.sent)

    @property
    def cut(self) -> bool:
        """Whether the cap cut or left out any file."""
        return any(file.sent < file.size for file in self.files)

    def line(self) -> str:
        """`instructions: AGENTS.md (2.1 kB), app/AGENTS.md (400 B)`; "" when none was found."""
        if not self.files:
            return ""
        note = f" (over {CAP_SHOWN} in all: the innermost kept)" if self.cut else ""
        return "instructions: " + ", ".join(file.label for file in self.files) + note

    def text(self) -> str:
        """The section of the system message that tells them; "" when there is none."""
        if not self.told:
            return ""
        head = (
            f"The project's instructions: the AGENTS.md files from the repository root ({self.root}) down to the "
            "working directory, outermost first; where they disagree, the later (closer) one wins."
        )
        # Each in tags: its own Markdown headings must not read as the end of one file and the start of another.
        parts = [head, *(f'<file path="{file.name}">\n{file.text.strip()}\n</file>' for file in self.told)]
        if self.cut:
            parts.append(f"[Cut to {CAP_SHOWN} in all, the innermost kept: {self._cuts()}.]")
        return "\n\n".join(parts)

    def _cuts(self) -> str:
        return "; ".join(file.label for file in self.files if file.sent < file.size)


def repository_root(cwd: Path) -> Path:
    """The nearest folder at or above `cwd` holding `.git` (a folder or a file); `cwd` itself when none does."""
    for folder in (cwd, *cwd.parents):
        if os.path.lexists(folder / ".git"):
            return folder
    return cwd


def find(cwd: Path) -> ProjectInstructions:
    """The AGENTS.md files from the repository root of `cwd` down to `cwd`, read and cut to PROJECT_CAP."""
    root = repository_root(cwd)
    found: list[tuple[str, str]] = []
    skipped: list[str] = []
    for name, path in _candidates(root, cwd):
        try:
            found += [(name, _read(path, root))] if os.path.lexists(path) else []
        except FileRefused as exc:
            skipped.append(f"{name} skipped: {exc}")
    return ProjectInstructions(root, _capped(found), tuple(skipped))


def _candidates(root: Path, cwd: Path) -> Iterator[tuple[str, Path]]:
    """(name from the root, path) of where an AGENTS.md may be, from `root` down to `cwd`."""
    folder = root
    yield NAME, folder / NAME
    for part in cwd.relative_to(root).parts:
        folder = folder / part
        yield str((folder / NAME).relative_to(root)), folder / NAME


def _read(path: Path, root: Path) -> str:
    """The text of one AGENTS.md; FileRefused when it is not a regular file inside the repository holding UTF-8."""
    real = path.resolve()
    if not real.is_relative_to(root.resolve()):
        raise FileRefused(f"it is a link to {real}, outside the repository")
    data = read_regular(real, limit=READ_CAP, follow=False)
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise FileRefused(f"it is not UTF-8 text (byte {exc.start} is not): save it as UTF-8") from exc


def _capped(found: list[tuple[str, str]]) -> tuple[InstructionFile, ...]:
    """The files with their text cut to PROJECT_CAP in all: the innermost kept whole first."""
    room = PROJECT_CAP
    capped: list[InstructionFile] = []
    for name, text in reversed(found):
        data = text.encode("utf-8")
        kept = data[:room].decode("utf-8", errors="ignore")  # not half a character at the cut
        sent = len(kept.encode("utf-8"))
        capped.append(InstructionFile(name, kept, len(data), sent))
        room -= sent
    return tuple(reversed(capped))
