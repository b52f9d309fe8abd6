"""`interpreter config import-oi`: Open Interpreter's profiles written as profiles of the settings file, each said."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path

from interpreter.cli.failures import EXIT_USAGE, fail
from interpreter.errors import ConfigError
from interpreter.open_interpreter import profiles
from interpreter.open_interpreter.profiles import Imported
from interpreter.settings import config, settings_file
from interpreter.ui.untrusted import visible


def import_profiles(files: Sequence[Path], *, force: bool) -> int:
    """Import `files` (none: every YAML profile in Open Interpreter's folder) and say what became of each; exit 2
    when any was refused, after writing the others."""
    target = config.home_dir() / config.CONFIG_FILE
    existing = settings_file.read_file(target).profiles
    keys_allowed = settings_file.may_hold_key(target)
    chosen: dict[str, tuple[Path, Imported]] = {}
    refused = 0
    for path in files or profiles.folder_profiles(profiles.profiles_folder()):
        try:
            imported = _importable(path, existing, chosen, force=force, keys_allowed=keys_allowed)
        except ConfigError as exc:
            refused += 1
            fail(exc, EXIT_USAGE)
            continue
        chosen[imported.name] = (path, imported)
    if chosen:
        settings_file.write_profiles(target, {name: imported.values for name, (_, imported) in chosen.items()})
        for path, imported in chosen.values():
            print(_report(path, imported, replaced=imported.name in existing))
        print(f"written to {target}")
        settings_file.read_file(target)  # a new file in a folder others can change is refused: say so now, not later
    return EXIT_USAGE if refused else 0


def _importable(
    path: Path, existing: Mapping[str, object], chosen: Mapping[str, object], *, force: bool, keys_allowed: bool
) -> Imported:
    """The profile in `path`, once it may be written: ConfigError when it is already there (without `force`)."""
    imported = profiles.read_profile(path, keys_allowed=keys_allowed)
    name = visible(imported.name)
    if imported.name in chosen:
        raise ConfigError(f"{path}: another file of this import is profile {name!r} already")
    if imported.name in existing and not force:
        raise ConfigError(f"{path}: the settings file has a profile {name!r} already: --force replaces it")
    return imported


def _report(path: Path, imported: Imported, *, replaced: bool) -> str:
    """What became of one profile: where it went, each key mapped, each left out and why."""
    mapped = ", ".join(f"{theirs} as {ours}" for theirs, ours in imported.mapped) or "nothing"
    lines = [f"{path.name} -> [profiles.{imported.name}]" + (" (replaced)" if replaced else ""), f"  mapped: {mapped}"]
    if imported.left_out:
        lines.append("  left out: " + "; ".join(f"{theirs} ({why})" for theirs, why in imported.left_out))
    return visible("\n".join(lines))
