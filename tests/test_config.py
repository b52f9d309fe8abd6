"""Settings precedence and validation."""

from __future__ import annotations

from pathlib import Path

import pytest

from interpreter.errors import ConfigError, MissingApiKey
from interpreter.settings.config import (
    DEFAULT_API_BASE,
    DEFAULT_MODEL,
    NO_KEY,
    Flags,
    effective,
    ensure_home,
    fallback_settings,
    home_dir,
    mask_key,
    resolve,
)
from interpreter.settings.settings_table import settings_table


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


# ---- a key belongs to its endpoint ------------------------------------------------------------------------

ENV_KEY = "sk-env-0123456789abcdef3f9a"
LOCAL_PAIR = '[profiles.local]\napi_base = "http://localhost:11434/v1"\napi_key = "ollama"\n'


def test_a_profile_that_pairs_a_key_with_its_endpoint_keeps_them_over_the_environment(tmp_path: Path) -> None:
    write_settings(tmp_path, LOCAL_PAIR)
    env = {"INTERPRETER_HOME": str(tmp_path), "OPENAI_API_KEY": ENV_KEY, "OPENAI_BASE_URL": "http://env/v1"}
    local = effective(Flags(profile="local"), env)
    assert (local.settings.api_base, local.settings.api_key) == ("http://localhost:11434/v1", "ollama")
    assert local.source("api_key") == local.source("api_base") == "profile local"
    assert local.settings.key_warning == ""
    assert effective(Flags(profile="local", api_key="flag-key"), env).settings.api_key == "flag-key"
    assert effective(Flags(), env).settings.api_key == ENV_KEY  # without the profile, the environment as before


def test_a_settings_file_that_pairs_a_key_with_its_endpoint_keeps_them_too(tmp_path: Path) -> None:
    write_settings(tmp_path, 'api_base = "https://openrouter.ai/api/v1"\napi_key = "or-key"\n')
    env = {"INTERPRETER_HOME": str(tmp_path), "OPENAI_API_KEY": ENV_KEY}
    settings = effective(Flags(), env).settings
    assert (settings.api_base, settings.api_key) == ("https://openrouter.ai/api/v1", "or-key")


@pytest.mark.parametrize(
    ("text", "flags", "origin"),
    [
        ('[profiles.local]\napi_base = "http://localhost:11434/v1"\n', Flags(profile="local"), "profile local"),
        ('api_base = "http://localhost:11434/v1"\n', Flags(), "the settings file"),
        ("", Flags(api_base="http://localhost:11434/v1"), "--api-base"),
    ],
)
def test_the_environments_key_sent_to_an_endpoint_set_elsewhere_is_a_warning(
    tmp_path: Path, text: str, flags: Flags, origin: str
) -> None:
    write_settings(tmp_path, text)
    env = {"INTERPRETER_HOME": str(tmp_path), "OPENAI_API_KEY": ENV_KEY}
    settings = effective(flags, env).settings
    assert settings.api_key == ENV_KEY  # a warning, not a refusal
    assert settings.key_warning.startswith(
        f"the API key from OPENAI_API_KEY (sk-…3f9a) is sent to http://localhost:11434/v1, set by {origin}"
    )
    assert "0123456789" not in settings.key_warning


@pytest.mark.parametrize(
    ("text", "flags", "warning"),
    [
        (
            'api_key = "sk-file-0123456789abcd"\n[profiles.router]\napi_base = "https://openrouter.ai/api/v1"\n',
            Flags(profile="router"),
            "the API key from the settings file (sk-…abcd) is sent to https://openrouter.ai/api/v1, "
            "set by profile router",
        ),
        (
            '[profiles.p]\napi_base = "http://localhost:8000/v1"\napi_key = "sk-prof-0123456789abcd"\n',
            Flags(profile="p", api_base="https://elsewhere.example/v1"),
            "the API key from profile p (sk-…abcd) is sent to https://elsewhere.example/v1, set by --api-base",
        ),
    ],
    ids=["file-key-to-a-profiles-endpoint", "profile-key-to-a-flags-endpoint"],
)
def test_a_stored_key_sent_to_an_endpoint_set_elsewhere_is_a_warning(
    tmp_path: Path, text: str, flags: Flags, warning: str
) -> None:
    path = write_settings(tmp_path, text)
    path.chmod(0o600)
    assert effective(flags, {"INTERPRETER_HOME": str(tmp_path)}).settings.key_warning.startswith(warning)


def test_no_warning_when_the_key_and_the_endpoint_come_from_the_same_place(tmp_path: Path) -> None:
    env = {"INTERPRETER_HOME": str(tmp_path), "OPENAI_API_KEY": ENV_KEY}
    assert effective(Flags(), env).settings.key_warning == ""  # OpenAI's own endpoint
    assert effective(Flags(), {**env, "OPENAI_BASE_URL": "http://env/v1"}).settings.key_warning == ""
    assert effective(Flags(api_key="k", api_base="http://flag/v1"), env).settings.key_warning == ""


