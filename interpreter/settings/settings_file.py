"""The settings file: TOML with a closed set of typed keys, and named profiles holding the same keys. Never run.

Read whole; written only to add or replace `[profiles.NAME]` tables (`interpreter config import-oi`): the text of the
rest, comments included, stays as it was, and the result is parsed again and compared before it replaces the file.

Both may hold `[models."NAME"]` tables (`[profiles.local.models."NAME"]` in a profile) with what the person knows of a
model: its context window and its prices in USD per million tokens, for private and local models.

It names the endpoint the key goes to and the program cells run on, so it is read only as a regular file of
bounded size, and obeyed only when no one but the person (or root) could have written it.
"""

from __future__ import annotations

import math
import os
import re
import tempfile
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from itertools import pairwise
from pathlib import Path
from typing import Any, cast

from interpreter.errors import ConfigError, FileRefused
from interpreter.trust.ownership import check_owned
from interpreter.trust.regular_files import read_regular

# The settings file (and each of its profiles) may hold exactly these keys, of these types; anything else is an error.
FILE_KEYS: dict[str, type] = {
    "model": str,
    "api_base": str,
    "api_key": str,
    "auto_run": bool,
    "max_steps": int,
    "max_cost": float,
    "tools": bool,
    "max_retries": int,
    "max_wait": float,
    "max_single_wait": float,
    "backoff_base": float,
    "backoff_cap": float,
    "breaker_threshold": int,
    "breaker_open": float,
    "idle_timeout": float,
    "timeout": float,
    "context_window": int,
    "output_cap": int,
    "pass_env": tuple,  # a list of strings in the file
    "rate_limit_store": str,
    "sandbox": bool,
    "fallback_models": tuple,
    "fallback_after": float,
    "python": str,
    "images": bool,
    "api": str,
    "reasoning_effort": str,
    "instructions": str,
    "instructions_file": str,
    "project_instructions": bool,
}
TYPE_NAMES = {
    str: "a string",
    bool: "true or false",
    int: "a whole number",
    float: "a number",
    tuple: 'a list of variable names in quotes, like ["GITHUB_TOKEN"]',
}
# What a `[models."NAME"]` table may hold: a window in tokens, prices in USD per million tokens.
MODEL_KEYS: dict[str, type] = {
    "context_window": int,
    "input_price": float,
    "output_price": float,
    "cached_input_price": float,
}
MODELS = "models"  # the key of the model tables, at the top and in a profile
_LIST_NAMES = {"fallback_models": 'a list of model names in quotes, like ["gpt-4o-mini", "profile:local"]'}
_SHARED_BITS = 0o044  # read permission for the group and for others
MAX_SIZE = 1_000_000  # bytes: a settings file is a few hundred; anything near this is not one
NEW_FILE_MODE = 0o600  # a new settings file may hold a key: the person's alone
_KEPT_BITS = 0o644  # what a rewrite keeps of the file's mode: never a write or execute bit for others
_BARE_KEY = re.compile(r"[A-Za-z0-9_-]+")  # a TOML key that needs no quotes
_HEADER = re.compile(r"^[ \t]*\[(?!\[)(?P<key>[^\]\n]*)\][ \t]*(?:#.*)?$", re.MULTILINE)  # `[a.b]`, not `[[a]]`


@dataclass(frozen=True)
class ModelTable:
    """What the person set for one model: its window and its prices (USD per million tokens), each None if unset."""

    context_window: int | None = None
    input_price: float | None = None
    output_price: float | None = None
    cached_input_price: float | None = None


@dataclass(frozen=True)
class SettingsFile:
    """What a settings file holds: top-level settings, named profiles, and the profile it picks when no flag does."""

    path: Path
    values: dict[str, object] = field(default_factory=dict)
    profiles: dict[str, dict[str, object]] = field(default_factory=dict)
    profile: str | None = None

    @property
    def holds_key(self) -> bool:
        """Whether the file sets api_key, at the top or in a profile."""
        return any("api_key" in table for table in (self.values, *self.profiles.values()))

    def profile_values(self, name: str) -> dict[str, object]:
        """The settings of profile `name`; ConfigError listing the known profiles when there is no such profile."""
        if name not in self.profiles:
            known = ", ".join(self.profiles) or "none"
            raise ConfigError(f"unknown profile {name!r} (profiles in {self.path}: {known})")
        return self.profiles[name]


