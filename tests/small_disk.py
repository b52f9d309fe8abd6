"""A real small disk for tests of a home that fills up: a tmpfs of a few hundred KiB, mounted by root, and filling it.

Linux tmpfs counts whole 4 KiB pages, so a file that already holds a page can grow within it on a full disk, and a
write that needs a new page fails with ENOSPC, as it does on a full ext4 or XFS.
"""

from __future__ import annotations

import contextlib
import os
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

PAGE = 4096
FILLER = "filler"
# The code of a cell that fills the folder it names, then says so (its own output, not the tool's line), with more
# than a page after it: a save appended to the conversation's file within the page it already holds would succeed.
FILL_CELL = """\
import os
try:
    with open(os.path.join({folder!r}, "filler"), "wb", buffering=0) as file:
        while True:
            file.write(b"x" * 4096)
except OSError as error:
    print("filled:", error.strerror)
    print("." * 5000)
"""


@contextlib.contextmanager
def tmpfs(folder: Path, size: str = "256k") -> Iterator[Path]:
    """`folder` (made if need be) as a tmpfs of `size`, private to its owner; skips the test when it cannot be."""
    if os.geteuid() != 0:
        pytest.skip("mounting a small tmpfs needs root")
    folder.mkdir(parents=True, exist_ok=True)
    mounted = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", f"size={size},mode=0700", "tmpfs", str(folder)],
        capture_output=True,
        text=True,
        check=False,
    )
    if mounted.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {mounted.stderr.strip()}")
    try:
        yield folder
    finally:
        subprocess.run(["umount", "--lazy", str(folder)], check=False)


def fill(folder: Path) -> int:
    """Fill the file system `folder` is on with a file named FILLER, page by page, until ENOSPC: the bytes written."""
    written = 0
    with contextlib.suppress(OSError), (folder / FILLER).open("wb", buffering=0) as file:
        while True:
            written += file.write(b"x" * PAGE)
    return written
