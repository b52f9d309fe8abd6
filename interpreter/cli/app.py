"""The Typer app: the session's options (the main command), `config` and `doctor`; each body parses and reports."""

from __future__ import annotations

import io
import sys
from dataclasses import replace
from pathlib import Path
from typing import Annotated, TextIO

import typer

from interpreter import __version__
from interpreter.cli.conversations import conversations_app
from interpreter.cli.failures import EXIT_USAGE, fail, guarded
from interpreter.errors import ConfigError
from interpreter.settings import config

JSON_FLAG = "--json"

app = typer.Typer(
    add_completion=True,  # --install-completion, --show-completion; a few ms of start-up (bench/startup.py)
    rich_markup_mode=None,  # plain help: rich-formatted help costs ~0.2 s of imports
    pretty_exceptions_enable=False,
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
Api = Annotated[
    str | None,
    typer.Option(
        "--api",
        metavar="API",
        help="The API requests go on: chat (Chat Completions), responses, or auto (Responses where the model needs "
        "it) [default: auto]",
    ),
]
Profile = Annotated[
    str | None,
    typer.Option("--profile", metavar="NAME", help="Use the settings of [profiles.NAME] in the settings file."),
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
    max_cost: Annotated[
        float | None,
        typer.Option(
            "--max-cost",
            metavar="USD",
            help="Stop a task before a request would take its spending past this many dollars [default: none]",
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
    output_cap: Annotated[
        int | None,
        typer.Option(
            "--output-cap",
            metavar="CHARS",
            help=f"Characters of a cell's output the model gets (head and tail) [default: {config.DEFAULT_OUTPUT_CAP}]",
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
    api: Api = None,
    reasoning_effort: Annotated[
        str | None,
        typer.Option(
            "--reasoning-effort",
            metavar="EFFORT",
            help=f"How hard a reasoning model thinks: {', '.join(config.EFFORTS)} [default: the model's own]",
        ),
    ] = None,
    instructions: Annotated[
        str | None,
        typer.Option(
            "--instructions", metavar="TEXT", help="Standing instructions for the model, told after the tool's own."
        ),
    ] = None,
    no_project_instructions: Annotated[
        bool,
        typer.Option("--no-project-instructions", help="Do not tell the model the AGENTS.md files found here."),
    ] = False,
    image: Annotated[
        list[Path] | None,
        typer.Option(
            "-i",
            "--image",
            metavar="FILE",
            help="Attach a picture (PNG, JPEG, GIF, WebP) to the task; repeat for more.",
        ),
    ] = None,
    resume: Annotated[
        str | None,
        typer.Option(
            "--resume",
            metavar="[ID|FILE]",
            help="Continue the latest conversation, the one with ID, or the one in FILE (a path, or a .json file; "
            "Open Interpreter's too) as a new conversation.",
        ),
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
    connection = config.Flags(model=model, api_base=api_base, api_key=api_key, profile=profile, api=api)
    flags = replace(
        connection,
        auto_run=auto_run,
        max_steps=max_steps,
        max_cost=max_cost,
        no_tools=no_tools,
        verbose=verbose,
        max_retries=max_retries,
        max_wait=max_wait,
        timeout=timeout,
        context_window=context_window,
        output_cap=output_cap,
        json=json,
        rate_limit_store=rate_limit_store,
        sandbox=sandbox,
        fallback_models=tuple(fallback_model) if fallback_model else None,
        reasoning_effort=reasoning_effort,
        instructions=instructions,
        no_project_instructions=no_project_instructions,
    )
    if ctx.invoked_subcommand is None:
        raise typer.Exit(_run(flags, command, resume, copy=copy, images=image or []))
    if flags != connection or command is not None or resume is not None or copy or image:
        only = "only --model, --api-base, --api-key, --api and --profile"
        raise typer.Exit(
            fail(f"{only} go before `{ctx.invoked_subcommand}`; the other options are for a session", EXIT_USAGE)
        )
    ctx.obj = connection


config_app = typer.Typer(rich_markup_mode=None, context_settings={"help_option_names": ["-h", "--help"]})
app.add_typer(config_app, name="config")


@config_app.callback(invoke_without_command=True)
def show_config(
    ctx: typer.Context,
    model: Model = None,
    api_base: ApiBase = None,
    api_key: ApiKey = None,
    profile: Profile = None,
    api: Api = None,
) -> None:
    """Show the settings and where each came from.

    Also the settings file's path and the profile in use; the API key is masked.
    """
    if ctx.invoked_subcommand is None:
        flags = _connection(ctx, model=model, api_base=api_base, api_key=api_key, profile=profile, api=api)
        raise typer.Exit(guarded(lambda: _print_config(flags)))


@config_app.command("import-oi")
def import_oi(
    files: Annotated[
        list[Path] | None,
        typer.Argument(metavar="FILE", help="Profiles to import [default: every .yaml in its profiles folder]"),
    ] = None,
    force: Annotated[bool, typer.Option("--force", help="Replace a profile of the same name.")] = False,
) -> None:
    """Import Open Interpreter's profiles as [profiles.NAME] of the settings file.

    Says what each key became and what was left out; a profile already there is replaced only with --force.
    """
    from interpreter.cli.import_oi import import_profiles  # noqa: PLC0415 - only this command needs it

    raise typer.Exit(guarded(lambda: import_profiles(files or [], force=force)))


@app.command()
def doctor(
    ctx: typer.Context,
    model: Model = None,
    api_base: ApiBase = None,
    api_key: ApiKey = None,
    profile: Profile = None,
    api: Api = None,
) -> None:
    """Check that everything a session needs works.

    The endpoint, the API in use, the key, the model, tool calling (on that API), the rate-limit headroom, the
    languages and the home directory; exit 0 when all pass.
    """
    flags = _connection(ctx, model=model, api_base=api_base, api_key=api_key, profile=profile, api=api)
    raise typer.Exit(guarded(lambda: _doctor(flags)))


def _connection(
    ctx: typer.Context,
    *,
    model: str | None,
    api_base: str | None,
    api_key: str | None,
    profile: str | None,
    api: str | None,
) -> config.Flags:
    """The connection flags of a subcommand, over those given before it (`interpreter -m x doctor`)."""
    before = ctx.obj if isinstance(ctx.obj, config.Flags) else config.Flags()
    return replace(
        before,
        model=model or before.model,
        api_base=api_base or before.api_base,
        api_key=api_key or before.api_key,
        profile=profile or before.profile,
        api=api or before.api,
    )


def _run(flags: config.Flags, command: str | None, resume: str | None, *, copy: bool, images: list[Path]) -> int:
    """Build everything from settings and run; expected failures become one line and an exit code."""
    try:
        if copy and resume is None:
            raise ConfigError("--copy goes with --resume: interpreter --resume ID --copy")
        settings = config.resolve(flags)
        task = _task(command, sys.stdin)
    except ConfigError as exc:
        return fail(exc, EXIT_USAGE, json=flags.json)
    from interpreter.launch import start  # noqa: PLC0415 - heavy: rich, subprocess machinery

    return guarded(
        lambda: start(settings, task=task, resume=resume, copy=copy, images=images),
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
    from interpreter.model.instructions import listing  # noqa: PLC0415 - only this command needs them
    from interpreter.settings.directories import working_directory  # noqa: PLC0415
    from interpreter.settings.settings_table import settings_table  # noqa: PLC0415
    from interpreter.ui.untrusted import visible  # noqa: PLC0415

    effective = config.effective(flags)
    print(settings_table(effective))
    print("\n" + visible("\n".join(listing(effective.settings, working_directory()))))  # names of files found
    return 0


def _doctor(flags: config.Flags) -> int:
    """Run the doctor's checks with the effective settings."""
    settings = config.effective(flags).settings  # no key is a finding of the doctor, not a reason to stop
    from interpreter.doctor import run  # noqa: PLC0415 - heavy: the SDK, the executor

    return run(settings)
