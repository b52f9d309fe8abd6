"""The command line: parse flags into Settings, build the objects, run, and map failures to exit codes.

`main` here is the console script; `app` holds the options and commands, `conversations` the `conversations`
subcommands, `failures` how a failure becomes one line and an exit code.

At the top with `launch`: may import anything; nothing imports it but `__main__`.
"""

from __future__ import annotations

import gc
import signal
import sys
from types import FrameType
from typing import NoReturn

import typer
from typer.exceptions import TyperException

from interpreter.cli.app import JSON_FLAG, app
from interpreter.cli.failures import fail
from interpreter.settings import config
from interpreter.trust import hardening


def _normalize_resume(argv: list[str]) -> list[str]:
    """Let `--resume` stand alone (meaning the latest conversation) as well as take an ID."""
    following = [*argv[1:], None] if argv else []
    return [
        f"--resume={config.RESUME_LATEST}" if arg == "--resume" and (after is None or after.startswith("-")) else arg
        for arg, after in zip(argv, following, strict=True)
    ]


def _exit_on_signal(signum: int, frame: FrameType | None) -> NoReturn:
    """Turn SIGTERM/SIGHUP into a normal exit so every `finally` (process cleanup above all) runs."""
    raise SystemExit(128 + signum)


def main(argv: list[str] | None = None) -> NoReturn:
    """Console-script entry point."""
    # First: the key, and a password or key in a URL, leave the process list and environ.
    hardening.harden(secret_options=("--api-key",), url_options=("--api-base", "--rate-limit-store"))
    signal.signal(signal.SIGTERM, _exit_on_signal)
    signal.signal(signal.SIGHUP, _exit_on_signal)
    args = _normalize_resume(sys.argv[1:] if argv is None else argv)
    json = JSON_FLAG in args  # what a usage error can still know: the flags were not all understood
    try:
        code = app(args=args, prog_name="interpreter", standalone_mode=False)
    except TyperException as exc:  # usage errors: a bad flag, a missing or malformed value
        code = fail(f"{exc.format_message()} (see interpreter --help)", exc.exit_code, json=json)
    except typer.Exit as exc:
        code = exc.exit_code
    except typer.Abort:  # Ctrl-C before a session could catch it
        code = fail("cancelled (Ctrl-C)", 130, json=json)
    # The SDK leaves ~100k long-lived objects; freezing them spares the collector's passes over them at exit (~0.1 s).
    gc.freeze()
    sys.exit(code if isinstance(code, int) else 0)
