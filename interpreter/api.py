"""The Python API: `Interpreter(...).chat("task")` yields the events a session on the screen draws.

from interpreter import Interpreter
from interpreter.messages import TextDelta

with Interpreter(model="gpt-4o-mini", auto_run=True) as session:
    for event in session.chat("How many files are in this folder?"):
        if isinstance(event, TextDelta):
            print(event.text, end="")
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import replace
from types import TracebackType

from interpreter.conversation.storage import Conversation
from interpreter.launch import build_chain, build_executor, build_session, build_spending
from interpreter.messages import CodeCell, Decision, Event, Message, RunItem
from interpreter.model.catalogue import for_settings
from interpreter.model.context import ContextWindow
from interpreter.model.instructions import gather
from interpreter.resilience.diagnostics import LOGGER_NAME
from interpreter.resilience.limiter import TokenEstimator
from interpreter.settings import config
from interpreter.settings.directories import working_directory

# A library leaves logging to its caller: without this, Python would print our retry warnings on stderr.
logging.getLogger(LOGGER_NAME).addHandler(logging.NullHandler())


class Interpreter:
    """One conversation with the model, and the code processes it runs; `close()` (or `with`) ends them.

    Settings not given here come from the environment (OPENAI_API_KEY, OPENAI_BASE_URL) and the settings file, as
    for the command. Code runs when `auto_run` is true, or when `confirm(cell)` says so (True, or a Decision naming
    the cell to run, edited); by default it is declined. `instructions` are told to the model after the tool's own.
    The conversation is kept in memory only: read or replace it through `messages`. `max_cost` caps what one task
    may spend, in USD (`chat` raises CostCapReached instead of sending a request past it); `spending` holds what the
    requests cost so far (`spending.session.line()`: "6 requests · 48,210 tokens · $0.13").
    """

    def __init__(
        self,
        *,
        model: str | None = None,
        api_base: str | None = None,
        api_key: str | None = None,
        auto_run: bool = False,
        confirm: Callable[[CodeCell], bool | Decision] | None = None,
        max_steps: int | None = None,
        max_cost: float | None = None,
        tools: bool | None = None,
        timeout: float | None = None,
        profile: str | None = None,
        sandbox: bool | None = None,
        fallback_models: Sequence[str] | None = None,
        api: str | None = None,
        reasoning_effort: str | None = None,
        context_window: int | None = None,
        instructions: str | None = None,
    ) -> None:
        cwd = working_directory()  # deleted under the program: the same ConfigError line the command prints
        flags = config.Flags(
            model=model,
            api_base=api_base,
            api_key=api_key,
            profile=profile,
            max_steps=max_steps,
            max_cost=max_cost,
            no_tools=tools is False,
            timeout=timeout,
            fallback_models=tuple(fallback_models) if fallback_models is not None else None,
            api=api,
            reasoning_effort=reasoning_effort,
            context_window=context_window,
            instructions=instructions,
        )
        # auto_run is never the settings file's: a program decides for itself whether code runs.
        self.settings = replace(config.resolve(flags), auto_run=auto_run)
        if sandbox is not None:  # None: as the settings file says
            self.settings = replace(self.settings, sandbox=sandbox)
        self._confirm = confirm
        estimator = TokenEstimator()  # shared, as in a session: the window's estimates learn from reported usage
        self._catalogue = for_settings(self.settings)
        self.spending = build_spending(self.settings, self._catalogue)  # what the requests cost, and the cap
        # The model, then each of `fallback_models` while it is busy; each on the shared budget of its own.
        self._chain = build_chain(
            self.settings, estimator, home=self.settings.home, say=_logged_only, spending=self.spending
        )
        self._executor = build_executor(self.settings)
        self._session = build_session(
            self.settings,
            model=self._chain,
            runner=self._executor,
            confirm=self._decide,
            conversation=Conversation.new(self.settings.model),
            save=_in_memory,
            window=ContextWindow(
                self._chain, catalogue=self._catalogue, estimator=estimator, images=self.settings.images
            ),
            spending=self.spending,
            told=gather(self.settings, cwd),  # the person's standing instructions and the AGENTS.md files here
        )
        self._closed = False

    def chat(self, task: str) -> Iterator[Event]:
        """Work on `task`: yields each event as it happens, `TurnEnded` last; API failures raise InterpreterError."""
        if self._closed:
            raise RuntimeError("this Interpreter is closed")
        return self._session.send(task)

    def run(self, language: str, code: str) -> Iterator[RunItem]:
        """Run `code` in the session's own processes, where the model's cells run (their variables are shared),
        without asking: yields its output as it comes, and a RunResult last."""
        if self._closed:
            raise RuntimeError("this Interpreter is closed")
        return self._executor.run(language, code)

    @property
    def system_message(self) -> str:
        """The system message each request begins with."""
        return self._session.system_message

    @property
    def messages(self) -> list[Message]:
        """The conversation so far, without the system message (a copy)."""
        return list(self._session.conversation.messages)

    @messages.setter
    def messages(self, messages: Iterable[Message]) -> None:
        self._session.conversation.messages = list(messages)

    def close(self) -> None:
        """End every process the code started; closing twice is fine."""
        self._closed = True
        self._executor.close()
        self._chain.close()
        self._catalogue.close()

    def __enter__(self) -> Interpreter:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, traceback: TracebackType | None
    ) -> None:
        self.close()

    def _decide(self, cell: CodeCell) -> Decision:
        """Run `cell` with auto-run or when `confirm` says so (the cell it names, when it names one)."""
        answer = self.settings.auto_run or (self._confirm is not None and self._confirm(cell))
        if isinstance(answer, Decision):
            return answer
        return Decision(run=answer, cell=cell if answer else None)


def _in_memory(conversation: Conversation) -> None:
    """Saving, for a conversation the API keeps in memory: nothing to do."""


def _logged_only(line: str) -> None:
    """A program has no screen: the shared limiter's fallback line goes to the log alone (it logs it itself)."""
