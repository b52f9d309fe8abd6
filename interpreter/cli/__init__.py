"""The command line: parse flags into Settings, build the objects, run, and map failures to exit codes.

`main` here is the console script: it reads Open Interpreter's flags into ours first (open_interpreter/flags.py), then
hands the rest to Typer. `app` holds the options and commands, `conversations` the `conversations` subcommands,
`import_oi` `config import-oi`, `failures` how a failure becomes one line and an exit code.

At the top with `launch`: may import anything; nothing imports it but `__main__`.
"""

from __future__ import annotations

import gc
import os
import signal
import sys
from types import FrameType
from typing import NoReturn

import typer
from typer.exceptions import TyperException

from interpreter.cli.app import JSON_FLAG, app
from interpreter.cli.failures import EXIT_USAGE, fail
from interpreter.open_interpreter import flags
from interpreter.settings import config
from interpreter.trust import hardening

MODEL_OPTIONS = ("-m", "--model")


def _normalize_resume(argv: list[str]) -> list[str]:
    """Let `--resume` stand alone (meaning the latest conversation) as well as take an ID."""
    following = [*argv[1:], None] if argv else []
    return [
        f"--resume={config.RESUME_LATEST}" if arg == "--resume" and (after is None or after.startswith("-")) else arg
        for arg, after in zip(argv, following, strict=True)
    ]


def _local(args: list[str], *, json: bool) -> list[str]:
    """`args` after the endpoint and model of the first local server that answers (theirs win: they come later);
    one line saying which, or that none answers (exit 2)."""
    from interpreter.model import local_servers  # noqa: PLC0415 - HTTP: only --local asks
    from interpreter.ui.untrusted import visible  # noqa: PLC0415

    servers = local_servers.candidates(os.environ)
    found = local_servers.find(servers)
    if found is None:
        sys.exit(fail(local_servers.none_found(servers), EXIT_USAGE, json=json))
    own_model = any(arg in MODEL_OPTIONS or arg.startswith("--model=") for arg in args)
    model = found.model if not own_model else None
    print(
        f"interpreter: {found.name} answers at {found.api_base}" + (f", with {visible(model)}" if model else ""),
        file=sys.stderr,
    )
    # A local server needs no key, and must not be sent the environment's: NO_KEY unless one is given.
    return ["--api-base", found.api_base, "--api-key", config.NO_KEY, *(["--model", model] if model else []), *args]


def _exit_on_signal(signum: int, frame: FrameType | None) -> NoReturn:
    """Turn SIGTERM/SIGHUP into a normal exit so every `finally` (process cleanup above all) runs."""
    raise SystemExit(128 + signum)


def main(argv: list[str] | None = None) -> NoReturn:
    """Console-script entry point."""
    # First: the key, and a password or key in a URL, leave the process list and environ (under either name).
    secret = ("--api-key", *flags.aliases_of("--api-key"))
    hardening.harden(secret, url_options=("--api-base", *flags.aliases_of("--api-base"), "--rate-limit-store"))
    signal.signal(signal.SIGTERM, _exit_on_signal)
    signal.signal(signal.SIGHUP, _exit_on_signal)
    translation = flags.translate(sys.argv[1:] if argv is None else argv)
    json = JSON_FLAG in translation.args  # what a usage error can still know: the flags were not all understood
    if translation.refusals:
        *others, last = translation.refusals
        for refusal in others:
            fail(refusal, EXIT_USAGE)  # one line each; with --json, the last also ends stdout (its error, the exit)
        sys.exit(fail(last, EXIT_USAGE, json=json))
    args = _normalize_resume(_local(list(translation.args), json=json) if translation.local else list(translation.args))
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
