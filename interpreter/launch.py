"""Building a running session from Settings: the renderer, executor, model, store and prompt, wired together."""

from __future__ import annotations

import logging
import os
from collections.abc import Callable, Sequence
from dataclasses import replace
from functools import partial
from pathlib import Path
from typing import Any

from interpreter import commands
from interpreter.conversation.keeper import Keeper
from interpreter.conversation.storage import Conversation, ConversationStore
from interpreter.errors import ConfigError, ConversationInUse, HomeNotWritable
from interpreter.execution import Executor
from interpreter.execution.figures import OUTPUTS, FigureShelf
from interpreter.messages import Message, Notice
from interpreter.model.api_choice import ApiChoice, choose, shown
from interpreter.model.catalogue import Catalogue, for_settings
from interpreter.model.context import ContextWindow
from interpreter.model.instructions import Told, gather
from interpreter.model.llm import ChatModel, OpenAIChatModel, warm_up
from interpreter.model.metered import MeteredModel
from interpreter.model.pictures import Attached, attach
from interpreter.model.prices import Prices
from interpreter.model.remembered import FILE as REMEMBERED
from interpreter.model.remembered import RememberedSwitches
from interpreter.model.responses import OpenAIResponsesModel
from interpreter.model.spending import Spending
from interpreter.model.system_prompt import system_message
from interpreter.open_interpreter.lmc import read_conversation
from interpreter.repl import replay, run_interactive, run_task
from interpreter.resilience import diagnostics
from interpreter.resilience.breaker import CircuitBreaker
from interpreter.resilience.fallback import FallbackModel, Route
from interpreter.resilience.limiter import Limiter, RateLimiter, TokenEstimator, characters
from interpreter.resilience.model import ResilientModel, log_transition
from interpreter.resilience.policy import RetrySettings
from interpreter.resilience.shared.budget import SharedLimiter
from interpreter.resilience.shared.setting import SQLITE
from interpreter.resilience.shared.store import budget_key, open_store
from interpreter.session import CodeRunner, Confirm, Session
from interpreter.settings.config import CONFIG_FILE, PROFILE_PREFIX, RESUME_LATEST, Settings, fallback_settings
from interpreter.settings.directories import CONVERSATIONS, working_directory, writable_home
from interpreter.ui import Renderer, make_renderer
from interpreter.ui.approval import Approver
from interpreter.ui.interrupts import CtrlC
from interpreter.ui.jsonl import JsonLinesRenderer
from interpreter.ui.prompt import Prompter


def start(
    settings: Settings,
    *,
    task: str | None,
    resume: str | None,
    copy: bool = False,
    images: Sequence[Path] = (),
) -> int:
    """Run one task (`task`) or an interactive session; returns the exit status. `copy`: resume a copy. `images`:
    pictures attached to the first task (ConfigError or FileRefused, before anything is sent, when one cannot be)."""
    if settings.json and task is None:  # a prompt would write to the stdout that carries only JSON lines
        raise ConfigError("--json needs a task: -c TASK, or one piped on stdin")
    cwd = working_directory()  # gone (deleted under the shell): one line now, not a failure in the middle of the run
    told = gather(settings, cwd)  # a bad instructions_file is one line now
    attached = [attach(path, settings.model, settings.images) for path in images]
    renderer = make_renderer(verbose=settings.verbose, json=settings.json)
    status = _run(settings, renderer, task=task, resume=resume, copy=copy, told=told, attached=attached)
    if isinstance(renderer, JsonLinesRenderer):
        renderer.exit(status)  # the last line a program reading --json gets
    return status


