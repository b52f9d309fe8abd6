"""The system viewer: the program that opens a file as a double-click would (`xdg-open`, macOS's `open`)."""

from __future__ import annotations

import shutil
import subprocess
import sys
import threading
from pathlib import Path

from interpreter.errors import CommandError


def viewer_program(platform: str = sys.platform) -> str:
    """The name of the program that opens files on `platform`."""
    return "open" if platform == "darwin" else "xdg-open"


def open_file(path: Path, program: str | None = None) -> str:
    """Start the viewer on `path`, without waiting for it; the viewer's path. CommandError when there is none."""
    name = program or viewer_program()
    found = shutil.which(name)
    if found is None:
        raise CommandError(f"cannot open {path}: {name} is not installed (open the file yourself)")
    try:
        # A session of its own and no terminal: a viewer must not read the prompt's keys or die with our Ctrl-C.
        process = subprocess.Popen(
            [found, str(path)],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
        )
    except OSError as exc:
        raise CommandError(f"cannot open {path}: {name} could not be started ({exc.strerror or exc})") from exc
    threading.Thread(target=process.wait, name="viewer", daemon=True).start()  # reaped when it exits, not waited for
    return found
