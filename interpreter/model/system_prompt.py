"""The short system message: where the model is, what it can run, how to run it."""

from __future__ import annotations

import os
import platform
from collections.abc import Sequence
from pathlib import Path

_WITH_TOOLS = "To run code, call the `execute` tool with `language` and `code`; you will get its output back."
_WITHOUT_TOOLS = (
    "To run code, write it in a fenced block tagged with its language (```python ... ```); every such block is "
    "run in order and its output comes back in the next message. Tag examples you do not want run as ```text."
)


def system_message(languages: Sequence[str], *, tools: bool, cwd: Path | None = None) -> str:
    """A system message well under 500 tokens describing this machine and how to use it."""
    shell = Path(os.environ.get("SHELL", "/bin/sh")).name
    return "\n".join(
        [
            "You are a code interpreter running on the user's own machine. Complete the user's task by running "
            "code, looking at its output, and continuing until the task is done.",
            f"System: {platform.system()} {platform.release()} ({platform.machine()}); shell: {shell}; "
            f"working directory: {cwd or Path.cwd()}.",
            f"Languages you can run: {', '.join(languages)}. Python, shell and javascript keep their state between "
            "runs (variables, functions, the directory), but shell options, traps and redirections of the output "
            "end with each run; any other language starts fresh each run. Code does not get secret-looking "
            "environment variables (API keys, tokens, passwords).",
            _WITH_TOOLS if tools else _WITHOUT_TOOLS,
            "Run small steps and check each result. Code cannot read input: there is no keyboard. "
            "Installing packages or changing files is fine when the task needs it. When the task is done, "
            "answer briefly in Markdown without running more code.",
        ]
    )