def _run(
    settings: Settings,
    renderer: Renderer,
    *,
    task: str | None,
    resume: str | None,
    copy: bool,
    told: Told,
    attached: Sequence[Attached],
) -> int:
    """Build the session and run it, drawing on `renderer`, telling the model `told`, with the pictures `attached`
    to the first task; returns the exit status."""
    store = ConversationStore(settings.home / CONVERSATIONS)
    keeper = Keeper(store, say=renderer.info, verbose=renderer.log)  # what a home that fails mid-session says
    home = _home(settings.home, renderer, say=keeper.aside)  # None when it cannot be written: nothing is kept
    if settings.key_warning:  # after the log is set up: it goes there too
        logging.getLogger(diagnostics.LOGGER_NAME).warning(settings.key_warning)
    history = home / "history" if home else None
    prompter = Prompter(history, before_prompt=renderer.stop, say=keeper.aside, completions=commands.names())
    save = keeper.save if home else _not_kept
    store.sweep()
    conversation = (
        Conversation.new(settings.model)
        if resume is None
        else _resume(store, resume, renderer, copy=copy, save=save, model=settings.model)
    )
    warming = warm_up()  # after the checks that can end the run at once: those need not wait for the SDK
    if resume is not None and not settings.json:  # earlier turns replayed as events would read as new ones
        replay(conversation.messages, renderer)
    ask = prompter.ask
    if settings.json and not settings.auto_run:
        # stdout carries only JSON lines, so nobody can be asked there: every cell is declined.
        renderer.info("--json without -y: code is not run (each cell is declined); add -y to run it")
        ask = _no_answer
    estimator = TokenEstimator()  # shared: the context window's estimates learn from the usage the model sees
    remembered = RememberedSwitches(home / REMEMBERED if home else None)
    catalogue = for_settings(settings)
    spending = build_spending(settings, catalogue)
    model = build_chain(
        settings,
        estimator,
        home=home,
        say=renderer.info,
        about_home=keeper.aside,
        remembered=remembered,
        spending=spending,
    )
    try:
        # The shelf reads the conversation going on when a cell has drawn a figure: by then the session exists.
        shelf = FigureShelf(home / OUTPUTS, lambda: session.conversation.id) if home else None
        with CtrlC().installed() as ctrl_c, build_executor(settings, figures=shelf) as executor:
            approver = Approver(
                ask,
                tell=renderer.error,
                show=renderer.handle,
                auto_run=settings.auto_run,
                sandboxed=lambda: executor.sandboxed,
            )
            executor.prepare("python")  # the most asked-for language boots while the first request is out
            told = replace(told, tool=_tool_message(settings, executor))
            session = build_session(
                settings,
                model=model,
                runner=executor,
                confirm=approver,
                conversation=conversation,
                save=save,
                window=ContextWindow(model, catalogue=catalogue, estimator=estimator, images=settings.images),
                spending=spending,
                told=told,
            )
            _tell(told, renderer)
            for picture in attached:
                _attach_given(session, picture, renderer)
            context = commands.CommandContext(
                session,
                renderer,
                approver,
                store,
                api=model,
                chat=model,
                replay=lambda past: replay(past, renderer),
                restart=executor.restart,
                sandbox=executor,
                save=save,
                find_figure=shelf.find if shelf else commands.no_figures,
                wire=lambda: _wire(settings, model.model, remembered),
                spending=spending,
                told=told,
                attach=lambda path: _attach(session, attach(path, model.model, settings.images)),
            )
            command = partial(commands.run, context=context)
            if task is not None:
                return run_task(session, renderer, task, ctrl_c, command)
            return run_interactive(session, renderer, prompter, ctrl_c, command)
    finally:
        if spending.session.tokens:  # something was answered: what it cost
            renderer.info(spending.session.line())
        if summary := model.summary():
            renderer.info(summary)
        warming.join()
        catalogue.close()
        keeper.close()
        store.release()
        model.close()