def read_file(path: Path) -> SettingsFile:
    """The settings file at `path` (empty if it does not exist); ConfigError naming the file and the problem.

    Read as a regular file only, bounded, and obeyed only when it is the person's (see ownership.py).
    """
    return _load(path).found


@dataclass(frozen=True)
class _Loaded:
    """A settings file as read: its text, what it holds, and its mode (None when there is no file yet)."""

    text: str
    found: SettingsFile
    mode: int | None


def _load(path: Path) -> _Loaded:
    """The text, settings and mode of the settings file at `path`; see read_file."""
    real = Path(os.path.realpath(path))  # what is read, and whose folders are checked, is the file itself
    try:
        raw = read_regular(real, limit=MAX_SIZE, follow=False)
    except FileRefused as exc:
        if isinstance(exc.__cause__, FileNotFoundError | NotADirectoryError):  # no file: nothing to obey
            return _Loaded("", SettingsFile(path), None)
        if isinstance(exc.__cause__, PermissionError):  # e.g. the home left at chmod 000
            fix = f"chmod u+rwx {path.parent}; chmod u+r {path}"
            raise ConfigError(f"cannot read the settings file {path}: permission denied ({fix})") from exc
        named = "" if real == path else f" {path}"  # the refusal names the file read: the link's target
        raise ConfigError(f"the settings file{named} is refused: {exc}") from exc
    mode = check_owned(path, real).st_mode
    text = _text(raw, path)
    found = _parsed(text, path)
    if found.holds_key and mode & _SHARED_BITS:
        raise ConfigError(f"the settings file {path} holds an API key that other users can read: chmod 600 {path}")
    return _Loaded(text, found, mode)


def may_hold_key(path: Path) -> bool:
    """Whether a key written into the settings file at `path` would be obeyed: no one else can read it (a new file
    is written for the person alone)."""
    mode = _load(path).mode
    return mode is None or not mode & _SHARED_BITS


def write_profiles(path: Path, profiles: Mapping[str, Mapping[str, object]]) -> None:
    """Write each of `profiles` into the settings file at `path` as a `[profiles.NAME]` table, replacing the table of
    that name if there is one, and leaving the rest of the text as it was; ConfigError when that cannot be done safely.

    The new text must parse to the old settings with these profiles in place, or nothing is written. The file is
    replaced atomically, with its mode (less any bit that lets others write), or as the person's alone when new.
    """
    loaded = _load(path)
    text = _appended(
        _without_profiles(loaded.text, set(profiles)), [_profile_table(*item) for item in profiles.items()]
    )
    old, new = _data(loaded.text, path), _data(text, path)
    tables = cast("dict[str, object]", old.get("profiles", {}))
    kept = {name: table for name, table in tables.items() if name not in profiles}
    expected = {**old, "profiles": {**kept, **{name: dict(values) for name, values in profiles.items()}}}
    if _plain(new) != _plain(expected):
        raise ConfigError(f"cannot write [profiles] into {path} without changing the rest: edit it by hand")
    _parsed(text, path)  # every value checked as when it is read
    mode = NEW_FILE_MODE if loaded.mode is None else loaded.mode & _KEPT_BITS
    _replace(Path(os.path.realpath(path)), text, mode, path)


def _without_profiles(text: str, names: set[str]) -> str:
    """`text` without the tables of the profiles `names` (their `[profiles.NAME.models."M"]` tables too); the
    comments just above the next table stay with it."""
    headers = list(_HEADER.finditer(text))
    bounds = pairwise([*(header.start() for header in headers), len(text)])  # each table's start and end
    kept, start = [], 0
    for header, (_, end) in zip(headers, bounds, strict=True):
        if _key_path(header["key"])[:2] in {("profiles", name) for name in names}:
            kept.append(text[start : header.start()])
            start = end - _notes_at_the_end(text[header.start() : end])
    return "".join(kept) + text[start:]


