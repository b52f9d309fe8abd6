"""`interpreter conversations`: list, show, remove or export the saved conversations."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Literal

import typer

from interpreter.cli.failures import guarded
from interpreter.settings import config

if TYPE_CHECKING:
    from interpreter.conversation.conversations import ExportFormat
    from interpreter.conversation.storage import ConversationStore

PIPED_WIDTH = 120  # the width lists are fitted to when stdout is not a terminal (and COLUMNS is unset)

conversations_app = typer.Typer(
    rich_markup_mode=None,
    context_settings={"help_option_names": ["-h", "--help"]},
)


def _complete_id(incomplete: str) -> list[str]:
    """Shell completion for a conversation id: the saved ones that start with what was typed, newest first."""
    return [found for found in _store().ids() if found.startswith(incomplete)]


ConversationId = Annotated[
    str, typer.Argument(metavar="ID", help="The conversation's id (see the list).", autocompletion=_complete_id)
]


@conversations_app.callback(invoke_without_command=True)
def conversations(ctx: typer.Context) -> None:
    """List, show, remove or export conversations.

    Without a command, list them.
    """
    if ctx.invoked_subcommand is None:
        raise typer.Exit(guarded(_list_conversations))


@conversations_app.command("list")
def list_conversations() -> None:
    """List the saved conversations, the most recent first."""
    raise typer.Exit(guarded(_list_conversations))


@conversations_app.command()
def show(conversation_id: ConversationId) -> None:
    """Print a conversation as a readable transcript."""
    raise typer.Exit(guarded(lambda: _export(conversation_id, "md", None)))


@conversations_app.command("rm")
def remove(conversation_id: ConversationId) -> None:
    """Delete a saved conversation."""
    raise typer.Exit(guarded(lambda: _remove(conversation_id)))


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
    raise typer.Exit(guarded(lambda: _export(conversation_id, kind, output)))


def _store() -> ConversationStore:
    """The conversations under the home directory."""
    from interpreter.conversation.storage import ConversationStore  # noqa: PLC0415 - keep --help and --version fast

    return ConversationStore(config.home_dir() / "conversations")


def _list_conversations() -> int:
    """Print the saved conversations, newest first, fitted to the terminal's width."""
    from interpreter.conversation.conversations import listing  # noqa: PLC0415 - only this command needs it

    store = _store()
    summaries = store.summaries()
    if not summaries:
        print(f"no conversations in {store.folder}")
    else:
        print(listing(summaries, shutil.get_terminal_size(fallback=(PIPED_WIDTH, 24)).columns))
    return 0


def _export(conversation_id: str, kind: ExportFormat, output: Path | None) -> int:
    """Print a conversation in `kind`, or write it to `output`."""
    from interpreter.conversation.conversations import export, write  # noqa: PLC0415 - only these commands need it
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
