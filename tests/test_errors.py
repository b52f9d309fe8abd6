"""The exception tree is a leaf: every module may import it, and it imports nothing of the project."""

from __future__ import annotations

import ast
from pathlib import Path

import interpreter.errors


def test_the_exception_tree_imports_nothing_of_the_project() -> None:
    tree = ast.parse(Path(interpreter.errors.__file__).read_text(encoding="utf-8"))
    imported = [node.module or "" for node in ast.walk(tree) if isinstance(node, ast.ImportFrom)]
    imported += [alias.name for node in ast.walk(tree) if isinstance(node, ast.Import) for alias in node.names]
    assert [name for name in imported if name.split(".")[0] == "interpreter"] == []
