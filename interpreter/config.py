"""Settings: one closed, typed record, resolved from flags, environment and defaults in one place."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from interpreter.errors import ConfigError, MissingApiKey

DEFAULT_MODEL = "gpt-4o"
DEFAULT_API_BASE = "https://api.openai.com/v1"
DEFAULT_MAX_STEPS = 20
DEFAULT_MAX_RETRIES = 5
DEFAULT_MAX_WAIT = 300.0
APP_NAME = "steady-interpreter"
RESUME_LATEST = "latest"  # what a bare `--resume` means


@dataclass(frozen=True)
class Settings:
    """Everything a session needs to know, after precedence has been applied."""

    model: str
    api_base: str
    api_key: str
    home: Path
    auto_run: bool = False
    max_steps: int = DEFAULT_MAX_STEPS
    tools: bool = True
    verbose: bool = False
    max_retries: int = DEFAULT_MAX_RETRIES
    max_wait: float = DEFAULT_MAX_WAIT

    def __repr__(self) -> str:
        # The key must never reach a log or a traceback through repr().
        return f"Settings(model={self.model!r}, api_base={self.api_base!r}, home={str(self.home)!r}, ...)"


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
    """Apply the precedence chain, flags > environment > defaults, and validate the result."""
    env = os.environ if env is None else env
    api_base = flags.api_base or env.get("OPENAI_BASE_URL") or DEFAULT_API_BASE
    api_key = flags.api_key or env.get("OPENAI_API_KEY") or ""
    max_steps = DEFAULT_MAX_STEPS if flags.max_steps is None else flags.max_steps
    max_retries = DEFAULT_MAX_RETRIES if flags.max_retries is None else flags.max_retries
    max_wait = DEFAULT_MAX_WAIT if flags.max_wait is None else flags.max_wait
    _validate(api_base, api_key, max_steps)
    if max_retries < 0 or max_wait < 0:
        raise ConfigError("--max-retries and --max-wait cannot be negative")
    return Settings(
        model=flags.model or DEFAULT_MODEL,
        api_base=api_base.rstrip("/"),
        api_key=api_key,
        home=home_dir(env),
        auto_run=flags.auto_run,
        max_steps=max_steps,
        tools=not flags.no_tools,
        verbose=flags.verbose,
        max_retries=max_retries,
        max_wait=max_wait,
    )


def _validate(api_base: str, api_key: str, max_steps: int) -> None:
    """Raise ConfigError for values no session could work with."""
    if not api_key:
        raise MissingApiKey("no API key: pass --api-key or set OPENAI_API_KEY")
    if not api_base.startswith(("http://", "https://")):
        raise ConfigError(f"--api-base must be an http:// or https:// URL, got {api_base!r}")
    if max_steps < 1:
        raise ConfigError(f"--max-steps must be at least 1, got {max_steps}")
