"""The %commands of an interactive session: one table of name, arguments, help line and handler.

A handler gets the argument text and a CommandContext holding the few collaborators commands act on; it reports
with the renderer and raises CommandError (one line, the session goes on) when it cannot do what was asked.
Commands never reach the model.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

from interpreter.conversation import storage
from interpreter.conversation.conversations import cut
from interpreter.conversation.storage import Conversation
from interpreter.conversation.transcript import to_markdown
from interpreter.errors import CommandError
from interpreter.model.instructions import Told
from interpreter.open_interpreter.lmc import read_conversation
from interpreter.resilience.durations import format_wait
from interpreter.trust.regular_files import size_text
from interpreter.ui import viewer
from interpreter.ui.words import counted, dollars

if TYPE_CHECKING:
    from interpreter.conversation.storage import ConversationStore
    from interpreter.messages import Message
    from interpreter.model.pictures import Attached
    from interpreter.model.spending import Spending
    from interpreter.resilience.limiter import Headroom
    from interpreter.resilience.model import Traffic
    from interpreter.session import Session
    from interpreter.ui import Renderer
    from interpreter.ui.approval import Approver

PREFIX = "%"
RECENT = 10  # conversations %conversations lists


class Metered(Protocol):
    """What the API traffic costs and how much rate-limit budget is left (the resilient model)."""

    @property
    def traffic(self) -> Traffic:
        """What the requests so far cost."""
        ...

    def headroom(self) -> list[Headroom]:
        """The rate limits as last seen."""
        ...

    def sharing(self) -> str:
        """Who shares the rate-limit budget."""
        ...


class SandboxSwitch(Protocol):
    """Whether cells run in the sandbox, and the switch (the executor)."""

    @property
    def sandboxed(self) -> bool:
        """Whether cells run in the sandbox."""
        ...

    def set_sandboxed(self, on: bool) -> None:
        """Sandbox the cells from now on, or stop; the language processes restart."""
        ...


class Models(Protocol):
    """The models requests go to (the fallback chain): `model` is the one in use; setting it names the one asked for."""

    model: str

    def fallbacks(self) -> list[str]:
        """The fallback models and any model now busy, one line each; [] when none are set."""
        ...


def no_wire() -> str:
    """The API line of `%model`, where none is known: nothing."""
    return ""


def no_figures(number: int) -> Path | None:
    """Figure `number`, when figures are not kept (the home cannot be written): none."""
    return None


def no_pictures(path: Path) -> Attached:
    """Attaching a picture, where the session takes none: CommandError."""
    raise CommandError("pictures cannot be attached in this session")


@dataclass(frozen=True)
class CommandContext:
    """The collaborators a command may act on; nothing else reaches a handler."""

    session: Session
    renderer: Renderer
    approver: Approver
    store: ConversationStore
    api: Metered
    chat: Models
    replay: Callable[[list[Message]], None]  # shows a conversation's earlier turns, as --resume does
    restart: Callable[[], None]  # ends the language processes: variables, imports and background jobs go
    sandbox: SandboxSwitch
    save: Callable[[Conversation], None]  # keeps a conversation: in the home, else where the session says it goes
    find_figure: Callable[[int], Path | None] = no_figures  # figure N of this conversation, if kept
    wire: Callable[[], str] = no_wire  # the API the model is asked on, why, and the reasoning effort
    spending: Spending | None = None  # what the requests cost, and the cap (None: not counted)
    told: Told = field(default_factory=Told)  # the standing text the model is told besides the conversation
    attach: Callable[[Path], Attached] = no_pictures  # checks a picture and sends it with the next task


Handler = Callable[[CommandContext, str], None]


@dataclass(frozen=True)
class Command:
    """One %command: its name, what it takes, one line of help, and what it does."""

    name: str
    arguments: str
    help: str
    run: Handler


def is_command(line: str) -> bool:
    """Whether the person typed a %command rather than a task."""
    return line.lstrip().startswith(PREFIX)


def names() -> list[str]:
    """Every command as typed, `%help` first: the words the prompt completes."""
    return [command.name for command in COMMANDS]


def run(line: str, context: CommandContext) -> None:
    """Run one %command line; CommandError (or another InterpreterError) when it cannot."""
    name, _, argument = line.strip().partition(" ")
    command = next((command for command in COMMANDS if command.name == name.lower()), None)
    if command is None:
        raise CommandError(f"unknown command {name}: %help lists the commands")
    command.run(context, argument.strip())


# ---- the handlers ------------------------------------------------------------------------------------


def _help(context: CommandContext, argument: str) -> None:
    """List the commands, one line each."""
    width = max(len(f"{command.name} {command.arguments}") for command in COMMANDS)
    for command in COMMANDS:
        context.renderer.info(f"{command.name} {command.arguments}".ljust(width + 2) + command.help)


def _reset(context: CommandContext, argument: str) -> None:
    """Begin a new conversation with new language processes; the old conversation stays saved."""
    old = context.session.conversation
    new = Conversation.new(context.chat.model)
    context.session.switch(new)
    context.restart()
    kept = f"; {old.id} stays saved" if old.messages else ""
    context.renderer.info(f"new conversation {new.id}{kept}; code runs in new processes (earlier variables are gone)")


def _undo(context: CommandContext, argument: str) -> None:
    """Drop the last exchange and say what it was."""
    dropped = context.session.undo()
    if not dropped:
        raise CommandError("nothing to undo")
    after = len(dropped) - 1
    rest = f" and the {counted(after, 'message')} after it" if after else ""
    context.renderer.info(f"dropped the last exchange: {_first_line(dropped[0].content)!r}{rest}")


def _save(context: CommandContext, argument: str) -> None:
    """Write the conversation to a file: Markdown for FILE.md, else the stored JSON."""
    if not argument:
        raise CommandError("usage: %save FILE (FILE.md for a Markdown transcript)")
    path = Path(argument).expanduser()
    conversation = context.session.conversation
    markdown = path.suffix.lower() == ".md"
    if markdown:
        _write_markdown(conversation, path)
    else:
        storage.write(conversation, path)
    what = "a Markdown transcript" if markdown else "JSON"
    context.renderer.info(f"saved {counted(len(conversation.messages), 'message')} to {path} as {what}")


def _load(context: CommandContext, argument: str) -> None:
    """Go on with a conversation saved by %save (or by Open Interpreter), as a new conversation."""
    if not argument:
        raise CommandError("usage: %load FILE (a conversation saved with %save, or by Open Interpreter)")
    path = Path(argument).expanduser()
    loaded = read_conversation(path, context.chat.model)
    conversation = Conversation.new(loaded.model)
    conversation.messages = [message for message in loaded.messages if message.role != "system"]
    context.save(conversation)
    context.session.switch(conversation)
    context.replay(conversation.messages)
    count = counted(len(conversation.messages), "message")
    context.renderer.info(f"loaded {count} from {path} as conversation {conversation.id}")
    if loaded.repaired:
        context.renderer.info(loaded.repair_note())


def _tokens(context: CommandContext, argument: str) -> None:
    """Tokens in the context now, tokens the server reported for this session, and the rate-limit headroom."""
    window = context.session.window
    estimate = context.session.context_tokens()
    trimmed = " (older parts are trimmed when sent)" if estimate > window.budget else ""
    source = window.window.source
    context.renderer.info(f"context now: ~{estimate:,} of {window.tokens:,} tokens ({window.model}: {source}){trimmed}")
    context.renderer.info(f"this session: {_usage(context.api.traffic)}")
    if context.spending is not None:
        context.renderer.info(f"spent: {_spent(context.spending)}")
    context.renderer.info(f"rate limits: {_headroom(context.api.headroom())}")
    context.renderer.info(f"shared budget: {context.api.sharing()}")


def _model(context: CommandContext, argument: str) -> None:
    """Show the model in use and any fallbacks, or name another model for the following requests."""
    if argument:
        context.chat.model = argument
    window = context.session.window.window.describe()
    when = " from the next request" if argument else ""
    context.renderer.info(f"model: {context.chat.model}{when}, context window {window}")
    if wire := context.wire():
        context.renderer.info(f"API: {wire}")
    for line in context.chat.fallbacks():
        context.renderer.info(line)


def _auto_run(context: CommandContext, argument: str) -> None:
    """Run code without asking, or ask again."""
    context.approver.auto_run = _on_off(argument, "%auto-run", current=context.approver.auto_run)
    context.renderer.info(f"auto-run: {_word(context.approver.auto_run)}")


def _verbose(context: CommandContext, argument: str) -> None:
    """Show details (step numbers, the causes behind a failure), or stop showing them."""
    context.renderer.verbose = _on_off(argument, "%verbose", current=context.renderer.verbose)
    context.renderer.info(f"verbose: {_word(context.renderer.verbose)}")


def _sandbox(context: CommandContext, argument: str) -> None:
    """Run the cells in the sandbox, or not; a change starts new language processes."""
    was = context.sandbox.sandboxed
    context.sandbox.set_sandboxed(_on_off(argument, "%sandbox", current=was))  # SandboxUnavailable: one line
    now = context.sandbox.sandboxed
    if now == was:
        context.renderer.info(f"sandbox: {_word(now)}")
    elif now:
        context.renderer.info(
            "sandbox: on; code writes only in this directory and the temp directory, and has no network "
            "(it runs in new processes: earlier variables are gone)"
        )
    else:
        context.renderer.info("sandbox: off (code runs in new processes: earlier variables are gone)")


def _open(context: CommandContext, argument: str) -> None:
    """Open figure N of this conversation with the system viewer."""
    if not argument.isdigit():
        raise CommandError("usage: %open N (the number of a figure, as in [figure N: ...])")
    path = context.find_figure(int(argument))
    if path is None:
        raise CommandError(f"no figure {int(argument)} in this conversation")
    context.renderer.info(f"opening {path} with {Path(viewer.open_file(path)).name}")


def _conversations(context: CommandContext, argument: str) -> None:
    """The most recent saved conversations: id, date, first line."""
    summaries = context.store.summaries()[:RECENT]
    if not summaries:
        context.renderer.info("no saved conversations yet")
    for summary in summaries:
        current = "*" if summary.id == context.session.conversation.id else " "
        first = _first_line(summary.first_line) if summary.readable else "(cannot be read)"
        context.renderer.info(f"{current} {summary.id}  {summary.updated:%Y-%m-%d %H:%M}  {first}")


def _instructions(context: CommandContext, argument: str) -> None:
    """Every piece of standing text the model is told besides the conversation, each with its size, then the text."""
    pieces = context.told.pieces()
    total = size_text(sum(piece.size for piece in pieces))
    context.renderer.info(f"the model is told {counted(len(pieces), 'piece')} ({total}) before the conversation:")
    for piece in pieces:
        context.renderer.info(f"--- {piece.heading()} ---")
        context.renderer.info(piece.text.strip())  # the renderer shows it through the gate: a file's text
    project = context.told.project
    if project is None:
        context.renderer.info("AGENTS.md files: not read (project_instructions = false)")
    elif not project.files:
        context.renderer.info(f"AGENTS.md files: none from {project.root} down to here")
    for line in project.skipped if project is not None else ():
        context.renderer.info(line)


def _image(context: CommandContext, argument: str) -> None:
    """Attach a picture to the next task."""
    if not argument:
        raise CommandError("usage: %image FILE (a PNG, JPEG, GIF or WebP picture, sent with your next task)")
    attached = context.attach(Path(argument).expanduser())
    context.renderer.info(attached.line)
    if attached.note:
        context.renderer.info(attached.note)


COMMANDS: tuple[Command, ...] = (
    Command("%help", "", "list these commands", _help),
    Command("%reset", "", "start a new conversation and new language processes (this one stays saved)", _reset),
    Command("%undo", "", "drop the last exchange: your last task and all after it", _undo),
    Command("%save", "FILE", "save as JSON, or as a Markdown transcript if FILE ends in .md", _save),
    Command("%load", "FILE", "continue a conversation saved with %save (or by Open Interpreter)", _load),
    Command(
        "%tokens", "", "tokens in the context, used this session; the rate-limit budget and who shares it", _tokens
    ),
    Command("%model", "[NAME]", "show the model (and fallbacks), or use NAME for the following requests", _model),
    Command("%auto-run", "on|off", "run code without asking (on) or ask first (off)", _auto_run),
    Command("%sandbox", "on|off", "code writes only here and in the temp dir, with no network (on), or not", _sandbox),
    Command("%verbose", "on|off", "show step numbers, failure details and the API log as it happens", _verbose),
    Command("%conversations", "", f"the {RECENT} most recent saved conversations", _conversations),
    Command("%open", "N", "open figure N of this conversation with the system viewer", _open),
    Command("%instructions", "", "everything the model is told besides the conversation, with sizes", _instructions),
    Command("%image", "FILE", "attach a picture (PNG, JPEG, GIF, WebP) to your next task", _image),
)


# ---- helpers -----------------------------------------------------------------------------------------


def _write_markdown(conversation: Conversation, path: Path) -> None:
    """Write the conversation's Markdown transcript to `path`; CommandError naming the file when that fails."""
    try:
        path.write_text(to_markdown(conversation), encoding="utf-8")
    except OSError as exc:
        raise CommandError(f"cannot write {path}: {exc.strerror or exc}") from exc


