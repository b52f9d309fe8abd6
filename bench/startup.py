"""Start-up and one-task speed, as ratios measured in one run.

    python bench/startup.py [--runs N]

Prints medians for `interpreter --version` and `--help` against `python -c "import typer"`, and for one
`interpreter -c` task (two requests, one python cell) against the loopback fake server, against
`python -c "import openai"`. Targets: --version within 1.5x of `import typer`; the task within 1.5x of `import openai`.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))

from fake_server import FakeServer, Reply  # the fake lives with the tests
from measure import median_seconds, report


def timed(command: list[str], before: Callable[[], None] = lambda: None) -> Callable[[], object]:
    """An action that runs `command` to its end, after `before` (which scripts the fake server)."""

    def action() -> object:
        before()
        return subprocess.run(command, check=True, capture_output=True, stdin=subprocess.DEVNULL)

    return action


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=7)
    runs = parser.parse_args().runs
    interpreter = shutil.which("interpreter")
    if interpreter is None:
        sys.exit("bench: the `interpreter` command is not installed (see README)")
    python = sys.executable
    os.environ["INTERPRETER_HOME"] = tempfile.mkdtemp(prefix="bench-home-")

    typer = median_seconds(timed([python, "-c", "import typer"]), runs)
    report("interpreter --version", median_seconds(timed([interpreter, "--version"]), runs), "import typer", typer, 1.5)
    report("interpreter --help", median_seconds(timed([interpreter, "--help"]), runs), "import typer", typer, 1.5)

    with FakeServer() as server:

        def script() -> None:
            server.enqueue(Reply.tool_call("python", "print(6*7)"), Reply.text("The answer is 42."))

        task = [interpreter, "-c", "compute 6*7 in python", "-y", "--api-base", server.url, "--api-key", "x"]
        openai = median_seconds(timed([python, "-c", "import openai"]), runs)
        report(
            "interpreter -c (1 cell)", median_seconds(timed(task, before=script), runs), "import openai", openai, 1.5
        )


if __name__ == "__main__":
    main()
