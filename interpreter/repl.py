"""Driving a session from the terminal: one task (`-c`) or the interactive prompt loop, with Ctrl-C semantics."""

from __future__ import annotations

import traceback
from collections.abc import Callable, Generator, Iterable
from typing import TYPE_CHECKING

from interpreter.commands import is_command
from interpreter.errors import CommandError, FileRefused, InterpreterError, exit_status
from interpreter.messages import CodeProposed, Event, Message, TextDelta, TurnEnded
from interpreter.model import tool
from interpreter.trust.redaction import redact_text
from interpreter.ui.interrupts import CtrlC

if TYPE_CHECKING:
    from interpreter.session import Session
    from interpreter.ui import Renderer
    from interpreter.ui.prompt import Prompter

EXIT_OK = 0
EXIT_USAGE = 2
EXIT_MAX_STEPS = 3  # a limit the person set stopped the task: --max-steps, or --max-cost
EXIT_CANCELLED = 130
_LEAVE = frozenset({"exit", "quit", "exit()", "quit()"})


def run_task(session: Session, renderer: Renderer, task: str, ctrl_c: CtrlC, command: Callable[[str], None]) -> int:
    """Work on one task, or run one %command, and return the exit status for `-c`."""
    if is_command(task):
        return _command_status(command, task, renderer)
    try:
        ended = _show(session.send(task), renderer, ctrl_c)
    except KeyboardInterrupt:
        renderer.info("cancelled (Ctrl-C)")
        return EXIT_CANCELLED
    except InterpreterError as exc:
        _report(exc, renderer)
        return exit_status(exc)  # 2 for a setting the server refused, 3 for --max-cost
    return EXIT_MAX_STEPS if ended is not None and ended.reason == "max_steps" else EXIT_OK


def run_interactive(
    session: Session, renderer: Renderer, prompter: Prompter, ctrl_c: CtrlC, command: Callable[[str], None]
) -> int:
    """Prompt for tasks and %commands until exit/quit/Ctrl-D; a failed or cancelled one returns to the prompt."""
    while True:
        try:
            task = prompter.read_task()
        except KeyboardInterrupt:
            continue  # Ctrl-C at the prompt clears the line
        if task is None or leaving(task):
            return EXIT_OK
        if is_command(task):
            _command(command, task, renderer)
        elif task.strip():
            _attempt(session, renderer, task, ctrl_c)


def leaving(task: str) -> bool:
    """Whether the person typed a word that ends the session (exit, quit) rather than a task."""
    return task.strip().lower() in _LEAVE


def replay(messages: Iterable[Message], renderer: Renderer) -> None:
    """Show the earlier turns of a resumed conversation: the person's tasks, the model's text and code."""
    for message in messages:
        if message.is_task:  # not the outputs of fenced code sent back as user messages
            renderer.info(f"> {message.content}")
        elif message.role == "assistant":
            _replay_assistant(message, renderer)
    renderer.stop()


def _replay_assistant(message: Message, renderer: Renderer) -> None:
    """Show one earlier answer: its text (ended there, so the next answer starts a block of its own), then its code."""
    if message.content:
        renderer.handle(TextDelta(message.content))
        renderer.stop()
    for call in message.tool_calls:
        try:
            renderer.handle(CodeProposed(tool.parse(call)))
        except tool.BadCall:
            continue


def _attempt(session: Session, renderer: Renderer, task: str, ctrl_c: CtrlC) -> None:
    """Run one interactive task; failures are reported in one line and the session goes on."""
    try:
        _show(session.send(task), renderer, ctrl_c)
    except KeyboardInterrupt:
        renderer.info("cancelled (Ctrl-C)")
    except InterpreterError as exc:
        _report(exc, renderer)


def _command(command: Callable[[str], None], line: str, renderer: Renderer) -> None:
    """Run one %command; a failure is one line (never more, even with %verbose) and the session goes on."""
    try:
        command(line)
    except KeyboardInterrupt:
        renderer.info("cancelled (Ctrl-C)")
    except InterpreterError as exc:
        renderer.error(str(exc))


def _command_status(command: Callable[[str], None], line: str, renderer: Renderer) -> int:
    """Run one %command given as the task; a misused or unknown one, or a file it cannot read (a FIFO, a device, a
    file over its cap), is a usage error (2), as a bad flag is."""
    try:
        command(line)
    except KeyboardInterrupt:
        renderer.info("cancelled (Ctrl-C)")
        return EXIT_CANCELLED
    except (CommandError, FileRefused) as exc:
        renderer.error(str(exc))
        return EXIT_USAGE
    except InterpreterError as exc:
        _report(exc, renderer)
        return exit_status(exc)  # 2 for a setting that refuses it (%image for a model that takes no images)
    return EXIT_OK


def _report(error: InterpreterError, renderer: Renderer) -> None:
    """One line about a failure; the chain of causes behind it is shown with --verbose. Both may quote the api_base
    (a library's or a server's message): redacted."""
    renderer.error(redact_text(str(error)), details=redact_text("".join(traceback.format_exception(error))))


def _show(events: Generator[Event, None, None], renderer: Renderer, ctrl_c: CtrlC) -> TurnEnded | None:
    """Render every event; returns the TurnEnded event that closed the turn. Ctrl-C always reaches the session."""
    ended = None
    ctrl_c.take_pending()  # a press that landed after the previous turn ended belongs to no turn
    try:
        while (event := _next(events, ctrl_c)) is not None:
            with ctrl_c.deferred():
                renderer.handle(event)
            if isinstance(event, TurnEnded):
                ended = event
    finally:
        with ctrl_c.deferred():
            renderer.stop()
    return ended


def _next(events: Generator[Event, None, None], ctrl_c: CtrlC) -> Event | None:
    """The session's next event; a Ctrl-C kept while drawing is thrown into the session where it stopped."""
    if ctrl_c.take_pending():
        return events.throw(KeyboardInterrupt())
    return next(events, None)
