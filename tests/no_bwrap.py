"""A PATH like a given one but without bwrap, as on a machine where bubblewrap is not installed.

Each folder of the PATH that holds a `bwrap` is stood in for by a folder of links to everything else in it.
"""

from __future__ import annotations

import os
from pathlib import Path

PROGRAM = "bwrap"


def path_without_bwrap(path: str, folder: Path) -> str:
    """`path` with each folder holding bwrap replaced by a copy, made beneath `folder`, of links to all but it."""
    folders = []
    for index, entry in enumerate(path.split(os.pathsep)):
        if not (Path(entry) / PROGRAM).exists():
            folders.append(entry)
            continue
        shadow = folder / f"no-bwrap-{index}"
        shadow.mkdir(parents=True, exist_ok=True)
        for name in os.listdir(entry):
            if name != PROGRAM and not (shadow / name).is_symlink():
                (shadow / name).symlink_to(Path(entry) / name)
        folders.append(str(shadow))
    return os.pathsep.join(folders)
