"""What `interpreter config` shows: each effective setting, its value and where it came from, the key masked and
URLs redacted."""

from __future__ import annotations

from dataclasses import fields

from interpreter.settings.config import Effective, mask_key
from interpreter.settings.settings_file import FILE_KEYS, MODELS, ModelTable
from interpreter.trust.redaction import redact_url

UNSET_EFFORT = "(not sent: the model's own)"


def settings_table(effective: Effective) -> str:
    """Aligned lines: the settings file, the profile in use, then every setting with its value and its source."""
    exists = "" if effective.file.is_file() else "  (no such file yet)"
    head = [("settings file", f"{effective.file}{exists}", "")]
    if effective.profile:
        head.append(("profile", effective.profile, effective.source("profile")))
    rows = [(name, _shown(effective, name), effective.source(name)) for name in FILE_KEYS]
    rows += [(f'models."{model}"', _table(table), effective.source(MODELS)) for model, table in _models(effective)]
    return _aligned(head) + "\n\n" + _aligned(rows)


def _models(effective: Effective) -> list[tuple[str, ModelTable]]:
    """The `[models."NAME"]` tables in effect, by name."""
    return sorted(effective.settings.models.items())


def _table(table: ModelTable) -> str:
    """A model's table as the settings file spells it: `context_window = 32768, input_price = 0.2`."""
    values = [(field.name, getattr(table, field.name)) for field in fields(table)]
    return ", ".join(f"{name} = {value:g}" for name, value in values if value is not None)


def _shown(effective: Effective, name: str) -> str:
    """The value of setting `name` as the settings file would spell it; the key masked, a URL's credentials hidden."""
    value = getattr(effective.settings, name)
    if name == "api_key":
        return mask_key(value)
    if value is None:
        return UNSET_EFFORT if name == "reasoning_effort" else "none"  # "none" is an effort of its own
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, tuple):
        return "[" + ", ".join(f'"{item}"' for item in value) + "]"
    if isinstance(value, float):
        return f"{value:g}"
    return redact_url(str(value))  # the endpoint and the store may be URLs holding a password or key


def _aligned(rows: list[tuple[str, str, str]]) -> str:
    """Three columns, padded to line up."""
    name_width = max(len(name) for name, _, _ in rows)
    value_width = max(len(value) for _, value, _ in rows)
    return "\n".join(f"{name:<{name_width}}  {value:<{value_width}}  {source}".rstrip() for name, value, source in rows)