def build_session(
    settings: Settings,
    *,
    model: ChatModel,
    runner: CodeRunner,
    confirm: Confirm,
    conversation: Conversation,
    save: Callable[[Conversation], None],
    window: ContextWindow,
    spending: Spending | None = None,
    told: Told | None = None,
) -> Session:
    """A session over `model` and `runner`, with the system message, tools and limits the settings ask for;
    `spending` is what the model chain counts its costs in (the cap counts from the start of each task); `told` the
    standing text the system message holds (None: the tool's own message alone)."""
    return Session(
        model=model,
        runner=runner,
        confirm=confirm,
        conversation=conversation,
        save=save,
        system=replace(told or Told(), tool=_tool_message(settings, runner)).system(),
        window=window,
        tools=settings.tools,
        max_steps=settings.max_steps,
        spending=spending,
    )


def _tool_message(settings: Settings, runner: CodeRunner) -> str:
    """The tool's own system message, for the languages `runner` runs and the way the settings ask for code."""
    return system_message(runner.languages(), tools=settings.tools)


def _tell(told: Told, renderer: Renderer) -> None:
    """Say, in passing, which AGENTS.md files the model is told; one line for each that was skipped."""
    if told.project is None:
        return
    if line := told.project.line():
        renderer.handle(Notice(line, quiet=True))
    for skipped in told.project.skipped:
        renderer.handle(Notice(skipped))


def _attach(session: Session, attached: Attached) -> Attached:
    """Send `attached` with the session's next task."""
    session.attach(attached.picture)
    return attached


def _attach_given(session: Session, attached: Attached, renderer: Renderer) -> None:
    """Attach a picture given with -i to the first task, and say so (and that it goes as it is, when it does)."""
    _attach(session, attached)
    renderer.info(attached.line)
    if attached.note:
        renderer.info(attached.note)


def build_executor(settings: Settings, figures: FigureShelf | None = None) -> Executor:
    """The code runner, with the settings' limits and Python; close it (or use it as a context manager) to end its
    processes. Figures the cells draw are kept on `figures` (None: not kept)."""
    return Executor(
        timeout=settings.timeout,
        output_cap=settings.output_cap,
        pass_env=settings.pass_env,
        python=settings.python,
        figures=figures,
        sandboxed=settings.sandbox,
        private=(settings.home, settings.home / CONFIG_FILE),  # hidden from sandboxed cells, wherever it links
    )


def build_adapter(settings: Settings, remembered: RememberedSwitches | None = None) -> ApiChoice:
    """The settings' model and server on both wires, each request on the one the `api` setting picks (and the
    switches in `remembered`, this session's alone when None); `%model` changes its model later."""
    chat, responses = (
        wire(
            model=settings.model,
            api_base=settings.api_base,
            api_key=settings.api_key,
            idle_timeout=settings.idle_timeout,
            images=settings.images,
            figures=settings.home / OUTPUTS,
            effort=settings.reasoning_effort,
        )
        for wire in (OpenAIChatModel, OpenAIResponsesModel)
    )
    return ApiChoice(
        chat,
        responses,
        api=settings.api,
        api_base=settings.api_base,
        effort=settings.reasoning_effort,
        remembered=remembered if remembered is not None else RememberedSwitches(None),
    )


def build_chain(
    settings: Settings,
    estimator: TokenEstimator,
    *,
    home: Path | None,
    say: Callable[[str], None],
    about_home: Callable[[str], None] | None = None,
    remembered: RememberedSwitches | None = None,
    spending: Spending,
) -> FallbackModel:
    """The model asked for, then each fallback model, each in the resilience layer; one circuit breaker per server.

    `say` shows a line about the shared budget; `about_home` one about its file under the home (default: `say`).
    `remembered`: the switches to the Responses API (default: those kept in the home). `spending`: where each model
    counts what its requests cost, and the cap; ConfigError when the cap cannot be kept because a model of the chain
    has no known price."""
    breakers: dict[str, CircuitBreaker] = {}
    limiter = partial(build_limiter, home=home, say=say, about_home=about_home or say)
    if remembered is None:
        remembered = RememberedSwitches(home / REMEMBERED if home else None)
    adapter = partial(build_adapter, remembered=remembered)
    meter = partial(_metered, spending=spending, estimator=estimator)
    routes = [_route(settings, estimator, breakers, limiter, build=adapter, meter=meter)]
    for entry in settings.fallback_models:
        profile = entry.removeprefix(PROFILE_PREFIX) if entry.startswith(PROFILE_PREFIX) else None
        routes.append(
            _route(
                fallback_settings(entry, settings),
                estimator,
                breakers,
                limiter,
                build=adapter,
                meter=meter,
                profile=profile,
            )
        )
    return FallbackModel(routes, after=settings.fallback_after)


