"""Settings precedence and validation."""

from __future__ import annotations

from pathlib import Path

import pytest

from interpreter.config import DEFAULT_API_BASE, DEFAULT_MODEL, Flags, effective, home_dir, mask_key, resolve
from interpreter.errors import ConfigError, MissingApiKey
from interpreter.settings_table import settings_table


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


def write_settings(home: Path, text: str | bytes) -> Path:
    """Write the settings file, private to its owner as README asks of one that holds a key."""
    home.mkdir(parents=True, exist_ok=True)
    path = home / "config.toml"
    path.write_bytes(text.encode() if isinstance(text, str) else text)
    path.chmod(0o600)
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


PROFILES = """\
model = "from-file"
max_retries = 3

[profiles.local]
api_base = "http://localhost:11434/v1"
model = "llama3.1"
context_window = 8192

[profiles.work]
max_retries = 9
"""


def test_a_profile_sits_between_the_environment_and_the_file(tmp_path: Path) -> None:
    write_settings(tmp_path, PROFILES)
    env = {"INTERPRETER_HOME": str(tmp_path)}
    local = effective(Flags(profile="local"), env)
    assert (local.settings.model, local.settings.api_base, local.settings.context_window) == (
        "llama3.1",
        "http://localhost:11434/v1",
        8192,
    )
    assert local.settings.max_retries == 3  # the file's value where the profile says nothing
    assert effective(Flags(profile="local"), {**env, "OPENAI_BASE_URL": "http://env/v1"}).settings.api_base == (
        "http://env/v1"
    )
    assert effective(Flags(profile="local", model="flag"), env).settings.model == "flag"
    assert effective(Flags(), env).settings.model == "from-file"  # no profile unless one is picked


def test_each_value_says_where_it_came_from(tmp_path: Path) -> None:
    write_settings(tmp_path, PROFILES)
    env = {"INTERPRETER_HOME": str(tmp_path), "OPENAI_API_KEY": "env-key"}
    found = effective(Flags(profile="local", max_steps=4), env)
    assert found.source("model") == "profile local"
    assert found.source("max_retries") == "file"
    assert found.source("api_key") == "env OPENAI_API_KEY"
    assert found.source("max_steps") == "flag"
    assert found.source("backoff_cap") == "default"
    assert (found.profile, found.source("profile"), found.file) == ("local", "flag", tmp_path / "config.toml")


def test_the_file_may_name_a_default_profile_which_a_flag_overrides(tmp_path: Path) -> None:
    write_settings(tmp_path, 'profile = "local"\n' + PROFILES)
    env = {"INTERPRETER_HOME": str(tmp_path)}
    by_default = effective(Flags(), env)
    assert (by_default.settings.model, by_default.profile, by_default.source("profile")) == (
        "llama3.1",
        "local",
        "file",
    )
    assert effective(Flags(profile="work"), env).settings.max_retries == 9


def test_an_unknown_profile_names_the_known_ones_and_the_file(tmp_path: Path) -> None:
    path = write_settings(tmp_path, PROFILES)
    with pytest.raises(ConfigError, match=r"unknown profile 'home' \(profiles in .*: local, work\)") as raised:
        effective(Flags(profile="home"), {"INTERPRETER_HOME": str(tmp_path)})
    assert str(path) in str(raised.value)
    with pytest.raises(ConfigError, match="unknown profile 'home'"):
        effective(Flags(profile="home"), {"INTERPRETER_HOME": str(tmp_path / "elsewhere")})


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("[profiles.local]\ncolour = true\n", "unknown setting 'colour' in profile 'local' of "),
        ("[profiles.local]\nmax_steps = 2.5\n", "setting 'max_steps' in profile 'local' of .* must be a whole number"),
        ("profiles = 3\n", "'profiles' in .* must hold tables like \\[profiles.local\\]"),
        ("[profiles]\nlocal = 3\n", "'profiles.local' in .* must be a table of settings"),
        ("profile = 3\n", "'profile' in .* must be the name of a profile"),
        ("output_cap = 10\n", "output_cap must be at least 100 characters"),
        ("context_window = 0\n", "context_window must be at least 1 token"),
    ],
)
def test_bad_profiles_and_limits_are_config_errors(tmp_path: Path, text: str, problem: str) -> None:
    write_settings(tmp_path, text)
    with pytest.raises(ConfigError, match=problem):
        effective(Flags(), {"INTERPRETER_HOME": str(tmp_path)})


def test_a_key_of_the_wrong_type_is_not_echoed(tmp_path: Path) -> None:
    write_settings(tmp_path, 'api_key = ["sk-secret-0123456789"]\n')
    with pytest.raises(ConfigError, match=r"setting 'api_key' .* must be a string") as raised:
        effective(Flags(), {"INTERPRETER_HOME": str(tmp_path)})
    assert "secret" not in str(raised.value)


def test_effective_settings_need_no_key_but_a_session_does(tmp_path: Path) -> None:
    env = {"INTERPRETER_HOME": str(tmp_path)}
    assert effective(Flags(), env).settings.api_key == ""
    with pytest.raises(MissingApiKey):
        resolve(Flags(), env)


def test_context_window_and_output_cap_come_from_the_file_and_flags(tmp_path: Path) -> None:
    write_settings(tmp_path, "context_window = 32000\noutput_cap = 2000\n")
    env = {"INTERPRETER_HOME": str(tmp_path)}
    settings = effective(Flags(), env).settings
    assert (settings.context_window, settings.output_cap) == (32000, 2000)
    assert effective(Flags(context_window=4096), env).settings.context_window == 4096


def test_the_key_is_masked() -> None:
    assert mask_key("sk-proj-abcdefghijklmnop3f9a") == "sk-…3f9a"
    assert mask_key("short-key") == "(set, hidden)"
    assert mask_key("") == "(missing)"


def test_the_settings_table_shows_values_sources_and_the_file_but_never_the_key(tmp_path: Path) -> None:
    write_settings(tmp_path, PROFILES)
    env = {"INTERPRETER_HOME": str(tmp_path), "OPENAI_API_KEY": "sk-proj-abcdefghijklmnop3f9a"}
    table = settings_table(effective(Flags(profile="local", timeout=5), env))
    rows = {line.split()[0]: line.split()[1:] for line in table.splitlines() if line.strip()}
    assert rows["settings"] == ["file", str(tmp_path / "config.toml")]
    assert rows["profile"] == ["local", "flag"]
    assert rows["model"] == ["llama3.1", "profile", "local"]
    assert rows["api_key"] == ["sk-…3f9a", "env", "OPENAI_API_KEY"]
    assert rows["max_retries"] == ["3", "file"]
    assert rows["timeout"] == ["5", "flag"]
    assert rows["auto_run"] == ["false", "default"]
    assert rows["output_cap"] == ["12000", "default"]
    assert "abcdefghijklmnop" not in table
