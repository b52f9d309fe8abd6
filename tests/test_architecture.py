"""The house: ARCHITECTURE.md matches the code, every package says what it holds, and imports point one way."""

from __future__ import annotations

import ast
import graphlib
import re
import subprocess
import sys
from collections.abc import Iterator
from functools import cache
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = ROOT / "interpreter"

# The modules a reader meets first, which put the packages together; no package may import one of them.
ENTRY = frozenset({"api", "cli", "commands", "launch", "repl", "session", "__main__", "interpreter"})

# What each package may import of the tool besides itself: a bare name allows all of that package or module, a
# dotted one that module alone. Everything not listed points upward, or sideways into a cycle.
ALLOWED: dict[str, frozenset[str]] = {
    "trust": frozenset({"errors"}),  # the bottom: everything else may import it
    "settings": frozenset(
        {
            "errors",
            "trust",
            # Where the shared budget is kept is a setting, checked with the others at every start; its parser lives
            # beside the stores it names, light so that reading the settings imports no store.
            "resilience.shared.setting",
        }
    ),
    "execution": frozenset(
        {
            "errors",
            "messages",
            "trust",
            "resilience.diagnostics",  # the name of the diagnostics log, told which secrets cells do not get
        }
    ),
    "model": frozenset(
        {
            "errors",
            "messages",
            "trust",
            "settings",  # below the model: a setting's values (which API a model is asked on)
            "resilience.bodies",  # the adapter reads a server's error body the way the retry policy does
            "resilience.diagnostics",  # the name of the diagnostics log the adapter writes what the server sent to
            "resilience.limiter",  # the context window is measured in the limiter's token estimates
            "execution.figures",  # a figure a cell drew is sent as an image part
            "ui.words",  # what was trimmed, told in counted words ("3 older code outputs shortened")
            "conversation.locks",  # the remembered API switches are written as conversations are
        }
    ),
    "resilience": frozenset(
        {
            "errors",
            "messages",
            "trust",
            "settings.directories",  # the diagnostics log is a private file under the home
            "model.llm",  # the ChatModel protocol, which ResilientModel wraps and is
            "model.context",  # its Named protocol: the fallback chain switches the model by name
            "model.vision",  # the limiter estimates an image part's tokens
            "ui.words",
        }
    ),
    "conversation": frozenset(
        {
            "errors",
            "messages",
            "trust",
            "settings.directories",  # its words for a failed file operation ("read-only file system")
            "model.tool",  # a transcript shows a call of the execute tool as the code it ran
            "resilience.diagnostics",  # the name of the diagnostics log, told of a torn last line dropped on reading
            "ui.untrusted",  # a listing shows titles the model wrote: through the one gate
            "ui.words",
        }
    ),
    "ui": frozenset(
        {
            "errors",
            "messages",
            "trust",
            "settings.directories",  # its words for a failed file operation, and the private history file
            "resilience.durations",  # waits are shown as the retry policy words them ("3.7s")
            "resilience.diagnostics",  # the name of the diagnostics log a failed redraw is written to
            "doctor.check",  # the checklist draws the doctor's report lines (a value)
        }
    ),
    # Open Interpreter's flags, profiles and conversations, translated into settings and messages of ours.
    "open_interpreter": frozenset(
        {"errors", "messages", "trust", "settings", "conversation", "ui.untrusted", "ui.words"}
    ),
    # The doctor looks at everything below the session; only the command line imports it (and ui.checklist its
    # report line, a value).
    "doctor": frozenset({"errors", "messages", "trust", "settings", "execution", "resilience", "model", "ui"}),
}
# Each library the tool depends on, and the only modules that import it.
LIBRARIES: dict[str, frozenset[str]] = {
    "openai": frozenset({"model"}),  # so SDK errors can be translated in the model adapters alone
    "httpx2": frozenset({"model", "doctor.probe", "doctor.api"}),  # under the SDK; the doctor's own plain requests
    "genai_prices": frozenset({"model.price_list"}),  # ~150 ms to import: only off the main thread, once asked
    "typer": frozenset({"cli"}),
    "prompt_toolkit": frozenset({"ui.prompt"}),
    "tenacity": frozenset({"resilience"}),
    "redis": frozenset({"resilience.shared.redis"}),  # imported only when that store is chosen
    "rich": frozenset({"ui", "conversation.conversations"}),  # the listing aligns titles by their width in cells
}
# The values at the bottom, imported by everything.
LEAVES = ("errors", "messages")
# session.py holds one conversation's loop and the protocols it needs: no terminal, no processes, no wiring.
SESSION_NEVER = frozenset({"ui", "execution", "cli", "commands", "launch", "repl", "api"})


def _module_name(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


@cache
def _modules() -> dict[str, Path]:
    return {_module_name(path): path for path in sorted(PACKAGE.rglob("*.py"))}


def _resolve(name: str) -> str:
    """The module an imported dotted name is found in: the longest prefix that is one of ours."""
    parts = name.split(".")
    for end in range(len(parts), 0, -1):
        if (candidate := ".".join(parts[:end])) in _modules():
            return candidate
    raise AssertionError(f"{name} is not a module of the tool")


@cache
def _imported(module: str) -> frozenset[str]:
    """Every module of the tool `module` imports, at the top, in a function or for type checking alike."""
    found: set[str] = set()
    tree = ast.parse(_modules()[module].read_text())
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found |= {_resolve(alias.name) for alias in node.names if alias.name.split(".")[0] == "interpreter"}
        elif isinstance(node, ast.ImportFrom):
            assert node.level == 0, f"{module} imports relatively; the rules here read absolute imports"
            if node.module and node.module.split(".")[0] == "interpreter":
                found |= {_resolve(f"{node.module}.{alias.name}") for alias in node.names}
    return frozenset(found - {module})


@cache
def _libraries(module: str) -> frozenset[str]:
    """The top-level names of everything else `module` imports (`openai`, `os`)."""
    names: set[str] = set()
    for node in ast.walk(ast.parse(_modules()[module].read_text())):
        if isinstance(node, ast.Import):
            names |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module.split(".")[0])
    return frozenset(names - {"interpreter"})


