"""Settings precedence and validation."""

from __future__ import annotations

from pathlib import Path

import pytest

from interpreter.config import DEFAULT_API_BASE, DEFAULT_MODEL, Flags, home_dir, resolve
from interpreter.errors import ConfigError, MissingApiKey


def test_flags_beat_the_environment_which_beats_defaults() -> None:
    env = {"OPENAI_API_KEY": "env-key", "OPENAI_BASE_URL": "http://env/v1", "INTERPRETER_HOME": "/h"}
    from_env = resolve(Flags(), env)
    assert (from_env.api_key, from_env.api_base, from_env.model) == (
        "env-key",
        "http://env/v1",
        DEFAULT_MODEL,
    )
    from_flags = resolve(Flags(api_key="flag-key", api_base="http://flag/v1/", model="m"), env)
    assert (from_flags.api_key, from_flags.api_base, from_flags.model) == ("flag-key", "http://flag/v1", "m")
    assert resolve(Flags(api_key="k"), {"INTERPRETER_HOME": "/h"}).api_base == DEFAULT_API_BASE


def test_the_key_never_shows_in_repr() -> None:
    settings = resolve(Flags(api_key="sk-secret"), {"INTERPRETER_HOME": "/h"})
    assert "sk-secret" not in repr(settings)


@pytest.mark.parametrize(
    ("flags", "problem"),
    [
        (Flags(), "no API key"),
        (Flags(api_key="k", api_base="localhost:8080"), "http:// or https://"),
        (Flags(api_key="k", max_steps=0), "at least 1"),
    ],
)
def test_unusable_settings_are_config_errors(flags: Flags, problem: str) -> None:
    with pytest.raises(ConfigError, match=problem):
        resolve(flags, {"INTERPRETER_HOME": "/h"})


def test_missing_key_is_its_own_error() -> None:
    with pytest.raises(MissingApiKey):
        resolve(Flags(), {})


def test_home_follows_interpreter_home(tmp_path: Path) -> None:
    assert home_dir({"INTERPRETER_HOME": str(tmp_path)}) == tmp_path
    assert home_dir({}).name == "steady-interpreter"
