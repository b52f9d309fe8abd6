"""The command line: parse flags into Settings, build the objects, run, and map failures to exit codes."""

from __future__ import annotations

import gc
import io
import shutil
import signal
import sys
import traceback
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from types import FrameType
from typing import TYPE_CHECKING, Annotated, Literal, NoReturn, TextIO

import typer
from typer.exceptions import TyperException

from interpreter import __version__, config, hardening
from interpreter.errors import ConfigError, InterpreterError, NoSuchConversation, StorageError

if TYPE_CHECKING:
    from interpreter.conversations import ExportFormat
    from interpreter.storage import ConversationStore

EXIT_USAGE = 2
JSON_FLAG = "--json"
PIPED_WIDTH = 120  # the width lists are fitted to when stdout is not a terminal (and COLUMNS is unset)

app = typer.Typer(
    add_completion=True,  # --install-completion, --show-completion; a few ms of start-up (bench/startup.py)
    rich_markup_mode=None,  # plain help: rich-formatted help costs ~0.2 s of imports
    pretty_exceptions_enable=False,
    context_settings={"help_option_names": ["-h", "--help"]},
)
conversations_app = typer.Typer(
    rich_markup_mode=None,
    context_settings={"help_option_names": ["-h", "--help"]},
)
app.add_typer(conversations_app, name="conversations")

# The connection options, declared once: a session, `config` and `doctor` all take them.
Model = Annotated[
    str | None, typer.Option("-m", "--model", metavar="NAME", help=f"Model name [default: {config.DEFAULT_MODEL}]")
]
ApiBase = Annotated[
    str | None,
    typer.Option("--api-base", metavar="URL", help="API base URL [default: $OPENAI_BASE_URL, else OpenAI's]"),
]
ApiKey = Annotated[str | None, typer.Option("--api-key", metavar="KEY", help="API key [default: $OPENAI_API_KEY]")]
Profile = Annotated[
    str | None,
    typer.Option("--profile", metavar="NAME", help="Use the settings of [profiles.NAME] in the settings file."),
]


def _complete_id(incomplete: str) -> list[str]:
    """Shell completion for a conversation id: the saved ones that start with what was typed, newest first."""
    return [found for found in _store().ids() if found.startswith(incomplete)]


ConversationId = Annotated[
    str, typer.Argument(metavar="ID", help="The conversation's id (see the list).", autocompletion=_complete_id)
]


def _version(value: bool) -> None:
    if value:
        print(f"steady-interpreter {__version__}")
        raise typer.Exit()


@app.callback(invoke_without_command=True)
def interpreter(
    ctx: typer.Context,
    command: Annotated[
        str | None, typer.Option("-c", "--command", metavar="TEXT", help="Do one task, then exit.")
    ] = None,
    model: Model = None,
    api_base: ApiBase = None,
    api_key: ApiKey = None,
    profile: Profile = None,
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
    context_window: Annotated[
        int | None,
        typer.Option(
            "--context-window", metavar="N", min=1, help="Tokens the model accepts [default: known from its name]"
        ),
    ] = None,
    no_tools: Annotated[
        bool, typer.Option("--no-tools", help="Ask for fenced code blocks instead of tool calls.")
    ] = False,
    fallback_model: Annotated[
        list[str] | None,
        typer.Option(
            "--fallback-model",
            metavar="NAME",
            help="Use NAME (or profile:NAME) while the model is rate limited or down; repeat for more, tried in order.",
        ),
    ] = None,
    resume: Annotated[
        str | None,
        typer.Option("--resume", metavar="[ID]", help="Continue the latest conversation, or the one with ID."),
    ] = None,
    copy: Annotated[
        bool,
        typer.Option("--copy", help="With --resume: continue a copy with its own id (the original is left as it is)."),
    ] = False,
    json: Annotated[bool, typer.Option(JSON_FLAG, help="Write one JSON object per event on stdout.")] = False,
    rate_limit_store: Annotated[
        str | None,
        typer.Option(
            "--rate-limit-store",
            metavar="STORE",
            help="Where sessions share the rate-limit budget: sqlite (this machine), redis://HOST:PORT/DB "
            "(several machines) or off [default: sqlite]",
        ),
    ] = None,
    sandbox: Annotated[
        bool,
        typer.Option("--sandbox", help="Let code write only in this directory and the temp dir, with no network."),
    ] = False,
    verbose: Annotated[bool, typer.Option("--verbose", help="Show details of failures.")] = False,
    version: Annotated[
        bool, typer.Option("--version", is_eager=True, callback=_version, help="Print the version and exit.")
    ] = False,
) -> None:
    """A terminal code interpreter: ask for a task, watch the model write code, approve it, see it run.

    With -c TASK, or a task piped on stdin, it does that one task and exits.
    """
    connection = config.Flags(model=model, api_base=api_base, api_key=api_key, profile=profile)
    flags = replace(
        connection,
        auto_run=auto_run,
        max_steps=max_steps,
        no_tools=no_tools,
        verbose=verbose,
        max_retries=max_retries,
        max_wait=max_wait,
        timeout=timeout,
        context_window=context_window,
        json=json,
        rate_limit_store=rate_limit_store,
        sandbox=sandbox,
        fallback_models=tuple(fallback_model) if fallback_model else None,
    )
    if ctx.invoked_subcommand is None:
        raise typer.Exit(_run(flags, command, resume, copy=copy))
    if flags != connection or command is not None or resume is not None or copy:
        only = "only --model, --api-base, --api-key and --profile"
        raise typer.Exit(
            _fail(f"{only} go before `{ctx.invoked_subcommand}`; the other options are for a session", EXIT_USAGE)
        )
    ctx.obj = connection


