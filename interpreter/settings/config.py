"""Settings: one closed, typed record, resolved from flags, environment, a profile, the settings file and defaults."""

from __future__ import annotations

import math
import os
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, cast

from interpreter.errors import ConfigError, MissingApiKey
from interpreter.resilience.shared.setting import DEFAULT_STORE, check_setting
from interpreter.settings.settings_file import FILE_KEYS, MODELS, ModelTable, SettingsFile, read_file
from interpreter.trust.redaction import redact_url

DEFAULT_MODEL = "gpt-4o"
DEFAULT_API_BASE = "https://api.openai.com/v1"
DEFAULT_MAX_STEPS = 20
DEFAULT_MAX_RETRIES = 5
DEFAULT_MAX_WAIT = 300.0
DEFAULT_OUTPUT_CAP = 12_000
MIN_OUTPUT_CAP = 100  # below this, the note of what was cut would crowd out the output itself
APP_NAME = "steady-interpreter"
CONFIG_FILE = "config.toml"
RESUME_LATEST = "latest"  # what a bare `--resume` means
DEFAULT_SOURCE = "default"
# The environment variables the settings honour: the OpenAI SDK's own names, so one export serves both; and the
# tool's own for the store of the shared rate-limit budget (a team exports one Redis URL for everyone).
ENV_VARS = {
    "api_base": "OPENAI_BASE_URL",
    "api_key": "OPENAI_API_KEY",
    "rate_limit_store": "INTERPRETER_RATE_LIMIT_STORE",
}
CONNECTION = frozenset({"api_base", "api_key"})  # a key and the endpoint it belongs to
MISSING_KEY = "(missing)"
Layer = tuple[str, Mapping[str, object]]  # where some settings came from ("file", "env NAME"...), and their values
SHORTEST_MASKED_KEY = 16  # a shorter key would give away too much of itself in 7 characters
DEFAULT_FALLBACK_AFTER = 10.0  # seconds: a longer wait is worth a fallback model, a shorter one is sat out
PROFILE_PREFIX = "profile:"  # a fallback model on another endpoint: that profile's endpoint, key and model
NO_KEY = "no-key"  # sent to an endpoint with no key of its own: the SDK needs one, and none of ours may go there
AUTO, CHAT, RESPONSES = "auto", "chat", "responses"
APIS = (AUTO, CHAT, RESPONSES)  # the `api` setting: which wire requests go on (auto: see model/api_choice.py)
# The reasoning efforts OpenAI's models take, from the least to the most; each model takes some of them.
EFFORTS = ("none", "minimal", "low", "medium", "high", "xhigh")


@dataclass(frozen=True)
class Settings:
    """Everything a session needs to know, after precedence has been applied."""

    home: Path
    model: str = DEFAULT_MODEL
    api_base: str = DEFAULT_API_BASE
    api_key: str = ""
    auto_run: bool = False
    max_steps: int = DEFAULT_MAX_STEPS
    max_cost: float | None = None  # USD one task may spend on requests; None: no cap
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
    output_cap: int = DEFAULT_OUTPUT_CAP  # characters of a cell's output the model gets (head and tail kept)
    json: bool = False  # write one JSON object per event on stdout instead of drawing a screen
    pass_env: tuple[str, ...] = ()  # environment variables (or patterns) cells get even though they look secret
    sandbox: bool = False  # cells write only in the working and temp directories, and have no network
    python: str | None = None  # the Python for python cells (a path or a name on PATH); None: the one a shell finds
    images: bool | None = None  # figures go to the model as pictures; None: if its name is known to take them
    key_warning: str = ""  # said by doctor and the log: the environment's key goes to an endpoint set elsewhere
    rate_limit_store: str = DEFAULT_STORE  # where sessions share the rate-limit budget: sqlite, redis://…, off
    fallback_models: tuple[str, ...] = ()  # used in order while the model is busy: names, or "profile:NAME"
    fallback_after: float = DEFAULT_FALLBACK_AFTER  # a named wait longer than this moves to a fallback
    api: str = AUTO  # the wire: "chat" (Chat Completions), "responses", or "auto" (see model/api_choice.py)
    reasoning_effort: str | None = None  # sent as the model's reasoning effort; None: nothing sent (its default)
    instructions: str = ""  # the person's standing instructions, told to the model after the tool's own
    instructions_file: str | None = None  # a file of standing instructions (read at the start of each session)
    project_instructions: bool = True  # tell the model the AGENTS.md files from the repository root down to here
    models: Mapping[str, ModelTable] = field(default_factory=dict)  # [models."NAME"]: what the person set per model

    def __repr__(self) -> str:
        # The key, and a password or key in the URL, must never reach a log or a traceback through repr().
        return f"Settings(model={self.model!r}, api_base={redact_url(self.api_base)!r}, home={str(self.home)!r}, ...)"


