"""Open Interpreter's profiles (YAML files) as profiles of this tool's settings: what maps, and what is left out.

Its profiles live in `platformdirs.user_config_dir("open-interpreter")` + `profiles` (`oi_dir` in
interpreter/terminal_interface/utils/oi_dir.py, `profile_dir` in profiles/profiles.py of
OpenInterpreter/open-interpreter 0.4.x), each a YAML mapping set onto its objects key by key
(`apply_profile_to_object`): `llm: {model, api_base, api_key, context_window, max_tokens, max_budget,
supports_functions, supports_vision, temperature, api_version}`, `custom_instructions`, `auto_run`, `max_output`,
`safe_mode`, `offline`, `verbose`, `computer`, `version` (profiles/defaults/default.yaml, whose template also puts
`max_output` under `llm`). A `.py` profile is a script it ran (`exec(profile["start_script"])`): it is never run here.
A `.json` profile is read as its JSON.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from interpreter.errors import ConfigError, FileRefused
from interpreter.settings import settings_file
from interpreter.trust.regular_files import read_regular

OI_APP = "open-interpreter"
PROFILE_SUFFIXES = (".yaml", ".yml")  # what the folder is searched for
MAX_SIZE = 1_000_000  # bytes: a profile is a few hundred
# Its keys (dotted below `llm`) and the settings they become.
MAPPED: dict[str, str] = {
    "llm.model": "model",
    "llm.api_base": "api_base",
    "llm.api_key": "api_key",
    "llm.context_window": "context_window",
    "llm.max_budget": "max_cost",
    "llm.supports_functions": "tools",  # false: code in fenced blocks, as its non-function-calling mode wrote it
    "llm.supports_vision": "images",
    "max_output": "output_cap",  # characters of a code output the model sees, as ours
    "llm.max_output": "output_cap",  # where its default.yaml's commented template put it
    "auto_run": "auto_run",
    "custom_instructions": "instructions",  # appended to its system message; ours are told after the tool's own
}
# Its keys with no counterpart, and the word said of each.
LEFT_OUT: dict[str, str] = {
    "llm.max_tokens": "a reply is as long as the model makes it",
    "llm.temperature": "the model's own temperature is used",
    "llm.api_version": "no API version is sent",
    "system_message": "the tool's own system message stays; custom_instructions are told after it",
    "safe_mode": "code runs once you approve it; sandbox = true confines it",
    "verbose": "give --verbose when you want it",
    "offline": "there is nothing online to turn off",
    "disable_telemetry": "there is no telemetry",
    "computer": "its computer API has no counterpart",
    "version": "its profile format's version",
}
NO_COUNTERPART = "no counterpart here"
# The LiteLLM provider prefixes its model names carried (it called every model through LiteLLM, and put `openai/`
# before a model served at an api_base itself: start_terminal_interface.py), and the endpoint each one means when
# the profile names none (None: the api_base given, else OpenAI's). LiteLLM's Ollama is at the server's root; its
# OpenAI-compatible API, which this tool speaks, under /v1 [src] litellm docs "Ollama", ollama docs/openai.md.
ROUTES: dict[str, str | None] = {
    "openai/": None,
    "ollama/": "http://localhost:11434",
    "ollama_chat/": "http://localhost:11434",
    "openrouter/": "https://openrouter.ai/api/v1",
}
_AT_ITS_ROOT = ("ollama/", "ollama_chat/")  # the api_base LiteLLM took for these lacks the /v1 asked here


@dataclass(frozen=True)
class Imported:
    """One profile translated: its name, the settings it gives, and each key mapped or left out (and why)."""

    name: str
    values: dict[str, object]
    mapped: tuple[tuple[str, str], ...]  # (its key, our setting)
    left_out: tuple[tuple[str, str], ...]  # (its key, why)


def profiles_folder() -> Path:
    """Open Interpreter's profiles folder, found as it found it."""
    from platformdirs import user_config_dir  # noqa: PLC0415 - only import-oi needs it

    return Path(user_config_dir(OI_APP)) / "profiles"


def folder_profiles(folder: Path) -> list[Path]:
    """The YAML profiles in `folder`, by name; ConfigError when there are none."""
    found = sorted(path for path in folder.glob("*") if path.suffix in PROFILE_SUFFIXES) if folder.is_dir() else []
    if not found:
        raise ConfigError(
            f"no Open Interpreter profiles (.yaml) in {folder}: name them, interpreter config import-oi FILE"
        )
    return found