@app.command("config")
def show_config(
    ctx: typer.Context, model: Model = None, api_base: ApiBase = None, api_key: ApiKey = None, profile: Profile = None
) -> None:
    """Show the settings and where each came from.

    Also the settings file's path and the profile in use; the API key is masked.
    """
    flags = _connection(ctx, model=model, api_base=api_base, api_key=api_key, profile=profile)
    raise typer.Exit(_guarded(lambda: _print_config(flags)))


@app.command()
def doctor(
    ctx: typer.Context, model: Model = None, api_base: ApiBase = None, api_key: ApiKey = None, profile: Profile = None
) -> None:
    """Check that everything a session needs works.

    The endpoint, the key, the model, tool calling, the rate-limit headroom, the languages and the home
    directory; exit 0 when all pass.
    """
    flags = _connection(ctx, model=model, api_base=api_base, api_key=api_key, profile=profile)
    raise typer.Exit(_guarded(lambda: _doctor(flags)))


@conversations_app.callback(invoke_without_command=True)
def conversations(ctx: typer.Context) -> None:
    """List, show, remove or export conversations.

    Without a command, list them.
    """
    if ctx.invoked_subcommand is None:
        raise typer.Exit(_guarded(_list_conversations))


@conversations_app.command("list")
def list_conversations() -> None:
    """List the saved conversations, the most recent first."""
    raise typer.Exit(_guarded(_list_conversations))


@conversations_app.command()
def show(conversation_id: ConversationId) -> None:
    """Print a conversation as a readable transcript."""
    raise typer.Exit(_guarded(lambda: _export(conversation_id, "md", None)))


@conversations_app.command("rm")
def remove(conversation_id: ConversationId) -> None:
    """Delete a saved conversation."""
    raise typer.Exit(_guarded(lambda: _remove(conversation_id)))


@conversations_app.command()
def export(
    conversation_id: ConversationId,
    kind: Annotated[
        Literal["md", "json"],
        typer.Option("--format", "-f", help="md: a Markdown transcript; json: the stored form."),
    ] = "md",
    output: Annotated[
        Path | None, typer.Option("-o", "--output", metavar="FILE", help="Write to FILE [default: stdout]")
    ] = None,
) -> None:
    """Write a conversation as Markdown or JSON, to stdout or a file."""
    raise typer.Exit(_guarded(lambda: _export(conversation_id, kind, output)))


def _connection(
    ctx: typer.Context, *, model: str | None, api_base: str | None, api_key: str | None, profile: str | None
) -> config.Flags:
    """The connection flags of a subcommand, over those given before it (`interpreter -m x doctor`)."""
    before = ctx.obj if isinstance(ctx.obj, config.Flags) else config.Flags()
    return replace(
        before,
        model=model or before.model,
        api_base=api_base or before.api_base,
        api_key=api_key or before.api_key,
        profile=profile or before.profile,
    )


def _run(flags: config.Flags, command: str | None, resume: str | None, *, copy: bool) -> int:
    """Build everything from settings and run; expected failures become one line and an exit code."""
    try:
        if copy and resume is None:
            raise ConfigError("--copy goes with --resume: interpreter --resume ID --copy")
        settings = config.resolve(flags)
        task = _task(command, sys.stdin)
    except ConfigError as exc:
        return _fail(exc, EXIT_USAGE, json=flags.json)
    from interpreter.launch import start  # noqa: PLC0415 - heavy: rich, subprocess machinery

    return _guarded(
        lambda: start(settings, task=task, resume=resume, copy=copy),
        verbose=settings.verbose,
        resuming=bool(resume),
        json=settings.json,
    )


def _task(command: str | None, stdin: TextIO | None) -> str | None:
    """The task: -c's text, else what is piped on stdin; None (an interactive session) when stdin is a terminal."""
    if command is not None:
        if not command.strip():
            raise ConfigError("-c needs a task, e.g. interpreter -c 'list the files here'")
        return command
    if stdin is not None and stdin.isatty():
        return None
    if isinstance(stdin, io.TextIOWrapper):
        stdin.reconfigure(errors="replace")  # a task in another encoding (Latin-1) still arrives, with U+FFFD
    text = stdin.read().strip() if stdin is not None else ""
    if not text:
        raise ConfigError("stdin is not a terminal and holds no task: pipe one in, or use -c TASK")
    return text


