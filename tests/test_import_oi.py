"""`interpreter config import-oi`: Open Interpreter's profiles as [profiles.NAME] of the settings file.

The profiles are written as Open Interpreter 0.4.x wrote them (profiles/defaults/default.yaml of
OpenInterpreter/open-interpreter: `llm:` and its keys, commented settings, `version`), in its folder
(`platformdirs.user_config_dir("open-interpreter")/profiles`, under a private XDG_CONFIG_HOME here).
"""

from __future__ import annotations

import os
import stat
import subprocess
import tomllib
from pathlib import Path

import pytest
from fake_server import FakeServer

from interpreter.errors import ConfigError
from interpreter.open_interpreter.profiles import translate
from interpreter.settings.settings_file import read_file, write_profiles

DEFAULT_YAML = """\
### OPEN INTERPRETER CONFIGURATION FILE

llm:
  model: "gpt-4o-mini"
  api_base: "{api_base}"
  api_key: "sk-from-yaml-0123456789"
  temperature: 0
  context_window: 16000
  max_tokens: 4096
  supports_functions: false
# safe_mode: "off"
custom_instructions: "Answer in French."
auto_run: true
offline: true
version: 0.2.5  # Profile version (do not modify)
"""


# ---- the translation ----------------------------------------------------------------------------------------


def test_each_key_maps_to_its_setting_or_is_left_out_with_a_word() -> None:
    document: dict[object, object] = {
        "llm": {
            "model": "gpt-4o",
            "api_base": "http://localhost:1234/v1",
            "api_key": "sk-1",
            "context_window": 8000,
            "max_budget": 2,
            "supports_functions": False,
            "supports_vision": True,
            "max_tokens": 1000,
            "temperature": 0.2,
        },
        "custom_instructions": "Be brief.",
        "auto_run": True,
        "max_output": 2800,
        "system_message": "You are...",
        "computer": {"import_computer_api": True},
        "multi_line": True,
        "version": "0.2.5",
    }

    imported = translate("work", document)

    assert imported.values == {
        "model": "gpt-4o",
        "api_base": "http://localhost:1234/v1",
        "api_key": "sk-1",
        "context_window": 8000,
        "max_cost": 2.0,
        "tools": False,
        "images": True,
        "instructions": "Be brief.",
        "auto_run": True,
        "output_cap": 2800,
    }
    assert dict(imported.left_out) == {
        "llm.max_tokens": "a reply is as long as the model makes it",
        "llm.temperature": "the model's own temperature is used",
        "system_message": "the tool's own system message stays; custom_instructions are told after it",
        "computer": "its computer API has no counterpart",
        "multi_line": "no counterpart here",
        "version": "its profile format's version",
    }
    assert ("custom_instructions", "instructions") in imported.mapped


def test_a_key_is_left_out_where_the_settings_file_may_not_hold_one() -> None:
    imported = translate("p", {"llm": {"model": "m", "api_key": "sk-1"}}, keys_allowed=False)
    assert imported.values == {"model": "m"}
    assert imported.left_out == (
        ("llm.api_key", "the settings file can be read by others: chmod 600 it, then import again"),
    )


def test_values_of_the_wrong_type_or_empty_are_left_out() -> None:
    imported = translate("p", {"llm": {"context_window": "big", "api_base": None, "model": ""}, "auto_run": "yes"})
    assert imported.values == {}
    assert dict(imported.left_out) == {
        "llm.context_window": "not a whole number",
        "llm.api_base": "empty",
        "llm.model": "empty",
        "auto_run": "not true or false",
    }


@pytest.mark.parametrize(
    ("llm", "values", "said"),
    [
        (
            {"model": "ollama/llama3"},
            {"model": "llama3", "api_base": "http://localhost:11434/v1"},
            "model (without LiteLLM's ollama/ prefix; api_base http://localhost:11434/v1)",
        ),
        (
            {"model": "ollama_chat/qwen3", "api_base": "http://gpu:11434/"},
            {"model": "qwen3", "api_base": "http://gpu:11434/v1"},
            "model (without LiteLLM's ollama_chat/ prefix; api_base http://gpu:11434/v1)",
        ),
        (
            {"model": "openai/local-model", "api_base": "http://localhost:1234/v1"},
            {"model": "local-model", "api_base": "http://localhost:1234/v1"},
            "model (without LiteLLM's openai/ prefix; api_base http://localhost:1234/v1)",
        ),
        (
            {"model": "openrouter/anthropic/claude-sonnet-4"},
            {"model": "anthropic/claude-sonnet-4", "api_base": "https://openrouter.ai/api/v1"},
            "model (without LiteLLM's openrouter/ prefix; api_base https://openrouter.ai/api/v1)",
        ),
        ({"model": "openai/gpt-4o"}, {"model": "gpt-4o"}, "model (without LiteLLM's openai/ prefix)"),
        ({"model": "gpt-4o"}, {"model": "gpt-4o"}, "model"),
    ],
)
def test_litellm_s_provider_prefix_is_read_as_the_endpoint(
    llm: dict[object, object], values: dict[str, object], said: str
) -> None:
    imported = translate("p", {"llm": llm})
    assert imported.values == values
    assert imported.mapped[0] == ("llm.model", said)


