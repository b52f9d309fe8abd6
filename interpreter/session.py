"""One conversation with the model: send a task, get a stream of events while the model and its code work."""

from __future__ import annotations

from collections.abc import Callable, Generator, Iterator, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from interpreter.conversation.storage import Conversation
from interpreter.errors import ContextTooLong, ExecutionError, InterpreterError, TaskTooLong, UnknownLanguage
from interpreter.messages import (
    CodeCell,
    CodeDeclined,
    CodeFinished,
    CodeProposed,
    CodeStarted,
    Decision,
    Event,
    Figure,
    Message,
    ModelSwitched,
    Notice,
    OutputChunk,
    Picture,
    Reply,
    RequestStarted,
    RunItem,
    RunResult,
    StreamBroken,
    TextDelta,
    Thinking,
    ToolCallDraft,
    TurnEnded,
    Usage,
    Waiting,
)
from interpreter.model import fences, tool
from interpreter.model.context import ContextWindow, last_task
from interpreter.model.llm import ChatModel
from interpreter.model.spending import Spending

DECLINED = "The user declined to run this code."
CANCELLED = "Not run: the user cancelled this step (Ctrl-C)."
OUTPUT_HEADING = "Output of block "  # how code output sent back as a user message (no tools) begins


class CodeRunner(Protocol):
    """What the session needs from the execution subsystem."""

    def languages(self) -> list[str]:
        """Canonical names of the languages that can run here."""
        ...

    def check(self, language: str) -> str:
        """The canonical name of `language`; UnknownLanguage or LanguageUnavailable when it cannot run."""
        ...

    def run(self, language: str, code: str, timeout: float | None = None) -> Iterator[RunItem]:
        """Run code, yielding output as it comes (with notices and figures) and a RunResult last."""
        ...

    def interrupt(self) -> bool:
        """Stop the cell that is running, if any; True if there was one."""
        ...


Confirm = Callable[[CodeCell], Decision]


@dataclass(frozen=True)
class _Outcome:
    """What the model is told about one cell: the text, and the figures it drew (by path)."""

    text: str
    figures: tuple[str, ...] = ()


class _RunInterrupted(KeyboardInterrupt):
    """Ctrl-C during a run, carrying what the model should hear about the cell that was cut short."""

    def __init__(self, outcome: str) -> None:
        super().__init__()
        self.outcome = outcome