def _on_off(argument: str, command: str, *, current: bool) -> bool:
    """True for "on", False for "off", `current` when nothing was given; CommandError otherwise."""
    choice = argument.lower()
    if choice in ("on", "off"):
        return choice == "on"
    if choice:
        raise CommandError(f"usage: {command} on|off")
    return current


def _word(on: bool) -> str:
    return "on" if on else "off"


def _usage(traffic: Traffic) -> str:
    """`2 requests, 1,200 prompt + 80 completion tokens (server's count)`."""
    if not traffic.requests:
        return "no requests yet"
    reported = f"{traffic.prompt_tokens:,} prompt + {traffic.completion_tokens:,} completion tokens"
    return f"{counted(traffic.requests, 'request')}, {reported} (server's count)"


def _spent(spending: Spending) -> str:
    """`2 requests · 2,580 tokens · $0.0073`, and this task's spending against the cap when there is one."""
    line = spending.session.line() if spending.session.requests else "nothing yet"
    if spending.cap is None:
        return line
    return f"{line}; this task {dollars(spending.task.cost)} of --max-cost {dollars(spending.cap)}"


def _headroom(limits: list[Headroom]) -> str:
    """`499/500 RPM, 29,000/30,000 TPM left (seen 3.0s ago)`: the limits as the last headers left them."""
    if not limits:
        return "not known yet (no rate-limit headers seen)"
    left = ", ".join(f"{limit.remaining:,}/{limit.limit:,} {limit.label}" for limit in limits)
    age = min(limit.age for limit in limits)
    return f"{left} left (seen {format_wait(age)} ago)"


def _first_line(text: str, width: int = 60) -> str:
    """The first line of `text`, cut to `width` terminal cells."""
    return cut(text.strip().split("\n", 1)[0], width)