@dataclass(frozen=True)
class Flags:
    """What the command line said; None means "not given"."""

    model: str | None = None
    api_base: str | None = None
    api_key: str | None = None
    profile: str | None = None
    auto_run: bool = False
    max_steps: int | None = None
    max_cost: float | None = None
    no_tools: bool = False
    verbose: bool = False
    max_retries: int | None = None
    max_wait: float | None = None
    timeout: float | None = None
    context_window: int | None = None
    output_cap: int | None = None
    json: bool = False
    rate_limit_store: str | None = None
    sandbox: bool = False
    fallback_models: tuple[str, ...] | None = None
    api: str | None = None
    reasoning_effort: str | None = None
    instructions: str | None = None
    no_project_instructions: bool = False

    def values(self) -> dict[str, object]:
        """The settings the flags give; a flag that was not given gives nothing."""
        given = {
            "model": self.model,
            "api_base": self.api_base,
            "api_key": self.api_key,
            "auto_run": self.auto_run or None,
            "max_steps": self.max_steps,
            "max_cost": self.max_cost,
            "tools": False if self.no_tools else None,
            "verbose": self.verbose or None,
            "max_retries": self.max_retries,
            "max_wait": self.max_wait,
            "timeout": self.timeout,
            "context_window": self.context_window,
            "output_cap": self.output_cap,
            "json": self.json or None,
            "rate_limit_store": self.rate_limit_store,
            "sandbox": self.sandbox or None,
            "fallback_models": self.fallback_models,
            "api": self.api,
            "reasoning_effort": self.reasoning_effort,
            "instructions": self.instructions,
            "project_instructions": False if self.no_project_instructions else None,
        }
        return {name: value for name, value in given.items() if value is not None}


@dataclass(frozen=True)
class Effective:
    """The settings after precedence, where each one came from, and the file and profile that took part."""

    settings: Settings
    file: Path
    profile: str | None = None
    sources: dict[str, str] = field(default_factory=dict)  # setting -> "flag", "env NAME", "profile NAME" or "file"

    def source(self, name: str) -> str:
        """Where the setting `name` came from: "flag", "env NAME", "profile NAME", "file" or "default"."""
        return self.sources.get(name, DEFAULT_SOURCE)


def mask_key(key: str) -> str:
    """Enough of a key to tell two apart (`sk-…3f9a`), never enough to use; short keys show nothing."""
    if not key:
        return MISSING_KEY
    return f"{key[:3]}…{key[-4:]}" if len(key) >= SHORTEST_MASKED_KEY else "(set, hidden)"


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
    except (FileExistsError, NotADirectoryError) as exc:  # mkdir's own words ("File exists") mislead here
        raise ConfigError(
            f"cannot create the home directory {home}: a file is in the way (set INTERPRETER_HOME)"
        ) from exc
    except OSError as exc:
        raise ConfigError(f"cannot create the home directory {home}: {exc.strerror} (set INTERPRETER_HOME)") from exc
    return home


def resolve(flags: Flags, env: Mapping[str, str] | None = None) -> Settings:
    """The settings a session runs with; MissingApiKey when no layer gives a key."""
    settings = effective(flags, env).settings
    if not settings.api_key:
        raise MissingApiKey("no API key: pass --api-key, set OPENAI_API_KEY, or set api_key in the settings file")
    return settings


def effective(flags: Flags, env: Mapping[str, str] | None = None) -> Effective:
    """The one precedence chain: flags > environment > profile > settings file > defaults; then validate.

    A key belongs to its endpoint: when the file or the profile sets both api_base and api_key, the environment
    overrides neither (so OPENAI_API_KEY never goes to a profile's own server); a flag still does.
    """
    env = os.environ if env is None else env
    home = home_dir(env)
    file = read_file(home / CONFIG_FILE)
    profile = flags.profile or file.profile
    stored: list[Layer] = [
        ("file", file.values),
        (f"profile {profile}", file.profile_values(profile) if profile else {}),
    ]
    values: dict[str, object] = {}
    sources: dict[str, str] = {}
    for source, layer in [*stored, *_environment(env, stored), ("flag", flags.values())]:
        values |= layer
        sources |= dict.fromkeys(layer, source)
    settings = Settings(home=home, **cast("dict[str, Any]", values | {MODELS: _models(stored)}))
    _validate(settings, sources)
    settings = replace(settings, api_base=settings.api_base.rstrip("/"))
    settings = replace(settings, key_warning=_key_warning(settings, sources))
    _check_fallbacks(settings.fallback_models, file, sources.get("fallback_models", DEFAULT_SOURCE))
    return Effective(settings, file.path, profile, {**sources, **_profile_source(flags, file)})


def fallback_settings(entry: str, settings: Settings, env: Mapping[str, str] | None = None) -> Settings:
    """What a fallback entry runs with: `settings` with another model, or profile NAME's endpoint, key and model.

    A profile's endpoint gets its own key only: a key set for another endpoint (the file's, the environment's)
    is replaced by NO_KEY, as `key_warning` tells.
    """
    if not entry.startswith(PROFILE_PREFIX):
        return replace(settings, model=entry)
    found = effective(Flags(profile=entry.removeprefix(PROFILE_PREFIX)), env).settings
    return replace(found, api_key=NO_KEY) if found.key_warning or not found.api_key else found


