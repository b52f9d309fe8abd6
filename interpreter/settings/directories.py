"""The two directories a session depends on: the home it keeps its files in, and the working directory code runs in.

OSError from either is translated here: a home that cannot be written is HomeNotWritable (the session goes on
without keeping anything), a working directory that is gone is a ConfigError (the person must cd elsewhere).
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

from interpreter.errors import ConfigError, HomeNotWritable

CONVERSATIONS = "conversations"
PRIVATE_FOLDER = 0o700
PRIVATE_FILE = 0o600


def writable_home(home: Path) -> Path:
    """`home`, created private with its conversations folder, once a file can be written there; else HomeNotWritable."""
    folder = home / CONVERSATIONS
    try:
        home.mkdir(parents=True, exist_ok=True, mode=PRIVATE_FOLDER)
        folder.mkdir(exist_ok=True, mode=PRIVATE_FOLDER)
        with tempfile.TemporaryFile(dir=folder):
            pass
    except OSError as exc:
        raise HomeNotWritable(
            f"cannot write to {exc.filename or home} ({reason(exc)}): this session is not saved"
        ) from exc
    return home


def private_folder(folder: Path) -> Path:
    """`folder` (and its parents) created, and readable only by its owner; OSError when that fails."""
    folder.mkdir(parents=True, exist_ok=True, mode=PRIVATE_FOLDER)
    folder.chmod(PRIVATE_FOLDER)  # one made by an older version, or by hand, may be open to others
    return folder


def private_file(path: Path) -> int:
    """`path` opened for appending, created 0600 (an existing file is tightened to that); OSError when it fails."""
    fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_APPEND, PRIVATE_FILE)
    try:
        os.fchmod(fd, PRIVATE_FILE)
    except OSError:
        os.close(fd)
        raise
    return fd


def working_directory() -> Path:
    """The directory the session and its code work in; ConfigError when it was deleted (or cannot be read)."""
    try:
        return Path.cwd()
    except FileNotFoundError as exc:
        raise ConfigError("the working directory no longer exists: cd to one that does, then run again") from exc
    except OSError as exc:
        raise ConfigError(f"cannot use the working directory ({reason(exc)}): cd to another one") from exc


def reason(error: OSError) -> str:
    """What an OSError says went wrong, as a person reads it (`read-only file system`), without the path."""
    if isinstance(error, FileExistsError):  # mkdir(exist_ok=True) raises it only when a file is in the way
        return "not a directory"
    return (error.strerror or type(error).__name__).lower()