def build_spending(settings: Settings, catalogue: Catalogue) -> Spending:
    """What the session's requests cost, at each model's prices in `catalogue`, and the settings' cap."""
    return Spending(partial(_prices, catalogue), cap=settings.max_cost)


def _prices(catalogue: Catalogue, model: str) -> Prices | None:
    """`model`'s prices from the catalogue's best source; None when none has them."""
    priced = catalogue.prices(model)
    return priced.prices if priced is not None else None


def build_limiter(
    settings: Settings,
    adapter: ApiChoice,
    *,
    home: Path | None,
    say: Callable[[str], None],
    about_home: Callable[[str], None],
) -> Limiter:
    """The rate limiter: shared through the store the settings name, or this session's own (off; no `home`).

    A store's failure is said by `say`; the SQLite file's by `about_home`, as it lives in the home."""
    store = open_store(settings.rate_limit_store, home)
    if store is None:
        return RateLimiter()

    def key() -> str:
        # A budget belongs to the endpoint, the key and the model: read at each use, as %model changes the model.
        return budget_key(settings.api_base, settings.api_key, adapter.model)

    tell = about_home if settings.rate_limit_store == SQLITE else say
    return SharedLimiter(store, key, local=RateLimiter(), say=tell)


def _route(
    settings: Settings,
    estimator: TokenEstimator,
    breakers: dict[str, CircuitBreaker],
    limiter: Callable[[Settings, ApiChoice], Limiter],
    *,
    build: Callable[[Settings], ApiChoice],
    meter: Callable[[ApiChoice], MeteredModel],
    profile: str | None = None,
) -> Route:
    """One model of the chain: its adapter, metered, in the resilience layer, with its server's breaker and budget."""
    adapter = build(settings)
    breaker = breakers.setdefault(settings.api_base, _breaker(settings))
    budget = limiter(settings, adapter)
    resilient = _resilient(
        settings,
        meter(adapter),
        estimator,
        breaker,
        budget,
        images=lambda: adapter.sends_images,
        model_name=lambda: adapter.model,
    )
    return Route(adapter, resilient, profile)


def _metered(adapter: ApiChoice, *, spending: Spending, estimator: TokenEstimator) -> MeteredModel:
    """`adapter` kept within the cost cap, its usage priced; ConfigError now when its model has no price to cap by."""
    spending.enforceable(adapter.model)

    def estimate(request: Sequence[Message], tools: Sequence[dict[str, Any]]) -> int:
        return estimator.estimate(characters(request, tools, images=adapter.sends_images))

    return MeteredModel(adapter, spending, estimate)


def _resilient(
    settings: Settings,
    metered: MeteredModel,
    estimator: TokenEstimator,
    breaker: CircuitBreaker,
    limiter: Limiter,
    *,
    images: Callable[[], bool],
    model_name: Callable[[], str],
) -> ResilientModel:
    """`metered` wrapped in the resilience layer, with the retry limits from the settings; `images`: whether its
    adapter sends figures as pictures now; `model_name`: the model it asks now (what the limiter learns for)."""
    retry = RetrySettings(
        max_attempts=settings.max_retries + 1,
        max_wait_total=settings.max_wait,
        max_single_wait=settings.max_single_wait,
        backoff_base=settings.backoff_base,
        backoff_cap=settings.backoff_cap,
    )
    return ResilientModel(
        metered,
        settings=retry,
        breaker=breaker,
        limiter=limiter,
        estimator=estimator,
        images=images,
        model_name=model_name,
    )


