"""Which environment variables cells get."""

from __future__ import annotations

import pytest

from interpreter.environment import cell_environment, is_withheld, withheld_names


@pytest.mark.parametrize(
    "name",
    [
        "OPENAI_API_KEY",
        "OPENAI_BASE_URL",
        "OPENAI_ORG_ID",
        "AWS_SECRET_ACCESS_KEY",
        "GITHUB_TOKEN",
        "PGPASSWORD",
        "ssh_key_path",
        "my_Secret",
        "npm_token",
    ],
)
def test_secret_looking_names_are_withheld(name: str) -> None:
    assert is_withheld(name)


@pytest.mark.parametrize("name", ["PATH", "HOME", "LANG", "LC_ALL", "USER", "SHELL", "TMPDIR", "TERM", "VIRTUAL_ENV"])
def test_everyday_names_pass(name: str) -> None:
    assert not is_withheld(name)


def test_pass_env_lets_named_variables_and_patterns_through() -> None:
    environ = {"PATH": "/bin", "OPENAI_API_KEY": "sk", "GITHUB_TOKEN": "gh", "AWS_SECRET_ACCESS_KEY": "aws"}
    assert cell_environment(environ) == {"PATH": "/bin"}
    assert cell_environment(environ, ["GITHUB_TOKEN", "AWS_*"]) == {
        "PATH": "/bin",
        "GITHUB_TOKEN": "gh",
        "AWS_SECRET_ACCESS_KEY": "aws",
    }
    assert withheld_names(environ, ["GITHUB_TOKEN"]) == ["AWS_SECRET_ACCESS_KEY", "OPENAI_API_KEY"]
