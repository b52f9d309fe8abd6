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


def write_settings(home: Path, text: str) -> Path:
    home.mkdir(parents=True, exist_ok=True)
    path = home / "config.toml"
    path.write_text(text)
    return path


def test_the_settings_file_sits_between_the_environment_and_the_defaults(tmp_path: Path) -> None:
    write_settings(tmp_path, 'model = "from-file"\napi_key = "file-key"\nmax_wait = 60\nbackoff_base = 0.5\n')
    env = {"INTERPRETER_HOME": str(tmp_path)}
    from_file = resolve(Flags(), env)
    assert (from_file.model, from_file.api_key, from_file.max_wait, from_file.backoff_base) == (
        "from-file",
        "file-key",
        60.0,
        0.5,
    )
    assert resolve(Flags(), {**env, "OPENAI_API_KEY": "env-key"}).api_key == "env-key"
    assert resolve(Flags(model="flag", max_wait=5), env).model == "flag"
    assert resolve(Flags(model="flag", max_wait=5), env).max_wait == 5


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("colour = true\n", "unknown setting 'colour'"),
        ('max_retries = "many"\n', "setting 'max_retries' .* must be a whole number"),
        ("auto_run = 1\n", "setting 'auto_run' .* must be true or false"),
        ("model = [\n", "not valid TOML"),
        ("max_wait = -1\n", "max_wait cannot be negative"),
    ],
)
def test_a_bad_settings_file_is_a_config_error_naming_the_problem(tmp_path: Path, text: str, problem: str) -> None:
    path = write_settings(tmp_path, text)
    with pytest.raises(ConfigError, match=problem) as raised:
        resolve(Flags(api_key="k"), {"INTERPRETER_HOME": str(tmp_path)})
    if "negative" not in problem:  # a value out of range is named by its key; the rest also name the file
        assert str(path) in str(raised.value)
