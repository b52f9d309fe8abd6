"""Which environment variables cells get, and that an executor gives them only those."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from interpreter.execution import Executor
from interpreter.messages import RunResult
from interpreter.trust.environment import cell_environment, is_withheld, withheld_names


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
        "INTERPRETER_HOME",
        "INTERPRETER_RATE_LIMIT_STORE",
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


def test_an_executor_gives_its_cells_and_their_supervisor_the_environment_without_secrets() -> None:
    environ = {"PATH": os.environ["PATH"], "OPENAI_API_KEY": "sk-secret", "MY_TOKEN": "tok", "PASSED_KEY": "ok"}
    code = "import os\nparent = open(f'/proc/{os.getppid()}/environ').read()\nprint(sorted(os.environ), parent)"
    with Executor(environ=environ, pass_env=["PASSED_*"]) as executor:
        result = list(executor.run("python", code))[-1]
    assert isinstance(result, RunResult)
    assert "'OPENAI_API_KEY'" not in result.output and "'MY_TOKEN'" not in result.output
    assert "'PASSED_KEY'" in result.output and "'PATH'" in result.output
    supervisor = result.output.split("] ", 1)[1]
    assert "sk-secret" not in supervisor and "MY_TOKEN" not in supervisor and "PASSED_KEY=ok" in supervisor


def test_cells_do_not_get_the_tools_home_nor_its_store(tmp_path: Path) -> None:
    home = tmp_path / "tool-home"
    environ = {
        "PATH": os.environ["PATH"],
        "INTERPRETER_HOME": str(home),
        "INTERPRETER_RATE_LIMIT_STORE": "redis://:pw@h",
    }
    code = "import os\nprint([name for name, value in os.environ.items() if 'tool-home' in value or ':pw@' in value])"
    with Executor(environ=environ) as executor:
        result = list(executor.run("python", code))[-1]
    assert isinstance(result, RunResult)
    assert result.output == "[]\n"
    assert withheld_names(environ) == ["INTERPRETER_HOME", "INTERPRETER_RATE_LIMIT_STORE"]