class Session:
    """Drives the loop: model reply -> code cells -> outputs back to the model, until an answer has no code."""

    def __init__(
        self,
        *,
        model: ChatModel,
        runner: CodeRunner,
        confirm: Confirm,
        conversation: Conversation,
        save: Callable[[Conversation], None],
        system: str,
        window: ContextWindow,
        tools: bool = True,
        max_steps: int = 20,
        spending: Spending | None = None,
    ) -> None:
        self.conversation = conversation
        self.window = window
        self._model = model
        self._runner = runner
        self._confirm = confirm
        self._save = save
        self._system = Message("system", system)
        self._tools: Sequence[dict[str, Any]] = [tool.schema(runner.languages())] if tools else ()
        self._max_steps = max_steps
        self._spending = spending  # what each task may spend (--max-cost) counts from its start
        self._trimmed = (0, 0, 0)  # what the last request left out, as last reported
        self._pictures: list[Picture] = []  # attached to the next task

    def attach(self, picture: Picture) -> None:
        """Send `picture` with the next task (checked by the caller: `model.pictures.attach`)."""
        self._pictures.append(picture)

    def send(self, text: str) -> Generator[Event, None, None]:
        """Work on one task, with the pictures attached since the last; every message is saved as soon as it exists,
        whatever interrupts the work.

        A task that alone cannot fit the context window is refused with TaskTooLong, neither sent nor saved (its
        pictures stay attached).
        """
        task = Message("user", text, pictures=tuple(self._pictures))
        self._check_fits(task)
        self._pictures.clear()
        if self._spending is not None:
            self._spending.begin_task()
        self._append(task)  # bytes that were not UTF-8 (kept by surrogateescape) become U+FFFD there
        for step in range(1, self._max_steps + 1):
            yield RequestStarted(step)
            reply = yield from self._ask_model(task)
            if self._tools:
                worked = yield from self._answer_tool_calls(reply.message)
            else:
                worked = yield from self._answer_fenced_code(reply.message)
            if not worked:
                yield TurnEnded("done", step)
                return
        yield TurnEnded("max_steps", self._max_steps)

    @property
    def system_message(self) -> str:
        """The system message each request begins with."""
        return self._system.content

    def switch(self, conversation: Conversation) -> None:
        """Go on with `conversation` instead (a new one, or one loaded from a file)."""
        self.conversation = conversation
        self._trimmed = (0, 0, 0)

    def undo(self) -> list[Message]:
        """Drop the last exchange (the latest task and everything after it) and return it; [] when there is none."""
        start = last_task(self.conversation.messages)
        if start is None:
            return []
        dropped = self.conversation.messages[start:]
        del self.conversation.messages[start:]
        self._save(self.conversation)
        return dropped

    def context_tokens(self) -> int:
        """Estimated tokens of the whole conversation as the next request would carry it, before any trimming."""
        return self.window.estimate([self._system, *self.conversation.messages], self._tools)

    def _check_fits(self, task: Message) -> None:
        """TaskTooLong when `task`, with only the system message and tools, leaves no room for a reply in the window."""
        tokens = self.window.estimate([self._system, task], self._tools)
        if tokens > self.window.room:
            window = f"{self.window.model}'s context window is {self.window.tokens:,} tokens"
            advice = "shorten it, or save it to a file and ask the model to read that file"
            raise TaskTooLong(f"the task is too long to send: about {tokens:,} tokens, and {window}; {advice}")

    def _ask_model(self, task: Message) -> Generator[Event, None, Reply]:
        """One reply; when the server says the request is too long, one visible retry with a request that fits."""
        request = yield from self._request()
        try:
            return (yield from self._stream(request))
        except ContextTooLong as refusal:
            smaller = yield from self._smaller(request, refusal, task)
            if smaller is None:
                raise
            return (yield from self._stream(smaller))

    def _request(self) -> Generator[Event, None, list[Message]]:
        """The system message and the conversation, trimmed to the context window; a notice when that trims more."""
        trim = self.window.fit(self._system, self.conversation.messages, self._tools)
        if trim.changes != self._trimmed and any(trim.changes):
            window = f"{self.window.model}'s {self.window.tokens:,}-token window"
            yield Notice(f"trimmed what is sent to fit {window}: {trim.describe()} (the saved conversation keeps all)")
        self._trimmed = trim.changes
        return [self._system, *trim.messages]

    def _smaller(
        self, refused: list[Message], refusal: ContextTooLong, task: Message
    ) -> Generator[Event, None, list[Message] | None]:
        """After the server refused `refused` as too long: a request trimmed to the window it named, else to half the
        size; None if none can be. TaskTooLong when the window it named cannot take `task` at all."""
        named = refusal.window
        budget = self.window.refused(refused, self._tools, named=named)
        self._check_fits(task)
        trim = self.window.fit(self._system, self.conversation.messages, self._tools)
        request = [self._system, *trim.messages]
        if request == refused:
            return None
        self._trimmed = trim.changes
        window = f" for its {self.window.tokens:,}-token window" if named == self.window.tokens else ""
        yield Notice(
            f"the server says the conversation is too long{window}; trimmed to about {budget:,} tokens, asking again"
        )
        return request

    def _stream(self, request: list[Message]) -> Generator[Event, None, Reply]:
        """Stream one reply to `request`; keep whatever text arrived if the person interrupts it."""
        text: list[str] = []
        drafts = tool.Drafts()
        try:
            for item in self._model.stream(request, self._tools):
                if isinstance(item, TextDelta):
                    text.append(item.text)
                    yield item
                elif isinstance(item, Waiting | Thinking | ModelSwitched | Notice):
                    yield item
                elif isinstance(item, Usage):
                    self.conversation.cost += item.cost or 0.0  # saved with the reply that follows
                    yield item
                elif isinstance(item, ToolCallDraft):
                    if (draft := drafts.feed(item)) is not None:
                        yield draft  # the code as the model writes it, for the screen; the cell comes with the Reply
                elif isinstance(item, StreamBroken):
                    text.clear()
                    self._append(item.message())
                    yield Notice(f"the reply broke off ({item.reason}); asking again")
                elif isinstance(item, Reply):
                    self._append(item.message)
                    return item
        except KeyboardInterrupt:
            self._keep(text, "interrupted by the user")
            raise
        except InterpreterError:
            self._keep(text, "the reply broke off")
            raise
        raise AssertionError("a ChatModel stream must end with a Reply")

    def _keep(self, text: list[str], why: str) -> None:
        """Keep the text that reached the person before the reply ended early, so it is not lost or repeated."""
        if text:
            self._append(Message("assistant", f"{''.join(text)}\n\n[{why}]"))

    def _answer_tool_calls(self, reply: Message) -> Generator[Event, None, bool]:
        """Run each `execute` call in order and answer it with a tool message; False when there were none."""
        pending = list(reply.tool_calls)
        try:
            while pending:
                call = pending[0]
                try:
                    outcome = yield from self._run(tool.parse(call))
                except tool.BadCall as exc:
                    yield Notice(f"the model made a bad tool call: {exc}")
                    outcome = _Outcome(str(exc))
                except _RunInterrupted as stop:
                    self._append(Message("tool", stop.outcome, tool_call_id=pending.pop(0).id))
                    raise
                self._append(Message("tool", outcome.text, tool_call_id=call.id, figures=outcome.figures))
                pending.pop(0)
        finally:
            # Every tool call must be answered or the API refuses the conversation from then on.
            for call in pending:
                self._append(Message("tool", CANCELLED, tool_call_id=call.id))
        return bool(reply.tool_calls)

    def _answer_fenced_code(self, reply: Message) -> Generator[Event, None, bool]:
        """Run each fenced code block in order and send the outputs back as one user message."""
        cells = fences.code_cells(reply.content, self._is_language)
        outcomes: list[str] = []
        figures: list[str] = []
        try:
            for number, cell in enumerate(cells, start=1):
                outcome = _Outcome(CANCELLED)
                try:
                    outcome = yield from self._run(cell, in_text=True)
                except _RunInterrupted as stop:
                    outcome = _Outcome(stop.outcome)
                    raise
                finally:
                    outcomes.append(f"{OUTPUT_HEADING}{number} ({cell.language}):\n{outcome.text}")
                    figures += outcome.figures
        finally:
            if cells:
                outcomes += [CANCELLED] * (len(cells) - len(outcomes))
                self._append(Message("user", "\n\n".join(outcomes), kind="output", figures=tuple(figures)))
        return bool(cells)

    def _run(self, cell: CodeCell, *, in_text: bool = False) -> Generator[Event, None, _Outcome]:
        """Ask, run and report one cell; returns what the model gets about it."""
        try:
            self._runner.check(cell.language)
        except ExecutionError as exc:
            yield Notice(str(exc))
            return _Outcome(f"error: {exc}")
        yield CodeProposed(cell, in_text=in_text)
        decision = self._confirm(cell)
        if not decision.run:
            yield CodeDeclined(cell)
            return _Outcome(DECLINED)
        ran = decision.cell or cell
        yield CodeStarted(ran, edited=ran != cell)
        result, figures = yield from self._execute(ran)
        yield CodeFinished(ran, result)
        return _Outcome(_describe(result, edited=ran if ran != cell else None), figures)

    def _execute(self, cell: CodeCell) -> Generator[Event, None, tuple[RunResult, tuple[str, ...]]]:
        """Stream a cell's output; returns its RunResult and the paths of the figures it drew. Ctrl-C becomes
        _RunInterrupted with the output so far."""
        printed: list[str] = []
        drawn: list[str] = []
        try:
            for item in self._runner.run(cell.language, cell.code):
                if isinstance(item, RunResult):
                    return item, tuple(drawn)
                if isinstance(item, OutputChunk):
                    printed.append(item.text)
                elif isinstance(item, Figure):
                    drawn.append(item.path)
                yield item
        except KeyboardInterrupt:
            self._runner.interrupt()  # stop the cell now, not when the abandoned run is collected
            raise _RunInterrupted(_interrupted("".join(printed))) from None
        raise AssertionError("a run must end with a RunResult")

    def _is_language(self, name: str) -> bool:
        """True for a known language name, even one that is not installed (the model then hears why it cannot run)."""
        try:
            self._runner.check(name)
        except UnknownLanguage:
            return False
        except ExecutionError:
            return True
        return True

    def _append(self, message: Message) -> None:
        """Add a message to the conversation and save it at once (as valid UTF-8: the API and the file need it)."""
        self.conversation.messages.append(message.valid())
        self._save(self.conversation)


def _interrupted(printed: str) -> str:
    """What the model is told about a run the person stopped with Ctrl-C."""
    return "The user interrupted this run (Ctrl-C). Output before that:\n" + (printed or "(no output)")


def _describe(result: RunResult, *, edited: CodeCell | None) -> str:
    """What the model is told about a finished run."""
    parts = [result.output if result.output.strip() else "(no output)"]
    if result.interrupted:
        parts.append("[the run was interrupted]")
    elif result.exit_status:
        parts.append(f"[exit status {result.exit_status}]")
    if edited is not None:
        parts.insert(0, f"(The user edited the code before running it. It ran as:\n{edited.code}\n)")
    return "\n".join(parts)
