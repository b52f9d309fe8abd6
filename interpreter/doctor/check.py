"""One line of the doctor's report (`Check`) and how it came out (`Status`)."""

from __future__ import annotations

import enum
from dataclasses import dataclass


class Status(enum.Enum):
    """How a check came out."""

    OK = "ok"
    FAILED = "failed"
    SKIPPED = "skipped"  # not checked: it needs something an earlier check found broken


@dataclass(frozen=True)
class Check:
    """One line of the report: what was checked, how it came out, the facts, and the fix when it failed."""

    name: str
    status: Status
    detail: str
    fix: str = ""