def _check_fallbacks(entries: tuple[str, ...], file: SettingsFile, source: str) -> None:
    """ConfigError for a fallback entry that names no model, or a profile the settings file does not have."""
    for entry in entries:
        name = entry.removeprefix(PROFILE_PREFIX)
        if not name.strip():
            raise ConfigError(f"fallback model {entry!r} (set by {source}) names nothing: give a model or profile:NAME")
        if entry.startswith(PROFILE_PREFIX):
            file.profile_values(name)  # ConfigError listing the profiles there are, when there is no such one


def _models(stored: list[Layer]) -> dict[str, ModelTable]:
    """The `[models."NAME"]` tables of the file, and over them the profile's, model by model."""
    tables: dict[str, ModelTable] = {}
    for _source, layer in stored:
        tables |= cast("dict[str, ModelTable]", layer.get(MODELS, {}))
    return tables


def _environment(env: Mapping[str, str], stored: list[Layer]) -> list[Layer]:
    """The environment's layers, one per variable; none for the connection when a stored layer pairs key and base."""
    paired = any(layer.keys() >= CONNECTION for _, layer in stored)
    given = [(name, var) for name, var in ENV_VARS.items() if env.get(var) and not (paired and name in CONNECTION)]
    return [(f"env {var}", {name: env[var]}) for name, var in given]


def _key_warning(settings: Settings, sources: Mapping[str, str]) -> str:
    """A warning when the key goes to an endpoint set elsewhere than the key was (flag, profile, file); else "".

    A key given as a flag was given for this run, endpoint and all; the default endpoint is the key's own (OpenAI's).
    """
    key_from, base_from = sources.get("api_key", DEFAULT_SOURCE), sources.get("api_base", DEFAULT_SOURCE)
    both_from_the_environment = key_from.startswith("env ") and base_from.startswith("env ")
    if key_from in (base_from, "flag") or both_from_the_environment or DEFAULT_SOURCE in (key_from, base_from):
        return ""
    return (
        f"the API key from {_origin(key_from, 'api_key')} ({mask_key(settings.api_key)}) is sent to "
        f"{redact_url(settings.api_base)}, set by {_origin(base_from, 'api_base')}; "
        "if that server has a key of its own, set it beside the endpoint"
    )


def _origin(source: str, name: str) -> str:
    """Where a setting came from, as a person names it: OPENAI_API_KEY, --api-base, the settings file, profile p."""
    if source == "flag":
        return f"--{name.replace('_', '-')}"
    if source == "file":
        return "the settings file"
    return source.removeprefix("env ")


def _profile_source(flags: Flags, file: SettingsFile) -> dict[str, str]:
    """Where the profile in use was picked: on the command line or in the settings file."""
    if flags.profile:
        return {"profile": "flag"}
    return {"profile": "file"} if file.profile else {}


def _validate(settings: Settings, sources: Mapping[str, str]) -> None:
    """Raise ConfigError for values no session could work with."""
    for name, kind in FILE_KEYS.items():
        value = getattr(settings, name)
        if kind is float and value is not None and not math.isfinite(value):
            source = sources.get(name, DEFAULT_SOURCE)
            raise ConfigError(f"{name} must be a finite number, not {value} (set by {source})")
    if not settings.api_base.startswith(("http://", "https://")):
        raise ConfigError(f"the API base must be an http:// or https:// URL, got {redact_url(settings.api_base)!r}")
    if settings.max_steps < 1:
        raise ConfigError(f"max_steps must be at least 1, got {settings.max_steps}")
    negative = [name for name, kind in FILE_KEYS.items() if kind in (int, float) and (getattr(settings, name) or 0) < 0]
    if settings.max_cost is not None and settings.max_cost <= 0:
        raise ConfigError(f"max_cost must be more than $0, got {settings.max_cost:g}")
    if settings.timeout is not None and settings.timeout <= 0:
        raise ConfigError(f"timeout must be more than 0 seconds, got {settings.timeout:g}")
    if negative:
        raise ConfigError(f"{', '.join(negative)} cannot be negative")
    if settings.context_window is not None and settings.context_window < 1:
        raise ConfigError(f"context_window must be at least 1 token, got {settings.context_window}")
    check_setting(settings.rate_limit_store)
    _check_choice("api", settings.api, APIS, sources)
    if settings.reasoning_effort is not None:
        _check_choice("reasoning_effort", settings.reasoning_effort, EFFORTS, sources)
    if settings.output_cap < MIN_OUTPUT_CAP:
        raise ConfigError(f"output_cap must be at least {MIN_OUTPUT_CAP} characters, got {settings.output_cap}")


def _check_choice(name: str, value: str, accepted: tuple[str, ...], sources: Mapping[str, str]) -> None:
    """ConfigError naming the accepted values when `value` is none of them."""
    if value not in accepted:
        where = _origin(sources.get(name, DEFAULT_SOURCE), name)
        raise ConfigError(f"{name} must be one of {', '.join(accepted)}, not {value!r} (set by {where})")