def _notes_at_the_end(table: str) -> int:
    """How many characters of blank and comment lines end the text of `table`."""
    length = 0
    for line in reversed(table.splitlines(keepends=True)):
        if line.strip() and not line.lstrip().startswith("#"):
            break
        length += len(line)
    return length


def _key_path(key: str) -> tuple[str, ...]:
    """The keys a table header names (`profiles."my box"` is profiles, my box), read by TOML itself."""
    try:
        table: object = tomllib.loads(f"[{key}]")
    except tomllib.TOMLDecodeError:
        return ()
    path: list[str] = []
    while isinstance(table, dict) and len(table) == 1:
        name, table = next(iter(table.items()))
        path.append(name)
    return tuple(path)


def _appended(text: str, tables: list[str]) -> str:
    """`text` with `tables` after it, a blank line before each."""
    ending = "" if not text or text.endswith("\n\n") else "\n" if text.endswith("\n") else "\n\n"
    return text + ending + "\n".join(tables)


def _profile_table(name: str, values: Mapping[str, object]) -> str:
    """A `[profiles.NAME]` table holding `values`."""
    lines = [f"{_toml_key(key)} = {_toml_value(value)}" for key, value in values.items()]
    return "\n".join([f"[profiles.{_toml_key(name)}]", *lines, ""])


def _toml_key(key: str) -> str:
    """`key` as TOML writes it: bare when it can be, else quoted."""
    return key if _BARE_KEY.fullmatch(key) else _toml_string(key)


def _toml_value(value: object) -> str:
    """A setting's value as TOML: a string, true or false, a whole number, a finite number, a list of strings."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float) and math.isfinite(value):
        return repr(value)
    if isinstance(value, str):
        return _toml_string(value)
    if isinstance(value, tuple | list) and all(isinstance(item, str) for item in value):
        return f"[{', '.join(_toml_string(item) for item in value)}]"
    raise ConfigError(f"a setting's value cannot be written to the settings file: {type(value).__name__}")


def _toml_string(text: str) -> str:
    """`text` as a TOML basic string: quotes, backslashes and control characters escaped."""
    escaped = text.replace("\\", "\\\\").replace('"', '\\"')
    return '"' + re.sub(r"[\x00-\x1f\x7f]", lambda match: f"\\u{ord(match[0]):04x}", escaped) + '"'


def _data(text: str, path: Path) -> dict[str, object]:
    """The TOML `text` meant for the settings file `path`, parsed; ConfigError when it does not parse (the file was
    read as TOML already: a profile set some other way than by its table is in the way)."""
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"cannot write [profiles] into {path} ({exc}): edit it by hand") from exc


def _plain(data: object) -> object:
    """`data` with lists and tuples alike, for comparing what was read with what was meant."""
    if isinstance(data, dict):
        return {key: _plain(value) for key, value in data.items()}
    if isinstance(data, list | tuple):
        return [_plain(item) for item in data]
    return data


def _replace(real: Path, text: str, mode: int, path: Path) -> None:
    """Write `text` to a new file beside `real` with `mode`, then put it in `real`'s place in one step."""
    try:
        real.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        handle, temporary = tempfile.mkstemp(dir=real.parent, prefix=f".{real.name}.", suffix=".tmp")
    except OSError as exc:
        raise ConfigError(f"cannot write the settings file {path}: {exc.strerror}") from exc
    try:
        with os.fdopen(handle, "w", encoding="utf-8") as file:
            file.write(text)
            file.flush()
            os.fsync(file.fileno())
        os.chmod(temporary, mode)
        os.replace(temporary, real)
    except OSError as exc:
        Path(temporary).unlink(missing_ok=True)
        raise ConfigError(f"cannot write the settings file {path}: {exc.strerror}") from exc


def _text(raw: bytes, path: Path) -> str:
    """The file's bytes as UTF-8 text; ConfigError naming the file and the first line that is not."""
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = raw.count(b"\n", 0, exc.start) + 1
        raise ConfigError(f"the settings file {path} is not UTF-8 text (line {line}): save it as UTF-8") from exc


