"""Running generated code: persistent per-language workers, with named states, that leave nothing behind.

`Executor` is the entry point; what may outlive a cell, and for how long, is written down in `executor`.
"""

from __future__ import annotations

from interpreter.execution.executor import Executor, ExecutorState
from interpreter.execution.kernel import KernelState
from interpreter.execution.languages import LANGUAGES, Language

__all__ = ["LANGUAGES", "Executor", "ExecutorState", "KernelState", "Language"]
