"""steady-interpreter: a terminal code interpreter that stays calm under load.

`from interpreter import Interpreter` is the Python API (see `interpreter.api`). It is imported on first use, so
`import interpreter` (and `interpreter --version`) stays cheap: no SDK, no Rich.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from interpreter.api import Interpreter

__version__ = "0.1.0"
__all__ = ["Interpreter", "__version__"]


def __getattr__(name: str) -> type[Interpreter]:
    """The lazily imported public names."""
    if name == "Interpreter":
        from interpreter.api import Interpreter  # noqa: PLC0415 - the point: only on first use

        return Interpreter
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