def _parsed(text: str, path: Path) -> SettingsFile:
    """The settings, profiles and default profile the TOML `text` of `path` sets, each checked."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"the settings file {path} is not valid TOML: {exc}") from exc
    profile = data.pop("profile", None)
    if profile is not None and not isinstance(profile, str):
        raise ConfigError(f"'profile' in {path} must be the name of a profile, in quotes")
    profiles = _profiles(data.pop("profiles", {}), path)
    return SettingsFile(path, _checked(data, f"in {path}"), profiles, profile)


def _profiles(tables: object, path: Path) -> dict[str, dict[str, object]]:
    """The `[profiles.NAME]` tables, each checked like the top level."""
    if not isinstance(tables, dict):
        raise ConfigError(f"'profiles' in {path} must hold tables like [profiles.local]")
    for name, table in tables.items():
        if not isinstance(table, dict):
            raise ConfigError(f"'profiles.{name}' in {path} must be a table of settings, like [profiles.local]")
    return {name: _checked(table, f"in profile {name!r} of {path}") for name, table in tables.items()}


def _checked(table: dict[str, object], where: str) -> dict[str, object]:
    """`table`, each value checked against its key's type; ConfigError naming the key and where it is."""
    models = table.pop(MODELS, None)
    checked = {name: _typed(name, value, where) for name, value in table.items()}
    return checked if models is None else {**checked, MODELS: _models(models, where)}


def _models(tables: object, where: str) -> dict[str, ModelTable]:
    """The `[models."NAME"]` tables, each checked; ConfigError naming the model, the key and where it is."""
    if not isinstance(tables, dict) or not all(isinstance(table, dict) for table in tables.values()):
        raise ConfigError(f"'models' {where} must hold tables like [models.\"qwen3-coder\"]")
    return {name: _model_table(name, table, where) for name, table in tables.items()}


def _model_table(model: str, table: dict[str, object], where: str) -> ModelTable:
    """One model's table, each value of its key's type and in range."""
    values = {name: _model_value(model, name, value, where) for name, value in table.items()}
    return ModelTable(**cast("dict[str, Any]", values))


def _model_value(model: str, name: str, value: object, where: str) -> int | float:
    """`value` if `name` is a model setting and `value` a window of 1 token or more, or a finite price of 0 or more."""
    kind = MODEL_KEYS.get(name)
    if kind is None:
        raise ConfigError(f"unknown setting {name!r} for model {model!r} {where} (known: {', '.join(MODEL_KEYS)})")
    number = isinstance(value, int | float) and not isinstance(value, bool)
    if kind is int and number and isinstance(value, int) and value >= 1:
        return value
    if kind is float and isinstance(value, int | float) and number and math.isfinite(value) and value >= 0:
        return float(value)
    wanted = "a whole number of tokens, at least 1" if kind is int else "a price in USD per million tokens, 0 or more"
    raise ConfigError(f"setting {name!r} for model {model!r} {where} must be {wanted}, not {value!r}")


def typed(name: str, value: object, where: str) -> object:
    """`value` as the setting `name` holds it (an int is a fine float, a list of strings a tuple); ConfigError when
    `name` is no setting or `value` not of its type (`where` says where it was found)."""
    return _typed(name, value, where)


def _typed(name: str, value: object, where: str) -> object:
    """`value` if `name` is a known setting and `value` has its type (an int is a fine float); else ConfigError."""
    kind = FILE_KEYS.get(name)
    if kind is None:
        raise ConfigError(f"unknown setting {name!r} {where} (known settings: {', '.join(FILE_KEYS)})")
    if kind is float and isinstance(value, int) and not isinstance(value, bool):
        return float(value)
    if kind is tuple and isinstance(value, list) and all(isinstance(item, str) for item in value):
        return tuple(value)
    if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
        shown = "" if name == "api_key" else f", not {value!r}"  # never echo (part of) a key
        raise ConfigError(f"setting {name!r} {where} must be {_LIST_NAMES.get(name, TYPE_NAMES[kind])}{shown}")
    return value
