"""Building a running session from Settings: the renderer, executor, model, store and prompt, wired together."""

from __future__ import annotations

from interpreter import diagnostics
from interpreter.approval import Approver
from interpreter.config import RESUME_LATEST, Settings, ensure_home
from interpreter.execution import Executor
from interpreter.interrupts import CtrlC
from interpreter.llm import OpenAIChatModel
from interpreter.prompt import Prompter
from interpreter.repl import replay, run_interactive, run_task
from interpreter.resilience.breaker import CircuitBreaker
from interpreter.resilience.model import ResilientModel, log_transition
from interpreter.resilience.policy import RetrySettings
from interpreter.session import Session
from interpreter.storage import Conversation, ConversationStore
from interpreter.system_prompt import system_message
from interpreter.ui import make_renderer


def start(settings: Settings, *, task: str | None, resume: str | None) -> int:
    """Run one task (`task`) or an interactive session; returns the exit status."""
    home = ensure_home(settings.home)
    diagnostics.configure(home, verbose=settings.verbose)
    renderer = make_renderer(verbose=settings.verbose)
    prompter = Prompter(home / "history", before_prompt=renderer.stop)
    store = ConversationStore(home / "conversations")
    conversation = _conversation(store, settings.model, resume)
    if resume is not None:
        renderer.info(f"resuming conversation {conversation.id}")
        replay(conversation.messages, renderer)
    model = _model(settings)
    try:
        with CtrlC().installed() as ctrl_c, Executor(timeout=settings.timeout) as executor:
            session = Session(
                model=model,
                runner=executor,
                confirm=Approver(prompter.ask, auto_run=settings.auto_run),
                conversation=conversation,
                save=store.save,
                system=system_message(executor.languages(), tools=settings.tools),
                tools=settings.tools,
                max_steps=settings.max_steps,
            )
            if task is not None:
                return run_task(session, renderer, task, ctrl_c)
            return run_interactive(session, renderer, prompter, ctrl_c)
    finally:
        if model.traffic.rate_limited or model.traffic.waited:
            renderer.info(model.traffic.summary())


def _model(settings: Settings) -> ResilientModel:
    """The OpenAI adapter wrapped in the resilience layer, with the retry limits from the settings."""
    retry = RetrySettings(
        max_attempts=settings.max_retries + 1,
        max_wait_total=settings.max_wait,
        max_single_wait=settings.max_single_wait,
        backoff_base=settings.backoff_base,
        backoff_cap=settings.backoff_cap,
    )
    breaker = CircuitBreaker(
        threshold=settings.breaker_threshold, open_for=settings.breaker_open, on_transition=log_transition
    )
    adapter = OpenAIChatModel(
        model=settings.model, api_base=settings.api_base, api_key=settings.api_key, idle_timeout=settings.idle_timeout
    )
    return ResilientModel(adapter, settings=retry, breaker=breaker)


def _conversation(store: ConversationStore, model: str, resume: str | None) -> Conversation:
    """The conversation to continue (`--resume [ID]`) or a new one."""
    if resume is None:
        return Conversation.new(model)
    return store.latest() if resume == RESUME_LATEST else store.load(resume)
