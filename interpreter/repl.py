"""Driving a session from the terminal: one task (`-c`) or the interactive prompt loop, with Ctrl-C semantics."""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING

from interpreter import tool
from interpreter.errors import InterpreterError
from interpreter.messages import CodeProposed, Event, Message, TextDelta, TurnEnded

if TYPE_CHECKING:
    from interpreter.prompt import Prompter
    from interpreter.session import Session
    from interpreter.ui import Renderer

EXIT_OK = 0
EXIT_FAILURE = 1
EXIT_MAX_STEPS = 3
EXIT_CANCELLED = 130
_LEAVE = frozenset({"exit", "quit", "exit()", "quit()"})


def run_task(session: Session, renderer: Renderer, task: str) -> int:
    """Work on one task and return the exit status for `-c`."""
    try:
        ended = _show(session.send(task), renderer)
    except KeyboardInterrupt:
        renderer.stop()
        renderer.info("cancelled (Ctrl-C)")
        return EXIT_CANCELLED
    except InterpreterError as exc:
        renderer.stop()
        renderer.error(str(exc))
        return EXIT_FAILURE
    return EXIT_MAX_STEPS if ended is not None and ended.reason == "max_steps" else EXIT_OK


def run_interactive(session: Session, renderer: Renderer, prompter: Prompter) -> int:
    """Prompt for tasks until exit/quit/Ctrl-D; a failed or cancelled task returns to the prompt."""
    while True:
        try:
            task = prompter.read_task()
        except KeyboardInterrupt:
            continue  # Ctrl-C at the prompt clears the line
        if task is None or task.strip().lower() in _LEAVE:
            return EXIT_OK
        if task.strip():
            _attempt(session, renderer, task)


def replay(messages: Iterable[Message], renderer: Renderer) -> None:
    """Show the earlier turns of a resumed conversation: the person's tasks, the model's text and code."""
    for message in messages:
        if message.role == "user":
            renderer.info(f"> {message.content}")
        elif message.role == "assistant":
            _replay_assistant(message, renderer)
    renderer.stop()


def _replay_assistant(message: Message, renderer: Renderer) -> None:
    """Show one earlier answer: its text, then the code it ran."""
    if message.content:
        renderer.handle(TextDelta(message.content))
    for call in message.tool_calls:
        try:
            renderer.handle(CodeProposed(tool.parse(call)))
        except tool.BadCall:
            continue


def _attempt(session: Session, renderer: Renderer, task: str) -> None:
    """Run one interactive task; failures are reported in one line and the session goes on."""
    try:
        _show(session.send(task), renderer)
    except KeyboardInterrupt:
        renderer.stop()
        renderer.info("cancelled (Ctrl-C)")
    except InterpreterError as exc:
        renderer.stop()
        renderer.error(str(exc))
    finally:
        renderer.stop()


def _show(events: Iterable[Event], renderer: Renderer) -> TurnEnded | None:
    """Render every event; returns the TurnEnded event that closed the turn."""
    ended = None
    for event in events:
        renderer.handle(event)
        if isinstance(event, TurnEnded):
            ended = event
    renderer.stop()
    return ended