def test_an_api_base_that_is_no_url_is_left_out() -> None:
    imported = translate("p", {"llm": {"api_base": "localhost:1234/v1"}})
    assert imported.values == {}
    assert imported.left_out == (("llm.api_base", "not an http:// or https:// URL"),)


# ---- writing into the settings file ---------------------------------------------------------------------------


def test_a_new_settings_file_is_the_person_s_alone(tmp_path: Path) -> None:
    path = tmp_path / "home" / "config.toml"
    write_profiles(path, {"default": {"model": "gpt-4o-mini", "auto_run": True, "max_cost": 0.5}})
    assert path.read_text() == '[profiles.default]\nmodel = "gpt-4o-mini"\nauto_run = true\nmax_cost = 0.5\n'
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700


def test_the_rest_of_the_file_stays_as_written_and_a_profile_is_replaced_whole(tmp_path: Path) -> None:
    path = tmp_path / "config.toml"
    path.write_text(
        '# mine\nmodel = "x"  # keep this\n\n[profiles.default]\nmodel = "old"\n'
        '[profiles.default.models."m"]\ncontext_window = 5\n\n# the work profile\n[profiles.work]\nmodel = "w"\n'
    )
    path.chmod(0o644)

    write_profiles(path, {"default": {"model": "new"}})

    assert path.read_text() == (
        '# mine\nmodel = "x"  # keep this\n\n\n# the work profile\n[profiles.work]\nmodel = "w"\n\n'
        '[profiles.default]\nmodel = "new"\n'
    )
    assert stat.S_IMODE(path.stat().st_mode) == 0o644  # its mode kept: it holds no key


def test_strings_and_names_are_escaped_and_read_back_the_same(tmp_path: Path) -> None:
    path = tmp_path / "config.toml"
    text = 'Say "hi" \\ then\nnew line\ttab \x01 é 日本'
    write_profiles(path, {"my box": {"instructions": text, "fallback_models": ("a", 'b"')}})
    assert read_file(path).profiles == {"my box": {"instructions": text, "fallback_models": ("a", 'b"')}}
    assert '[profiles."my box"]' in path.read_text()


def test_a_profile_set_otherwise_than_by_its_table_is_not_touched(tmp_path: Path) -> None:
    path = tmp_path / "config.toml"
    before = '[profiles]\ndefault = { model = "inline" }\n'
    path.write_text(before)
    path.chmod(0o600)
    with pytest.raises(ConfigError, match=r"cannot write \[profiles\] into .*: edit it by hand"):
        write_profiles(path, {"default": {"model": "new"}})
    assert path.read_text() == before


def test_a_linked_settings_file_stays_a_link(tmp_path: Path) -> None:
    target = tmp_path / "dotfiles" / "config.toml"
    target.parent.mkdir()
    target.write_text('model = "x"\n')
    target.chmod(0o600)
    link = tmp_path / "config.toml"
    link.symlink_to(target)
    write_profiles(link, {"p": {"model": "y"}})
    assert link.is_symlink() and read_file(link).profiles == {"p": {"model": "y"}}


# ---- the whole program ----------------------------------------------------------------------------------------


@pytest.fixture
def oi_folder(tmp_path: Path) -> Path:
    """Open Interpreter's profiles folder under a private XDG_CONFIG_HOME."""
    folder = tmp_path / "xdg" / "open-interpreter" / "profiles"
    folder.mkdir(parents=True)
    return folder


def run(command: list[str], *args: str, tmp_path: Path) -> subprocess.CompletedProcess[str]:
    """The installed command with the private XDG_CONFIG_HOME."""
    env = {**os.environ, "XDG_CONFIG_HOME": str(tmp_path / "xdg")}
    return subprocess.run(
        [*command, *args], capture_output=True, text=True, env=env, cwd=tmp_path, timeout=60, check=False
    )