# ---- values no session can use ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "flags", "problem"),
    [
        ("max_wait = nan\n", Flags(), r"max_wait must be a finite number, not nan \(set by file\)"),
        ("backoff_cap = inf\n", Flags(), "backoff_cap must be a finite number, not inf"),
        ("timeout = -inf\n", Flags(), "timeout must be a finite number, not -inf"),
        ("[profiles.p]\nidle_timeout = nan\n", Flags(profile="p"), r"not nan \(set by profile p\)"),
        ("", Flags(max_wait=float("nan")), r"max_wait must be a finite number, not nan \(set by flag\)"),
        ("", Flags(timeout=float("nan")), "timeout must be a finite number, not nan"),
        ("", Flags(timeout=float("inf")), "timeout must be a finite number, not inf"),
    ],
)
def test_nan_and_infinity_are_refused_for_every_number(tmp_path: Path, text: str, flags: Flags, problem: str) -> None:
    write_settings(tmp_path, text)
    with pytest.raises(ConfigError, match=problem):
        effective(flags, {"INTERPRETER_HOME": str(tmp_path)})


def test_a_settings_file_that_is_not_utf8_is_one_line_naming_it(tmp_path: Path) -> None:
    path = write_settings(tmp_path, b'model = "cafe"\n# caf\xe9\n')
    with pytest.raises(ConfigError, match=r"is not UTF-8 text \(line 2\): save it as UTF-8") as raised:
        effective(Flags(), {"INTERPRETER_HOME": str(tmp_path)})
    assert str(path) in str(raised.value)


def test_a_settings_file_that_is_a_directory_is_one_line_naming_it(tmp_path: Path) -> None:
    (tmp_path / "config.toml").mkdir(parents=True)
    refused = r"the settings file is refused: cannot read .*config.toml: it is a directory"
    with pytest.raises(ConfigError, match=refused):
        effective(Flags(), {"INTERPRETER_HOME": str(tmp_path)})


def test_a_home_that_is_a_file_is_a_config_error(tmp_path: Path) -> None:
    home = tmp_path / "home"
    home.write_text("not a directory")
    with pytest.raises(ConfigError, match=r"cannot create the home directory .*: a file is in the way"):
        ensure_home(home)
    with pytest.raises(ConfigError, match="a file is in the way"):
        ensure_home(home / "below")


# ---- a key in the settings file -------------------------------------------------------------------------


@pytest.mark.parametrize("mode", [0o644, 0o640, 0o604])
@pytest.mark.parametrize("text", ['api_key = "sk-file"\n', '[profiles.p]\napi_key = "sk-file"\n'])
def test_a_key_in_a_settings_file_others_can_read_is_refused(tmp_path: Path, text: str, mode: int) -> None:
    path = write_settings(tmp_path, text)
    path.chmod(mode)
    with pytest.raises(ConfigError) as raised:
        effective(Flags(), {"INTERPRETER_HOME": str(tmp_path)})
    assert str(raised.value) == f"the settings file {path} holds an API key that other users can read: chmod 600 {path}"


def test_a_settings_file_without_a_key_may_be_readable_by_others(tmp_path: Path) -> None:
    write_settings(tmp_path, 'model = "m"\n').chmod(0o644)
    assert effective(Flags(), {"INTERPRETER_HOME": str(tmp_path)}).settings.model == "m"


# ---- pass_env -------------------------------------------------------------------------------------------


def test_pass_env_comes_from_the_file_or_a_profile_and_shows_in_the_table(tmp_path: Path) -> None:
    write_settings(tmp_path, 'pass_env = ["GITHUB_TOKEN"]\n[profiles.aws]\npass_env = ["AWS_*", "GITHUB_TOKEN"]\n')
    env = {"INTERPRETER_HOME": str(tmp_path)}
    assert effective(Flags(), env).settings.pass_env == ("GITHUB_TOKEN",)
    found = effective(Flags(profile="aws"), env)
    assert found.settings.pass_env == ("AWS_*", "GITHUB_TOKEN")
    rows = {line.split()[0]: line.split(None, 1)[1] for line in settings_table(found).splitlines() if line.strip()}
    assert rows["pass_env"].split("  ")[0] == '["AWS_*", "GITHUB_TOKEN"]'
    assert rows["pass_env"].endswith("profile aws")


def test_pass_env_must_be_a_list_of_names(tmp_path: Path) -> None:
    write_settings(tmp_path, 'pass_env = "GITHUB_TOKEN"\n')
    with pytest.raises(ConfigError, match=r"setting 'pass_env' .* must be a list of variable names in quotes"):
        effective(Flags(), {"INTERPRETER_HOME": str(tmp_path)})


# ---- the store of the shared rate-limit budget --------------------------------------------------------------


