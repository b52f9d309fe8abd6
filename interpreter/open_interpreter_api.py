"""Open Interpreter's Python API over ours, for the scripts written for it: `from interpreter import interpreter`.

    from interpreter import interpreter

    interpreter.llm.api_base = "http://localhost:1234/v1"
    interpreter.auto_run = True
    for message in interpreter.chat("What's 2380*3875?", display=False):
        print(message)  # {"role": "computer", "type": "console", "format": "output", "content": "9222500\\n"} ...

The shapes are Open Interpreter 0.4.3's (`interpreter/core/core.py`): `chat(message, display, stream)` returns the
LMC messages added after the person's, or with `stream=True` yields LMC chunks, each message wrapped in `start` and
`end` flags; `messages` reads and takes LMC lists; `reset()` forgets the conversation and ends the code processes;
`llm.model`, `llm.api_base`, `llm.api_key`, `llm.context_window`, `llm.max_budget` (our `max_cost`),
`llm.supports_functions` (False: fenced code blocks, our `tools=False`), `auto_run` and `custom_instructions` (our
`instructions`) are its settings; `computer.run(language, code)` runs code where the model's cells run.
`system_message` is this tool's own: it can be read, not replaced. Other attributes a script sets (`offline`,
`verbose`) are kept and do nothing.

`interpreter.Interpreter` stays the recommended API (typed events, `with` to end the processes); this one is a way in
for what was written for Open Interpreter. Nothing is built before the first chat: the session is made then, with
the settings as they are; when a setting changes later, the next chat makes a new one with the same messages (the
code processes start anew).
"""

from __future__ import annotations

from collections.abc import Callable, Generator, Iterator
from dataclasses import dataclass, replace
from functools import cache
from typing import TYPE_CHECKING, Literal, overload

from interpreter.errors import InterpreterError
from interpreter.messages import CodeCell, Decision, Figure, Message, OutputChunk
from interpreter.open_interpreter import lmc
from interpreter.open_interpreter.lmc import LMC
from interpreter.trust.redaction import redact_text

if TYPE_CHECKING:
    from interpreter.api import Interpreter
    from interpreter.ui import Renderer

Incoming = str | LMC | list[LMC] | None  # what chat() takes: a task, one LMC message, or a whole conversation
Chosen = tuple["Llm", str]  # what a session is made with: a copy of `llm`, and `custom_instructions`


@cache
def default() -> OpenInterpreter:
    """The one instance `from interpreter import interpreter` gives, made on first use."""
    return OpenInterpreter()


@dataclass
class Llm:
    """The model settings by Open Interpreter's names; None: as our settings say (flags, environment, the file)."""

    model: str | None = None
    api_base: str | None = None
    api_key: str | None = None
    context_window: int | None = None
    max_budget: float | None = None  # USD one task may spend: our max_cost
    supports_functions: bool | None = None  # False: fenced code blocks instead of tool calls (our tools=False)


class Computer:
    """`interpreter.computer`: code run in the session's own processes, where the model's cells run."""

    def __init__(self, session: Callable[[], Interpreter]) -> None:
        self._session = session

    def run(self, language: str, code: str) -> list[LMC]:
        """Run `code` without asking; its output as LMC chunks without a role, as Open Interpreter's `run` returns
        them: `[{"type": "console", "format": "output", "content": "1\\n"}]` (a picture drawn: an `image` path)."""
        chunks: list[LMC] = []
        for item in self._session().run(language, code):
            if isinstance(item, OutputChunk | Figure):
                for piece in lmc.pieces(item):
                    _merge(chunks, {name: value for name, value in piece.items() if name != "role"})
        return chunks