def test_an_imported_default_profile_is_used_with_its_model_base_and_instructions(
    interpreter_command: list[str], oi_folder: Path, private_home: Path, server: FakeServer, tmp_path: Path
) -> None:
    (oi_folder / "default.yaml").write_text(DEFAULT_YAML.format(api_base=server.url))
    (oi_folder / "os.py").write_text("interpreter.os = True\n")  # its Python profiles are not looked at

    imported = run(interpreter_command, "config", "import-oi", tmp_path=tmp_path)

    assert imported.returncode == 0, imported.stderr
    assert imported.stdout.splitlines() == [
        "default.yaml -> [profiles.default]",
        "  mapped: llm.model as model, llm.api_base as api_base, llm.api_key as api_key, llm.context_window as "
        "context_window, llm.supports_functions as tools, custom_instructions as instructions, auto_run as auto_run",
        "  left out: llm.temperature (the model's own temperature is used); llm.max_tokens (a reply is as long as "
        "the model makes it); offline (there is nothing online to turn off); version (its profile format's version)",
        f"written to {private_home / 'config.toml'}",
    ]
    shown = run(interpreter_command, "config", "--profile", "default", tmp_path=tmp_path).stdout
    assert "\ninstructions          Answer in French.            profile default\n" in shown
    assert f"\napi_base              {server.url}" in shown

    session = run(interpreter_command, "--profile", "default", "-c", "hi", tmp_path=tmp_path)

    assert session.returncode == 0, session.stderr
    (request,) = server.requests
    assert (request.model, request.headers["authorization"]) == ("gpt-4o-mini", "Bearer sk-from-yaml-0123456789")
    assert "tools" not in request.body  # type: ignore[operator]  # supports_functions: false


def test_a_profile_there_already_is_replaced_only_with_force(
    interpreter_command: list[str], oi_folder: Path, private_home: Path, tmp_path: Path
) -> None:
    (oi_folder / "default.yaml").write_text("llm:\n  model: first\n")
    assert run(interpreter_command, "config", "import-oi", tmp_path=tmp_path).returncode == 0
    (oi_folder / "default.yaml").write_text("llm:\n  model: second\n")
    before = (private_home / "config.toml").read_text()

    refused = run(interpreter_command, "config", "import-oi", tmp_path=tmp_path)

    assert refused.returncode == 2 and refused.stdout == ""
    assert refused.stderr == (
        f"interpreter: {oi_folder / 'default.yaml'}: the settings file has a profile 'default' already: "
        "--force replaces it\n"
    )
    assert (private_home / "config.toml").read_text() == before

    forced = run(interpreter_command, "config", "import-oi", "--force", tmp_path=tmp_path)

    assert forced.returncode == 0, forced.stderr
    assert forced.stdout.startswith("default.yaml -> [profiles.default] (replaced)\n")
    assert tomllib.loads((private_home / "config.toml").read_text()) == {"profiles": {"default": {"model": "second"}}}


def test_a_python_profile_is_refused_and_the_others_imported(
    interpreter_command: list[str], private_home: Path, tmp_path: Path
) -> None:
    (tmp_path / "local.py").write_text("interpreter.llm.model = 'ollama/llama3'\n")
    (tmp_path / "fast.yaml").write_text("llm:\n  model: gpt-4o-mini\n")

    result = run(interpreter_command, "config", "import-oi", "local.py", "fast.yaml", tmp_path=tmp_path)

    assert result.returncode == 2
    assert result.stderr == (
        "interpreter: local.py is a Python profile, which runs code: it is not run here (copy its settings by hand)\n"
    )
    assert result.stdout.startswith("fast.yaml -> [profiles.fast]\n")
    assert read_file(private_home / "config.toml").profiles == {"fast": {"model": "gpt-4o-mini"}}


def test_no_profiles_to_import_is_one_line(interpreter_command: list[str], oi_folder: Path, tmp_path: Path) -> None:
    result = run(interpreter_command, "config", "import-oi", tmp_path=tmp_path)
    assert result.returncode == 2
    assert result.stderr == (
        f"interpreter: no Open Interpreter profiles (.yaml) in {oi_folder}: name them, "
        "interpreter config import-oi FILE\n"
    )


def test_a_profile_that_is_not_yaml_is_one_line(interpreter_command: list[str], tmp_path: Path) -> None:
    (tmp_path / "bad.yaml").write_text("llm: [unclosed\n")
    result = run(interpreter_command, "config", "import-oi", "bad.yaml", tmp_path=tmp_path)
    assert result.returncode == 2
    assert result.stderr.startswith("interpreter: bad.yaml is not valid YAML: ")
    assert len(result.stderr.splitlines()) == 1