def test_the_rate_limit_store_comes_from_a_flag_the_environment_or_the_file(tmp_path: Path) -> None:
    env = {"INTERPRETER_HOME": str(tmp_path)}
    assert effective(Flags(), env).settings.rate_limit_store == "sqlite"
    write_settings(tmp_path, 'rate_limit_store = "off"\n')
    assert effective(Flags(), env).source("rate_limit_store") == "file"
    team = {**env, "INTERPRETER_RATE_LIMIT_STORE": "redis://cache.internal:6379/2"}
    assert effective(Flags(), team).settings.rate_limit_store == "redis://cache.internal:6379/2"
    assert effective(Flags(rate_limit_store="off"), team).settings.rate_limit_store == "off"


@pytest.mark.parametrize("value", ["sqllite", "redis://", "redis://host:port/0", "redis://host/zero", "http://h:1/0"])
def test_a_store_that_is_not_one_is_a_config_error_saying_what_is(tmp_path: Path, value: str) -> None:
    with pytest.raises(ConfigError, match=r'rate_limit_store must be "sqlite", "off" or a Redis URL like redis://'):
        effective(Flags(rate_limit_store=value), {"INTERPRETER_HOME": str(tmp_path)})


def test_the_settings_table_shows_the_store_without_a_redis_password(tmp_path: Path) -> None:
    env = {"INTERPRETER_HOME": str(tmp_path), "INTERPRETER_RATE_LIMIT_STORE": "redis://:hunter2@cache:6379/0"}
    table = settings_table(effective(Flags(), env))
    rows = {line.split()[0]: line.split()[1:] for line in table.splitlines() if line.strip()}
    assert rows["rate_limit_store"] == ["redis://***@cache:6379/0", "env", "INTERPRETER_RATE_LIMIT_STORE"]
    assert "hunter2" not in table


@pytest.mark.parametrize("value", ["redis://localhost", "rediss://user:pw@cache.example:6380/3", "redis://:pw@h:6379"])
def test_redis_urls_with_or_without_port_database_and_password_are_stores(tmp_path: Path, value: str) -> None:
    assert (
        effective(Flags(rate_limit_store=value), {"INTERPRETER_HOME": str(tmp_path)}).settings.rate_limit_store == value
    )


# ---- fallback models ------------------------------------------------------------------------------------


def test_fallback_models_come_from_the_file_a_profile_or_the_flag_which_wins(tmp_path: Path) -> None:
    write_settings(tmp_path, 'fallback_models = ["gpt-4o-mini"]\n[profiles.work]\nfallback_models = ["profile:work"]\n')
    env = {"INTERPRETER_HOME": str(tmp_path)}
    assert effective(Flags(), env).settings.fallback_models == ("gpt-4o-mini",)
    assert effective(Flags(profile="work"), env).settings.fallback_models == ("profile:work",)
    flagged = effective(Flags(fallback_models=("a", "b")), env)
    assert (flagged.settings.fallback_models, flagged.source("fallback_models")) == (("a", "b"), "flag")
    assert effective(Flags(), env).settings.fallback_after == 10.0


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ('fallback_models = ["profile:nope"]\n[profiles.local]\nmodel = "m"\n', "unknown profile 'nope' .*: local"),
        ('fallback_models = ["profile:"]\n', "names nothing: give a model or profile:NAME"),
        (
            'fallback_models = "gpt-4o-mini"\n',
            r'a list of model names in quotes, like \["gpt-4o-mini", "profile:local"\]',
        ),
        ("fallback_after = -1\n", "fallback_after cannot be negative"),
    ],
)
def test_unusable_fallback_settings_are_config_errors(tmp_path: Path, text: str, problem: str) -> None:
    write_settings(tmp_path, text)
    with pytest.raises(ConfigError, match=problem):
        effective(Flags(), {"INTERPRETER_HOME": str(tmp_path)})


def test_a_fallback_on_the_same_endpoint_uses_the_sessions_key_and_a_profile_only_its_own(tmp_path: Path) -> None:
    write_settings(
        tmp_path,
        '[profiles.own]\napi_base = "http://own/v1"\napi_key = "sk-own"\nmodel = "o"\n'
        '[profiles.keyless]\napi_base = "http://local/v1"\nmodel = "llama3"\n',
    )
    env = {"INTERPRETER_HOME": str(tmp_path), "OPENAI_API_KEY": "sk-openai"}
    session = resolve(Flags(), env)

    same = fallback_settings("gpt-4o-mini", session, env)
    own = fallback_settings("profile:own", session, env)
    keyless = fallback_settings("profile:keyless", session, env)

    assert (same.model, same.api_base, same.api_key) == ("gpt-4o-mini", DEFAULT_API_BASE, "sk-openai")
    assert (own.model, own.api_base, own.api_key) == ("o", "http://own/v1", "sk-own")
    assert (keyless.model, keyless.api_base, keyless.api_key) == ("llama3", "http://local/v1", NO_KEY)
