"""Settings: one closed, typed record, resolved from flags, environment, the settings file and defaults in one place."""

from __future__ import annotations

import os
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, cast

from interpreter.errors import ConfigError, MissingApiKey

DEFAULT_MODEL = "gpt-4o"
DEFAULT_API_BASE = "https://api.openai.com/v1"
DEFAULT_MAX_STEPS = 20
DEFAULT_MAX_RETRIES = 5
DEFAULT_MAX_WAIT = 300.0
APP_NAME = "steady-interpreter"
CONFIG_FILE = "config.toml"
RESUME_LATEST = "latest"  # what a bare `--resume` means


@dataclass(frozen=True)
class Settings:
    """Everything a session needs to know, after precedence has been applied."""

    home: Path
    model: str = DEFAULT_MODEL
    api_base: str = DEFAULT_API_BASE
    api_key: str = ""
    auto_run: bool = False
    max_steps: int = DEFAULT_MAX_STEPS
    tools: bool = True
    verbose: bool = False
    max_retries: int = DEFAULT_MAX_RETRIES  # retries of one failed API request
    max_wait: float = DEFAULT_MAX_WAIT  # seconds of waiting, all retries of one request together
    max_single_wait: float = 120.0  # a server hint longer than this stops at once
    backoff_base: float = 1.0  # full-jitter exponential backoff when the server gives no hint
    backoff_cap: float = 60.0
    breaker_threshold: int = 5  # server-side failures in a row that open the circuit breaker
    breaker_open: float = 30.0  # seconds the breaker stays open at first (doubling, to 300 s)
    idle_timeout: float = 60.0  # a stream with no byte for this long is broken
    timeout: float | None = None  # a cell running longer than this is stopped; None: no limit
    context_window: int | None = None  # tokens the model accepts; None: known from the model's name
    json: bool = False  # write one JSON object per event on stdout instead of drawing a screen

    def __repr__(self) -> str:
        # The key must never reach a log or a traceback through repr().
        return f"Settings(model={self.model!r}, api_base={self.api_base!r}, home={str(self.home)!r}, ...)"


# The settings file may hold exactly these keys, of these types; anything else is an error that names it.
FILE_KEYS: dict[str, type] = {
    "model": str,
    "api_base": str,
    "api_key": str,
    "auto_run": bool,
    "max_steps": int,
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
}
_TYPE_NAMES = {str: "a string", bool: "true or false", int: "a whole number", float: "a number"}


@dataclass(frozen=True)
class Flags:
    """What the command line said; None means "not given"."""

    model: str | None = None
    api_base: str | None = None
    api_key: str | None = None
    auto_run: bool = False
    max_steps: int | None = None
    no_tools: bool = False
    verbose: bool = False
    max_retries: int | None = None
    max_wait: float | None = None
    timeout: float | None = None

    def values(self) -> dict[str, object]:
        """The settings the flags give; a flag that was not given gives nothing."""
        given = {
            "model": self.model,
            "api_base": self.api_base,
            "api_key": self.api_key,
            "auto_run": self.auto_run or None,
            "max_steps": self.max_steps,
            "tools": False if self.no_tools else None,
            "verbose": self.verbose or None,
            "max_retries": self.max_retries,
            "max_wait": self.max_wait,
            "timeout": self.timeout,
        }
        return {name: value for name, value in given.items() if value is not None}


def home_dir(env: Mapping[str, str] | None = None) -> Path:
    """Where everything the tool stores lives: $INTERPRETER_HOME, else the platform's user data dir."""
    env = os.environ if env is None else env
    if env.get("INTERPRETER_HOME"):
        return Path(env["INTERPRETER_HOME"]).expanduser()
    from platformdirs import user_data_dir  # noqa: PLC0415 - only needed when the variable is unset

    return Path(user_data_dir(APP_NAME, appauthor=False))


def ensure_home(home: Path) -> Path:
    """Create the home directory, private to its owner; ConfigError when that is impossible."""
    try:
        home.mkdir(parents=True, exist_ok=True, mode=0o700)
    except OSError as exc:
        raise ConfigError(f"cannot create the home directory {home}: {exc.strerror} (set INTERPRETER_HOME)") from exc
    return home


def resolve(flags: Flags, env: Mapping[str, str] | None = None) -> Settings:
    """The one precedence chain: flags > environment > settings file > defaults; then validate."""
    env = os.environ if env is None else env
    home = home_dir(env)
    from_env = {"api_base": env.get("OPENAI_BASE_URL"), "api_key": env.get("OPENAI_API_KEY")}
    values = {
        **read_file(home / CONFIG_FILE),
        **{name: value for name, value in from_env.items() if value},
        **flags.values(),
    }
    settings = Settings(home=home, **cast("dict[str, Any]", values))
    _validate(settings)
    return replace(settings, api_base=settings.api_base.rstrip("/"))


def read_file(path: Path) -> dict[str, object]:
    """The settings in a TOML file (none if it does not exist); ConfigError naming the file and the problem."""
    try:
        text = path.read_text(encoding="utf-8")
    except (FileNotFoundError, NotADirectoryError):  # no file; an unusable home is reported when it is created
        return {}
    except OSError as exc:
        raise ConfigError(f"cannot read the settings file {path}: {exc.strerror}") from exc
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"the settings file {path} is not valid TOML: {exc}") from exc
    return {name: _checked(name, value, path) for name, value in data.items()}


def _checked(name: str, value: object, path: Path) -> object:
    """`value` if `name` is a known setting and `value` has its type (an int is a fine float); else ConfigError."""
    kind = FILE_KEYS.get(name)
    if kind is None:
        known = ", ".join(FILE_KEYS)
        raise ConfigError(f"unknown setting {name!r} in {path} (known settings: {known})")
    if kind is float and isinstance(value, int) and not isinstance(value, bool):
        return float(value)
    if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
        raise ConfigError(f"setting {name!r} in {path} must be {_TYPE_NAMES[kind]}, not {value!r}")
    return value


def _validate(settings: Settings) -> None:
    """Raise ConfigError for values no session could work with."""
    if not settings.api_key:
        raise MissingApiKey("no API key: pass --api-key, set OPENAI_API_KEY, or set api_key in the settings file")
    if not settings.api_base.startswith(("http://", "https://")):
        raise ConfigError(f"the API base must be an http:// or https:// URL, got {settings.api_base!r}")
    if settings.max_steps < 1:
        raise ConfigError(f"max_steps must be at least 1, got {settings.max_steps}")
    negative = [name for name, kind in FILE_KEYS.items() if kind in (int, float) and (getattr(settings, name) or 0) < 0]
    if settings.timeout is not None and settings.timeout <= 0:
        raise ConfigError(f"timeout must be more than 0 seconds, got {settings.timeout:g}")
    if negative:
        raise ConfigError(f"{', '.join(negative)} cannot be negative")