def _unit(module: str) -> str:
    """The package or top-level module a module belongs to: `interpreter.model.llm` -> `model`."""
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else parts[0]


def _imports_of(unit: str) -> Iterator[tuple[str, str]]:
    """(module, what it imports) for every import of another unit by a module of `unit`."""
    for module in _modules():
        if _unit(module) == unit:
            yield from ((module, target) for target in sorted(_imported(module)) if _unit(target) != unit)


def _allowed(target: str, allowed: frozenset[str]) -> bool:
    dotted = target.removeprefix("interpreter.")
    return any(dotted == name or dotted.startswith(f"{name}.") for name in allowed)


def _named_paths(text: str) -> Iterator[tuple[str, Path]]:
    """Each path ARCHITECTURE.md names in backticks, resolved: from the repository's root when it starts with one of
    the root's entries, else from the folder its section's heading names (`interpreter/model/`)."""
    roots = {entry.name for entry in ROOT.iterdir()}
    base = ROOT
    for line in text.splitlines():
        if line.startswith("#"):
            base = ROOT
        for token in re.findall(r"`([^`\s]+)`", line):
            if token.split("/")[0] in roots:
                path = ROOT / token
            elif re.search(r"(\.py|\.js|/)$", token):
                path = base / token
            else:
                continue
            yield token, path
            if line.startswith("#") and token.endswith("/"):
                base = path  # the section's folder, until the next heading


def test_every_path_architecture_md_names_exists() -> None:
    named = list(_named_paths((ROOT / "ARCHITECTURE.md").read_text()))
    assert [token for token, path in named if not path.exists()] == []
    assert len(named) > 50  # the code map names the important files, not only the packages


def test_architecture_md_names_every_package() -> None:
    named = {path for _, path in _named_paths((ROOT / "ARCHITECTURE.md").read_text())}
    packages = {init.parent for init in PACKAGE.rglob("__init__.py")}
    assert sorted(str(package.relative_to(ROOT)) for package in packages - named) == []


@pytest.mark.parametrize("init", sorted(PACKAGE.rglob("__init__.py")), ids=_module_name)
def test_every_package_says_what_it_holds(init: Path) -> None:
    docstring = ast.get_docstring(ast.parse(init.read_text()))
    assert docstring, f"{init.relative_to(ROOT)} has no docstring"
    if _unit(_module_name(init)) in ALLOWED and init.parent.parent == PACKAGE:
        assert "May import" in docstring, "a package's docstring says what it may import"


@pytest.mark.parametrize("unit", sorted(ALLOWED))
def test_no_package_imports_an_entry_module(unit: str) -> None:
    assert [(module, target) for module, target in _imports_of(unit) if _unit(target) in ENTRY] == []


@pytest.mark.parametrize("unit", sorted(ALLOWED))
def test_each_package_imports_only_what_lies_below_it(unit: str) -> None:
    upward = [(module, target) for module, target in _imports_of(unit) if not _allowed(target, ALLOWED[unit])]
    assert upward == []


@pytest.mark.parametrize("library", sorted(LIBRARIES))
def test_each_library_is_imported_only_where_it_belongs(library: str) -> None:
    importers = {module for module in _modules() if library in _libraries(module)}
    assert importers, f"nothing imports {library}: the rule is stale"
    assert sorted(module for module in importers if not _allowed(module, LIBRARIES[library])) == []


def test_the_values_at_the_bottom_import_nothing_of_the_tool() -> None:
    assert {leaf: sorted(_imported(f"interpreter.{leaf}")) for leaf in LEAVES} == {leaf: [] for leaf in LEAVES}


def test_the_session_neither_draws_nor_runs_code_nor_wires() -> None:
    assert sorted(target for target in _imported("interpreter.session") if _unit(target) in SESSION_NEVER) == []


def test_no_module_imports_itself_round_a_cycle() -> None:
    graph = {module: _imported(module) for module in _modules()}
    graphlib.TopologicalSorter(graph).prepare()  # raises CycleError naming the cycle


def test_the_supervisor_imports_alone_without_the_package_or_typing(tmp_path: Path) -> None:
    # The supervisor starts as `python -E -s -S` with only its own folder on the path, once per worker: it must not
    # need the package, and typing, signal and enum would add ~14 ms to every start (supervisor.py says why).
    code = (
        "import sys; sys.path.insert(0, sys.argv[1]); import supervisor, seccomp, landlock; "
        "print(sorted(name for name in ('interpreter', 'typing', 'signal', 'enum') if name in sys.modules))"
    )
    folder = str(PACKAGE / "execution")
    result = subprocess.run(
        [sys.executable, "-E", "-s", "-S", "-c", code, folder],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        check=False,
    )
    assert (result.returncode, result.stderr, result.stdout) == (0, "", "[]\n")