def _wire(settings: Settings, model: str, remembered: RememberedSwitches) -> str:
    """The API `model` is asked on at the settings' server, and why, with the reasoning effort: for `%model`."""
    return shown(choose(settings.api, settings.api_base, model, remembered), settings.reasoning_effort)


def _breaker(settings: Settings) -> CircuitBreaker:
    """A circuit breaker with the settings' threshold and open period."""
    return CircuitBreaker(
        threshold=settings.breaker_threshold, open_for=settings.breaker_open, on_transition=log_transition
    )


def _home(path: Path, renderer: Renderer, *, say: Callable[[str], None]) -> Path | None:
    """The home, ready to keep the conversation, history and log; None (said once) when nothing can be written there.

    `say` tells of the log file failing later."""
    diagnostics.configure(echo=renderer.log)
    try:
        home = writable_home(path)
    except HomeNotWritable as exc:
        renderer.info(str(exc))
        return None
    try:
        diagnostics.log_to_file(home / "logs", say=say)
    except HomeNotWritable as exc:  # the session is kept all the same; only the API log is lost
        renderer.info(str(exc))
    return home


def _not_kept(conversation: Conversation) -> None:
    """Saving, when the home cannot be written: nothing is kept (the session said so when it began)."""


def _no_answer(question: str) -> None:
    """No answer to `question`, as at the end of input: a cell is declined."""
    return None


def _resume(
    store: ConversationStore,
    resume: str,
    renderer: Renderer,
    *,
    copy: bool,
    save: Callable[[Conversation], None],
    model: str,
) -> Conversation:
    """The conversation `--resume [ID|FILE]` continues, held for this session alone, or a copy of it with its own id.

    A FILE (ours, or Open Interpreter's) is always continued as a new conversation, so `--copy` adds nothing to it.
    A repaired or copied conversation is saved at once, so the note about it is shown once.
    """
    if names_file(resume):
        return _continue_file(store, Path(resume).expanduser(), renderer, save=save, model=model)
    found = store.latest() if resume == RESUME_LATEST else store.load(resume)
    conversation = found.copy() if copy else found
    try:
        store.hold(conversation.id)
    except ConversationInUse as exc:
        raise ConversationInUse(f"{exc}; to continue a copy: interpreter --resume {found.id} --copy") from exc
    if copy:
        renderer.info(f"continuing a copy of conversation {found.id} as {conversation.id}")
    else:
        renderer.info(f"resuming conversation {conversation.id}")
    if found.repaired:
        renderer.info(found.repair_note())
    if found.repaired or copy:
        save(conversation)
    return conversation


def names_file(resume: str) -> bool:
    """Whether `--resume` names a file rather than a conversation id: a path (a `/` in it, or `~` before it) or a
    `.json` or `.jsonl` file. An id (20261206-140035-ab12) is neither."""
    return "/" in resume or os.sep in resume or resume.startswith("~") or resume.lower().endswith((".json", ".jsonl"))


def _continue_file(
    store: ConversationStore, path: Path, renderer: Renderer, *, save: Callable[[Conversation], None], model: str
) -> Conversation:
    """The conversation in the file at `path` (ours, or Open Interpreter's), continued as a new one, saved at once."""
    loaded = read_conversation(path, model)
    conversation = Conversation.new(loaded.model or model)
    conversation.messages = [message for message in loaded.messages if message.role != "system"]
    store.hold(conversation.id)
    renderer.info(f"continuing {path} as conversation {conversation.id}")
    if loaded.repaired:
        renderer.info(loaded.repair_note())
    save(conversation)
    return conversation
