"""Whether a file is the person's: no one but them (or root) can have written it, or can replace it.

The settings file says where the key is sent and which program runs cells: obeying one that another user could write
hands them both. So, as OpenSSH checks `~/.ssh/config` and `authorized_keys` (`safe_path` in its misc.c), the file
must belong to the person or root and be writable by neither group nor others; and so must each folder above it, from
its own up to the person's home directory (or the root): whoever can write a folder can put another file in its
place. One difference from OpenSSH: a folder others can write is fine when it is sticky (`/tmp`), for there only
a file's owner can rename or remove it. Another: inside a user namespace (`unshare --user`, a rootless container)
the machine's root is not mapped and owns `/` and `/tmp` as the overflow uid (`nobody`); that owner is taken as root.
"""

from __future__ import annotations

import os
import pwd
import stat
from pathlib import Path

from interpreter.errors import ConfigError

_WRITABLE_BY_OTHERS = stat.S_IWGRP | stat.S_IWOTH
ROOT = 0
_IDENTITY_MAP = ["0", "0", "4294967295"]  # /proc/self/uid_map outside any user namespace


def check_owned(path: Path, real: Path) -> os.stat_result:
    """The status of `real` (the settings file `path`, symlinks resolved), once it and its folders are the person's;
    else ConfigError naming `path` and the fix."""
    trusted = {os.getuid(), ROOT, *_unmapped_root()}
    try:
        status = os.stat(real, follow_symlinks=False)
        _check_file(path, status, trusted)
        for folder in _folders(real, _home(os.getuid())):
            _check_folder(path, folder, os.stat(folder), trusted)
    except OSError as exc:  # gone, or a folder that cannot be looked at, since it was read
        raise ConfigError(f"cannot check the settings file {path}: {exc.strerror}") from exc
    return status


def _check_file(path: Path, status: os.stat_result, trusted: set[int]) -> None:
    """ConfigError when the settings file `path` belongs to another user, or others can write it."""
    if status.st_uid not in trusted:
        owner = _user(status.st_uid)
        raise ConfigError(f"the settings file {path} belongs to {owner}, not you: move it away and write your own")
    if status.st_mode & _WRITABLE_BY_OTHERS:
        raise ConfigError(
            f"the settings file {path} can be changed by other users (mode {_mode(status)}): chmod go-w {path}"
        )


def _check_folder(path: Path, folder: Path, status: os.stat_result, trusted: set[int]) -> None:
    """ConfigError when `folder`, above the settings file `path`, belongs to another user or others can write it."""
    if status.st_uid not in trusted:
        raise ConfigError(
            f"the settings file {path} is in {folder}, which belongs to {_user(status.st_uid)}: "
            "set INTERPRETER_HOME to a folder of your own"
        )
    if status.st_mode & _WRITABLE_BY_OTHERS and not status.st_mode & stat.S_ISVTX:
        raise ConfigError(
            f"the settings file {path} is in {folder}, which other users can change (mode {_mode(status)}): "
            f"chmod go-w {folder}"
        )


def _folders(real: Path, home: Path | None) -> list[Path]:
    """The folders above `real`, nearest first, up to `home` (the person's home directory) or the root."""
    folders = []
    for folder in real.parents:
        folders.append(folder)
        if folder == home:
            break
    return folders


def _unmapped_root() -> tuple[int, ...]:
    """Inside a user namespace, the overflow uid the machine's unmapped root owns files as; else nothing."""
    try:
        mapping = Path("/proc/self/uid_map").read_text().split()
        overflow = int(Path("/proc/sys/kernel/overflowuid").read_text())
    except (OSError, ValueError):  # not Linux, or no /proc
        return ()
    return () if mapping == _IDENTITY_MAP else (overflow,)


def _home(uid: int) -> Path | None:
    """The home directory of user `uid` as the system records it (as OpenSSH takes it); None when it has none."""
    try:
        return Path(os.path.realpath(pwd.getpwuid(uid).pw_dir))
    except KeyError:  # a uid with no entry in the user database (some containers)
        return None


def _user(uid: int) -> str:
    """A user as a person names them: `ada (uid 1001)`, or `uid 1001` when the system knows no name for it."""
    try:
        return f"user {pwd.getpwuid(uid).pw_name} (uid {uid})"
    except KeyError:
        return f"uid {uid}"


def _mode(status: os.stat_result) -> str:
    """The permission bits as `chmod` takes them: 0666, 1777."""
    return f"{stat.S_IMODE(status.st_mode):04o}"