class OpenInterpreter:
    """One conversation, by Open Interpreter's names (see the module's docstring)."""

    def __init__(self) -> None:
        self.auto_run = False  # run code without asking; else asked on the terminal when displaying, else declined
        self.custom_instructions = ""
        self.llm = Llm()
        self.computer = Computer(self._session)
        self._interpreter: Interpreter | None = None
        self._built_with: Chosen | None = None
        self._kept: list[Message] = []  # the conversation while no session holds it
        self._screen: Renderer | None = None
        self._ask: Callable[[CodeCell], Decision] | None = None  # asks the person, while a displayed chat runs

    @overload
    def chat(
        self, message: Incoming = None, display: bool = True, stream: Literal[False] = False, blocking: bool = True
    ) -> list[LMC]: ...

    @overload
    def chat(
        self, message: Incoming = None, display: bool = True, *, stream: Literal[True], blocking: bool = True
    ) -> Iterator[LMC]: ...

    @overload
    def chat(self, message: Incoming, display: bool, stream: Literal[True], blocking: bool = True) -> Iterator[LMC]: ...

    def chat(
        self, message: Incoming = None, display: bool = True, stream: bool = False, blocking: bool = True
    ) -> list[LMC] | Iterator[LMC]:
        """Work on `message` (a task, an LMC message, or an LMC list that replaces the conversation, ending with the
        person's message); drawn as the command draws it when `display`. Returns the LMC messages added after the
        person's; with `stream`, yields LMC chunks instead, as they come. API failures raise InterpreterError.
        With no message (and `display`), tasks are read at a `> ` prompt until exit, quit or Ctrl-D."""
        if not blocking:
            raise ValueError("chat(blocking=False) is not supported here: call chat from a thread of your own")
        if message is None:
            if stream or not display:
                raise ValueError("chat() needs a message, unless it displays: it then reads tasks at a > prompt")
            return self._prompt()
        chunks = self._chat(message, display=display)
        return chunks if stream else _drained(chunks)

    @property
    def messages(self) -> list[LMC]:
        """The conversation in LMC form (a copy: assign a list to change it)."""
        return lmc.from_messages(self._interpreter.messages if self._interpreter is not None else self._kept)

    @messages.setter
    def messages(self, messages: list[LMC]) -> None:
        converted = lmc.to_messages(messages)  # StorageError saying which message is not LMC
        if self._interpreter is not None:
            self._interpreter.messages = converted
        else:
            self._kept = converted

    @property
    def system_message(self) -> str:
        """The system message each request begins with (this tool's own: `custom_instructions` are added to it)."""
        return self._session().system_message

    @system_message.setter
    def system_message(self, value: str) -> None:
        raise AttributeError("system_message is this tool's own and cannot be replaced: set custom_instructions")

    def reset(self) -> None:
        """Forget the conversation and end the processes the code started (the next chat starts anew)."""
        if self._interpreter is not None:
            self._interpreter.close()
            self._interpreter = None
        self._kept = []

    def _prompt(self) -> list[LMC]:
        """Open Interpreter's `chat()` without a message: tasks read at a `> ` prompt on the terminal, each worked on
        as displayed, until exit, quit or Ctrl-D; returns the messages added."""
        from interpreter.commands import is_command  # noqa: PLC0415 - only a prompt needs them
        from interpreter.repl import leaving  # noqa: PLC0415
        from interpreter.ui.prompt import Prompter  # noqa: PLC0415

        screen = self._renderer()
        prompter = Prompter(None, before_prompt=screen.stop)
        if not prompter.interactive:
            raise ValueError("chat() without a message reads tasks at a terminal, and there is none: give a message")
        before = len(self.messages)
        while True:
            try:
                task = prompter.read_task()
            except KeyboardInterrupt:
                continue  # Ctrl-C at the prompt clears the line, as at the command's
            if task is None or leaving(task):
                return self.messages[before:]
            if is_command(task):
                screen.error("%commands are for the interpreter command; here, call interpreter.reset()")
            elif task.strip():
                self._attempt(task, screen)

    def _attempt(self, task: str, screen: Renderer) -> None:
        """Work on one task typed at the prompt; a failure or Ctrl-C is one line, and the prompt comes back."""
        try:
            self.chat(task)
        except KeyboardInterrupt:
            screen.info("cancelled (Ctrl-C)")
        except InterpreterError as exc:
            screen.error(redact_text(str(exc)))  # a library's words may quote the api_base whole

    def _chat(self, message: Incoming, *, display: bool) -> Generator[LMC, None, list[LMC]]:
        """The LMC chunks of one chat, drawn as they come when `display`; returns the messages it added."""
        session = self._session()
        task = _task(session, message)
        start = len(session.messages) + 1  # what is added after the person's message
        screen = self._renderer() if display else None
        self._ask = _approver(screen) if screen is not None else None
        flags = lmc.Flags()
        try:
            for event in session.chat(task):
                if screen is not None:
                    screen.handle(event)
                for piece in lmc.pieces(event):
                    yield from flags.feed(piece)
            yield from flags.end()
        finally:
            self._ask = None
            if screen is not None:
                screen.stop()
        return lmc.from_messages(session.messages[start:])

    def _session(self) -> Interpreter:
        """The session, made with the settings as they are now (again, with the same messages, if they changed)."""
        wanted = self._chosen()
        if self._interpreter is not None and self._built_with != wanted:
            self._kept = self._interpreter.messages
            self._interpreter.close()
            self._interpreter = None
        if self._interpreter is None:
            from interpreter.api import Interpreter  # noqa: PLC0415 - the SDK and the executor: only once used

            made = Interpreter(
                model=self.llm.model,
                api_base=self.llm.api_base,
                api_key=self.llm.api_key,
                context_window=self.llm.context_window,
                max_cost=self.llm.max_budget,
                tools=self.llm.supports_functions,
                instructions=self.custom_instructions or None,
                confirm=self._confirm,  # auto_run is read at each cell: it may change between chats
            )
            made.messages = self._kept
            self._interpreter, self._built_with = made, wanted
        return self._interpreter

    def _chosen(self) -> Chosen:
        """The settings as they are now (a copy, to tell later when they changed)."""
        return replace(self.llm), self.custom_instructions

    def _confirm(self, cell: CodeCell) -> bool | Decision:
        """Run `cell` with auto_run, else as the person says on the terminal; declined where nobody can be asked."""
        if self.auto_run:
            return True
        return self._ask(cell) if self._ask is not None else False

    def _renderer(self) -> Renderer:
        """The screen a displayed chat draws on: the command's renderer for stdout, made once."""
        if self._screen is None:
            from interpreter.ui import make_renderer  # noqa: PLC0415 - Rich, on a terminal: only once displayed

            self._screen = make_renderer()
        return self._screen


