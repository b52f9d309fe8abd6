"""Running generated code: persistent per-language workers that leave nothing behind."""

from __future__ import annotations

from interpreter.execution.executor import Executor
from interpreter.execution.languages import LANGUAGES, Language

__all__ = ["LANGUAGES", "Executor", "Language"]