def _print_config(flags: config.Flags) -> int:
    """Print the effective settings table."""
    from interpreter.settings_table import settings_table  # noqa: PLC0415 - only this command needs it

    print(settings_table(config.effective(flags)))
    return 0


def _doctor(flags: config.Flags) -> int:
    """Run the doctor's checks with the effective settings."""
    settings = config.effective(flags).settings  # no key is a finding of the doctor, not a reason to stop
    from interpreter.doctor import run  # noqa: PLC0415 - heavy: the SDK, the executor

    return run(settings)


def _store() -> ConversationStore:
    """The conversations under the home directory."""
    from interpreter.storage import ConversationStore  # noqa: PLC0415 - keep --help and --version fast

    return ConversationStore(config.home_dir() / "conversations")


def _list_conversations() -> int:
    """Print the saved conversations, newest first, fitted to the terminal's width."""
    from interpreter.conversations import listing  # noqa: PLC0415 - only this command needs it

    store = _store()
    summaries = store.summaries()
    if not summaries:
        print(f"no conversations in {store.folder}")
    else:
        print(listing(summaries, shutil.get_terminal_size(fallback=(PIPED_WIDTH, 24)).columns))
    return 0


def _export(conversation_id: str, kind: ExportFormat, output: Path | None) -> int:
    """Print a conversation in `kind`, or write it to `output`."""
    from interpreter.conversations import export, write  # noqa: PLC0415 - only these commands need it
    from interpreter.ui.untrusted import json_escaped, visible  # noqa: PLC0415

    text = export(_store().load(conversation_id), kind)
    if output is None:
        print(json_escaped(text) if kind == "json" else visible(text), end="")
    else:
        write(text, output)
    return 0


def _remove(conversation_id: str) -> int:
    """Delete a conversation and say so."""
    _store().delete(conversation_id)
    print(f"removed conversation {conversation_id}")
    return 0


def _guarded(
    action: Callable[[], int], *, verbose: bool | None = None, resuming: bool = False, json: bool = False
) -> int:
    """Run `action`; an expected failure becomes one line and its exit code, and so does a bug.

    `verbose` is the --verbose of a session (None for a command without one): a bug's traceback is shown with it.
    `json`: the session's stdout carries JSON lines, and a failure that escapes it ends them (error, then exit).
    """
    try:
        return action()
    except InterpreterError as exc:
        return _fail(exc, _exit_code(exc, resuming=resuming), json=json)
    except BrokenPipeError:  # the reader left early (`| head`): Typer quiets stdout and exits 1, as tools do
        raise
    except Exception as exc:  # a bug
        if verbose:
            traceback.print_exc()
        hint = " (run with --verbose for details)" if verbose is False else ""
        return _fail(f"internal error: {exc!r}{hint}", 1, json=json)


def _exit_code(error: InterpreterError, *, resuming: bool) -> int:
    """2 for what the person can fix in the command or the settings (a conversation to resume too), 1 for the rest."""
    usage = isinstance(error, ConfigError | NoSuchConversation) or (resuming and isinstance(error, StorageError))
    return EXIT_USAGE if usage else 1


def _fail(problem: object, code: int, *, json: bool = False) -> int:
    """Print one line about what went wrong on stderr, and with `json` end stdout with error and exit lines."""
    if not json:
        from interpreter.ui.untrusted import visible  # noqa: PLC0415 - only a failure needs it

        print(f"interpreter: {visible(str(problem))}", file=sys.stderr)  # through the gate: it may quote a server
        return code
    from interpreter.ui.jsonl import JsonLinesRenderer  # noqa: PLC0415 - only a failure with --json needs it

    lines = JsonLinesRenderer(sys.stdout)
    lines.error(str(problem))  # the same line on stderr too, through the gate
    lines.exit(code)
    return code


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
    hardening.harden(secret_options=("--api-key",))  # first: the key leaves the process list and environ
    signal.signal(signal.SIGTERM, _exit_on_signal)
    signal.signal(signal.SIGHUP, _exit_on_signal)
    args = _normalize_resume(sys.argv[1:] if argv is None else argv)
    json = JSON_FLAG in args  # what a usage error can still know: the flags were not all understood
    try:
        code = app(args=args, prog_name="interpreter", standalone_mode=False)
    except TyperException as exc:  # usage errors: a bad flag, a missing or malformed value
        code = _fail(f"{exc.format_message()} (see interpreter --help)", exc.exit_code, json=json)
    except typer.Exit as exc:
        code = exc.exit_code
    except typer.Abort:  # Ctrl-C before a session could catch it
        code = _fail("cancelled (Ctrl-C)", 130, json=json)
    # The SDK leaves ~100k long-lived objects; freezing them spares the collector's passes over them at exit (~0.1 s).
    gc.freeze()
    sys.exit(code if isinstance(code, int) else 0)
