"""The command line: parse flags into Settings, build the objects, run, and map failures to exit codes."""

from __future__ import annotations

import gc
import signal
import sys
import traceback
from types import FrameType
from typing import Annotated, NoReturn

import typer
from typer.exceptions import TyperException

from interpreter import __version__, config
from interpreter.errors import ConfigError, InterpreterError, StorageError

EXIT_USAGE = 2

app = typer.Typer(
    add_completion=False,
    rich_markup_mode=None,  # plain help: rich-formatted help costs ~0.2 s of imports
    pretty_exceptions_enable=False,
    context_settings={"help_option_names": ["-h", "--help"]},
    help="A terminal code interpreter: ask for a task, watch the model write code, approve it, see it run.",
)


def _version(value: bool) -> None:
    if value:
        print(f"steady-interpreter {__version__}")
        raise typer.Exit()


@app.command()
def interpreter(
    command: Annotated[
        str | None, typer.Option("-c", "--command", metavar="TEXT", help="Do one task, then exit.")
    ] = None,
    model: Annotated[
        str | None,
        typer.Option("-m", "--model", metavar="NAME", help=f"Model name [default: {config.DEFAULT_MODEL}]"),
    ] = None,
    api_base: Annotated[
        str | None,
        typer.Option("--api-base", metavar="URL", help="API base URL [default: $OPENAI_BASE_URL, else OpenAI's]"),
    ] = None,
    api_key: Annotated[
        str | None, typer.Option("--api-key", metavar="KEY", help="API key [default: $OPENAI_API_KEY]")
    ] = None,
    auto_run: Annotated[bool, typer.Option("-y", "--auto-run", help="Run code without asking.")] = False,
    max_steps: Annotated[
        int | None,
        typer.Option(
            "--max-steps",
            metavar="N",
            min=1,
            help=f"Model-to-code round trips per task [default: {config.DEFAULT_MAX_STEPS}]",
        ),
    ] = None,
    max_retries: Annotated[
        int | None,
        typer.Option(
            "--max-retries",
            metavar="N",
            min=0,
            help=f"Retries of a failed API request [default: {config.DEFAULT_MAX_RETRIES}]",
        ),
    ] = None,
    max_wait: Annotated[
        float | None,
        typer.Option(
            "--max-wait",
            metavar="SECONDS",
            min=0,
            help=f"Most time spent waiting to retry one request [default: {config.DEFAULT_MAX_WAIT:g}]",
        ),
    ] = None,
    timeout: Annotated[
        float | None,
        typer.Option("--timeout", metavar="SECONDS", help="Stop a cell that runs longer than this [default: none]"),
    ] = None,
    no_tools: Annotated[
        bool, typer.Option("--no-tools", help="Ask for fenced code blocks instead of tool calls.")
    ] = False,
    resume: Annotated[
        str | None,
        typer.Option("--resume", metavar="[ID]", help="Continue the latest conversation, or the one with ID."),
    ] = None,
    verbose: Annotated[bool, typer.Option("--verbose", help="Show details of failures.")] = False,
    version: Annotated[
        bool, typer.Option("--version", is_eager=True, callback=_version, help="Print the version and exit.")
    ] = False,
) -> None:
    """A terminal code interpreter: ask for a task, approve the model's code, see it run. -c does one task."""
    flags = config.Flags(
        model=model,
        api_base=api_base,
        api_key=api_key,
        auto_run=auto_run,
        max_steps=max_steps,
        no_tools=no_tools,
        verbose=verbose,
        max_retries=max_retries,
        max_wait=max_wait,
        timeout=timeout,
    )
    raise typer.Exit(_run(flags, command, resume))


def _run(flags: config.Flags, task: str | None, resume: str | None) -> int:
    """Build everything from settings and run; expected failures become one line and an exit code."""
    try:
        settings = config.resolve(flags)
        if task is not None and not task.strip():
            raise ConfigError("-c needs a task, e.g. interpreter -c 'list the files here'")
    except ConfigError as exc:
        return _fail(exc, EXIT_USAGE)
    from interpreter import llm  # noqa: PLC0415 - keep --help and --version fast

    llm.warm_up()
    from interpreter.launch import start  # noqa: PLC0415 - heavy: rich, subprocess machinery

    try:
        return start(settings, task=task, resume=resume)
    except StorageError as exc:
        return _fail(exc, EXIT_USAGE if resume else 1)
    except ConfigError as exc:
        return _fail(exc, EXIT_USAGE)
    except InterpreterError as exc:
        return _fail(exc, 1)
    except Exception as exc:  # a bug: one line, and the details only with --verbose
        if settings.verbose:
            traceback.print_exc()
        return _fail(f"internal error: {exc!r} (run with --verbose for details)", 1)


def _fail(problem: object, code: int) -> int:
    """Print one line about what went wrong on stderr; returns the exit code."""
    print(f"interpreter: {problem}", file=sys.stderr)
    return code


def _normalize_resume(argv: list[str]) -> list[str]:
    """Let `--resume` stand alone (meaning the latest conversation) as well as take an ID."""
    following = [*argv[1:], None]
    return [
        f"--resume={config.RESUME_LATEST}" if arg == "--resume" and (after is None or after.startswith("-")) else arg
        for arg, after in zip(argv, following, strict=True)
    ]


def _exit_on_signal(signum: int, frame: FrameType | None) -> NoReturn:
    """Turn SIGTERM/SIGHUP into a normal exit so every `finally` (process cleanup above all) runs."""
    raise SystemExit(128 + signum)


def main(argv: list[str] | None = None) -> NoReturn:
    """Console-script entry point."""
    signal.signal(signal.SIGTERM, _exit_on_signal)
    signal.signal(signal.SIGHUP, _exit_on_signal)
    args = _normalize_resume(sys.argv[1:] if argv is None else argv)
    try:
        code = app(args=args, prog_name="interpreter", standalone_mode=False)
    except TyperException as exc:  # usage errors: a bad flag, a missing or malformed value
        code = _fail(f"{exc.format_message()} (see interpreter --help)", exc.exit_code)
    except typer.Exit as exc:
        code = exc.exit_code
    except typer.Abort:
        code = 130
    # The SDK leaves ~100k long-lived objects; freezing them spares the collector's passes over them at exit (~0.1 s).
    gc.freeze()
    sys.exit(code if isinstance(code, int) else 0)
