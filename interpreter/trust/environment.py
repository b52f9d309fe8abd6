"""Which environment variables are secrets, and the environment cells get: this process's, without them.

The rule follows codex's `shell_environment_policy` default excludes (`*KEY*`, `*SECRET*`, `*TOKEN*`, matched
without regard to case), adding `*PASSWORD*`, every `OPENAI_*` variable (the tool's own settings, the key and
the endpoint among them) and every `INTERPRETER_*` one (`INTERPRETER_HOME` names the folder of the settings file,
the conversations and the shared budget; `INTERPRETER_RATE_LIMIT_STORE` may hold a Redis password).
The setting `pass_env` names variables (or shell-style patterns) that cells get anyway.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from fnmatch import fnmatchcase

SECRET_WORDS = ("KEY", "SECRET", "TOKEN", "PASSWORD")
OWN_PREFIXES = ("OPENAI_", "INTERPRETER_")


def is_withheld(name: str) -> bool:
    """Whether the variable `name` is kept from cells unless `pass_env` names it."""
    upper = name.upper()
    return upper.startswith(OWN_PREFIXES) or any(word in upper for word in SECRET_WORDS)


def is_passed(name: str, pass_env: Collection[str]) -> bool:
    """Whether `pass_env` names the variable `name`, exactly or by a pattern such as `AWS_*`."""
    return any(fnmatchcase(name, pattern) for pattern in pass_env)


def cell_environment(environ: Mapping[str, str], pass_env: Collection[str] = ()) -> dict[str, str]:
    """`environ` without the withheld variables, except those `pass_env` names."""
    return {name: value for name, value in environ.items() if not is_withheld(name) or is_passed(name, pass_env)}


def withheld_names(environ: Mapping[str, str], pass_env: Collection[str] = ()) -> list[str]:
    """The names of the variables of `environ` that cells do not get, sorted."""
    return sorted(environ.keys() - cell_environment(environ, pass_env).keys())
