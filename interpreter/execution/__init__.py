"""Running generated code: persistent per-language workers, with named states, that leave nothing behind.

`Executor` is the entry point; what may outlive a cell, and for how long, is written down in `executor`.

executor     Executor: a kernel per language, and ending them all; `kernel` one language's worker and its states
languages    the one table of languages; `interpreters` which Python runs python cells
worker       a started worker and the parent's ends of its pipes (`done_pipe`, `output`); `process` how it ends
python_worker  the Python worker, run in the person's Python; `node_worker.js` the JavaScript one
figures      figures cells draw, checked and kept as numbered PNG files
supervisor   the tiny parent of each worker that ends its whole process tree; imported alone, with `seccomp` and
             `landlock`, so it needs nothing of the package
sandbox      what `--sandbox` allows, over `bubblewrap`, else `landlock`, with `seccomp`

May import `errors`, `messages`, `trust` and `resilience.diagnostics`; never the model, conversations, the screen
or the session.
"""

from __future__ import annotations

from interpreter.execution.executor import Executor, ExecutorState
from interpreter.execution.kernel import KernelState
from interpreter.execution.languages import LANGUAGES, Language

__all__ = ["LANGUAGES", "Executor", "ExecutorState", "KernelState", "Language"]