def read_profile(path: Path, *, keys_allowed: bool) -> Imported:
    """The profile in the file `path`, named for it (`work.yaml`: work); ConfigError when it cannot be one.

    Without `keys_allowed` (the settings file can be read by others) its API key is left out.
    """
    if path.suffix == ".py":
        raise ConfigError(
            f"{path} is a Python profile, which runs code: it is not run here (copy its settings by hand)"
        )
    try:
        raw = read_regular(path, limit=MAX_SIZE)
    except FileRefused as exc:
        raise ConfigError(str(exc)) from exc
    document = _document(raw, path)
    if not isinstance(document, Mapping):
        raise ConfigError(f"{path} is not an Open Interpreter profile: it holds no settings (key: value lines)")
    return translate(path.stem, document, keys_allowed=keys_allowed)


def translate(name: str, document: Mapping[object, object], *, keys_allowed: bool = True) -> Imported:
    """Profile `name`'s settings from the document of one of its profiles."""
    values: dict[str, object] = {}
    mapped: list[tuple[str, str]] = []
    left_out: list[tuple[str, str]] = []
    for key, value in _flattened(document):
        ours = MAPPED.get(key)
        why = LEFT_OUT.get(key, NO_COUNTERPART) if ours is None else _unusable(ours, value, keys_allowed=keys_allowed)
        if ours is None or why is not None:
            left_out.append((key, why or NO_COUNTERPART))
        else:
            values[ours] = settings_file.typed(ours, value, "")
            mapped.append((key, ours))
    routed, word = _routed(values)
    mapped = [(key, f"{ours} ({word})" if word and ours == "model" else ours) for key, ours in mapped]
    return Imported(name, routed, tuple(mapped), tuple(left_out))


def _routed(values: dict[str, object]) -> tuple[dict[str, object], str]:
    """`values` with the model's LiteLLM provider prefix read as its endpoint, and a word saying so ("" if none)."""
    model = values.get("model")
    prefix = next((route for route in ROUTES if isinstance(model, str) and model.startswith(route)), None)
    if prefix is None or not isinstance(model, str):
        return values, ""
    base = values.get("api_base") or ROUTES[prefix]
    routed = {**values, "model": model.removeprefix(prefix)}
    if isinstance(base, str):
        routed["api_base"] = _under_v1(base) if prefix in _AT_ITS_ROOT else base
    where = f"; api_base {routed['api_base']}" if "api_base" in routed else ""
    return routed, f"without LiteLLM's {prefix} prefix{where}"


def _under_v1(base: str) -> str:
    """An Ollama root (`http://localhost:11434`) as its OpenAI-compatible endpoint (`.../v1`)."""
    base = base.rstrip("/")
    return base if base.endswith("/v1") else f"{base}/v1"


def _unusable(ours: str, value: object, *, keys_allowed: bool) -> str | None:
    """Why `value` cannot be the setting `ours`; None when it can."""
    if value is None or value == "":
        return "empty"
    if ours == "api_base" and not (isinstance(value, str) and value.startswith(("http://", "https://"))):
        return "not an http:// or https:// URL"
    if ours == "api_key" and not keys_allowed:
        return "the settings file can be read by others: chmod 600 it, then import again"
    try:
        settings_file.typed(ours, value, "")
    except ConfigError:
        return f"not {settings_file.TYPE_NAMES[settings_file.FILE_KEYS[ours]]}"
    return None


def _flattened(document: Mapping[object, object]) -> list[tuple[str, object]]:
    """Each key of the document with its value, `llm`'s as `llm.KEY`; other mappings whole."""
    pairs: list[tuple[str, object]] = []
    for key, value in document.items():
        if key == "llm" and isinstance(value, Mapping):
            pairs += [(f"llm.{inner}", item) for inner, item in value.items()]
        else:
            pairs.append((str(key), value))
    return pairs


def _document(raw: bytes, path: Path) -> object:
    """The parsed profile (JSON for `.json`, else YAML); ConfigError naming the file when it does not parse."""
    if path.suffix == ".json":
        try:
            return json.loads(raw)
        except ValueError as exc:
            raise ConfigError(f"{path} is not valid JSON: {exc}") from exc
    import yaml  # noqa: PLC0415 - only an import of Open Interpreter's profiles reads YAML

    try:
        return yaml.safe_load(raw)  # data only: no tag of safe_load constructs an object or runs code
    except yaml.YAMLError as exc:
        raise ConfigError(f"{path} is not valid YAML: {' '.join(str(exc).split())}") from exc