def _task(session: Interpreter, message: Incoming) -> str:
    """The task to send for `message`, after putting any LMC history it carries into `session`'s conversation."""
    if isinstance(message, str):
        return message
    if isinstance(message, dict):  # one message, added to the conversation; Open Interpreter's default role
        history = [*session.messages, *lmc.to_messages([{"role": "user", **message}])]
    else:
        history = lmc.to_messages(message)  # a whole conversation, in place of this one
    if not history or not history[-1].is_task:
        raise ValueError("the last LMC message must be the person's: role user, type message")
    session.messages = history[:-1]
    return history[-1].content


def _approver(screen: Renderer) -> Callable[[CodeCell], Decision] | None:
    """Asking `Run this code?` as the command does, where a person is at a terminal; None where nobody is."""
    from interpreter.ui.approval import Approver  # noqa: PLC0415 - only a displayed chat asks
    from interpreter.ui.prompt import Prompter  # noqa: PLC0415

    prompter = Prompter(None, before_prompt=screen.stop)
    if not prompter.interactive:
        return None
    return Approver(prompter.ask, tell=screen.error, show=screen.handle)


def _merge(chunks: list[LMC], chunk: LMC) -> None:
    """Add `chunk`; output goes on the last chunk when that is output too (one output, however it was printed)."""
    if chunks and chunk["type"] == "console" and chunks[-1]["type"] == "console":
        chunks[-1] = {**chunks[-1], "content": chunks[-1]["content"] + chunk["content"]}
    else:
        chunks.append(chunk)


def _drained(chunks: Generator[LMC, None, list[LMC]]) -> list[LMC]:
    """What a generator returns, once every chunk it yields has been pulled."""
    while True:
        try:
            next(chunks)
        except StopIteration as done:
            added: list[LMC] = done.value
            return added
