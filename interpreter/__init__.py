"""steady-interpreter: a terminal code interpreter that stays calm under load.

`from interpreter import Interpreter` is the Python API (see `interpreter.api`), the one to use.
`from interpreter import interpreter` is Open Interpreter's, a default session by its names, for the scripts
written for it (see `interpreter.open_interpreter_api`). Both are imported on first use, so `import interpreter`
(and `interpreter --version`) stays cheap: no SDK, no Rich.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from interpreter.api import Interpreter
    from interpreter.open_interpreter_api import OpenInterpreter

    interpreter: OpenInterpreter  # a module attribute named like the package, as Open Interpreter's is

__version__ = "0.1.0"
__all__ = ["Interpreter", "OpenInterpreter", "__version__", "interpreter"]


def __getattr__(name: str) -> type[Interpreter] | type[OpenInterpreter] | OpenInterpreter:
    """The lazily imported public names."""
    if name == "Interpreter":
        from interpreter.api import Interpreter  # noqa: PLC0415 - the point: only on first use

        return Interpreter
    if name in ("interpreter", "OpenInterpreter"):
        from interpreter.open_interpreter_api import OpenInterpreter, default  # noqa: PLC0415 - likewise

        return default() if name == "interpreter" else OpenInterpreter
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
