"""The catalogue of the models in use: each one's context window and prices, and where each came from.

From, in this order: the person's settings (a `[models."NAME"]` table, then `--context-window`), what the server
itself reports (`server_reports.py`), genai-prices' list (`price_list.py`), the table of well-known names below, then
FALLBACK_WINDOW. The server and genai-prices are asked off the main thread, once per model, from the moment the first
request goes out (`begin`), so that request never waits for them; until they answer, the others stand in. A question
that fails or gets an odd answer is logged and ignored.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from functools import partial
from typing import Final, TypeVar

from interpreter.model import price_list, server_reports
from interpreter.model.price_list import SOURCE as PRICE_LIST
from interpreter.model.price_list import Listing
from interpreter.model.prices import Prices
from interpreter.model.server_reports import Report
from interpreter.resilience.diagnostics import LOGGER_NAME
from interpreter.settings.config import Settings
from interpreter.settings.settings_file import ModelTable

# Context windows of well-known models, matched as prefixes of the lower-case name without any "provider/" part;
# the first match wins, so a more specific prefix comes before a shorter one. Kept for what the server and
# genai-prices do not say, and for the first request, which goes out before they are asked.
KNOWN_WINDOWS: Final[tuple[tuple[str, int], ...]] = (
    ("gpt-4.1", 1_047_576),
    ("gpt-4o", 128_000),
    ("chatgpt-4o", 128_000),
    ("gpt-4.5", 128_000),
    ("gpt-4-turbo", 128_000),
    ("gpt-4-1106", 128_000),
    ("gpt-4-0125", 128_000),
    ("gpt-4-32k", 32_768),
    ("gpt-4", 8_192),
    ("gpt-3.5-turbo", 16_385),
    ("gpt-5", 400_000),
    ("o1-mini", 128_000),
    ("o1-preview", 128_000),
    ("o1", 200_000),
    ("o3", 200_000),
    ("o4", 200_000),
    ("llama3.1", 128_000),
    ("llama3.2", 128_000),
    ("llama3.3", 128_000),
    ("llama-3.1", 128_000),
    ("llama-3.2", 128_000),
    ("llama-3.3", 128_000),
    ("llama3", 8_192),
    ("mistral-large", 128_000),
    ("mistral", 32_768),
    ("mixtral", 32_768),
    ("qwen2.5", 32_768),
    ("claude", 200_000),
    ("gemini", 1_000_000),
)
FALLBACK_WINDOW: Final = 8_192  # an unknown model: small, as local servers often are
SETTLE_WITHIN: Final = 15.0  # seconds the second request waits, at most, for the answers (a question times out first)
KNOWN_NAME, ASSUMED, CONFIGURED = (
    "known from its name",
    "assumed for an unknown model",
    "--context-window or context_window",
)
_log = logging.getLogger(LOGGER_NAME)

T = TypeVar("T")
Ask = Callable[[str], Report | None]  # the server's report on a model
Look = Callable[[str], Listing | None]  # genai-prices' listing of a model


def window_for(model: str) -> int | None:
    """The context window of a well-known model, by name; None for any other."""
    name = model.lower().rsplit("/", 1)[-1]
    return next((tokens for prefix, tokens in KNOWN_WINDOWS if name.startswith(prefix)), None)


@dataclass(frozen=True)
class Window:
    """A model's context window, and where it came from."""

    tokens: int
    source: str

    def describe(self) -> str:
        """`1,400 tokens (vLLM /v1/models)`."""
        return f"{self.tokens:,} tokens ({self.source})"


@dataclass(frozen=True)
class Priced:
    """A model's prices, and where they came from."""

    prices: Prices
    source: str


@dataclass(frozen=True)
class _Answers:
    """What the server and genai-prices said of one model."""

    report: Report | None = None
    listing: Listing | None = None


class _Question:
    """genai-prices, then the server, asked about one model on a thread of its own."""

    def __init__(self, model: str, ask: Ask | None, look: Look | None) -> None:
        self.answers = _Answers()
        self._listed = threading.Event()  # genai-prices was read (imported): the rest is only waiting on a server
        self._waited = False  # a server slow to answer holds up one request at most, not every one
        self._thread = threading.Thread(target=self._run, args=(model, ask, look), name="catalogue", daemon=True)
        self._thread.start()

    def wait(self, seconds: float) -> _Answers:
        """The answers, once in (or what is in after `seconds`); only the first call waits."""
        if not self._waited:
            self._waited = True
            self._thread.join(seconds)
        return self.answers

    def wait_listed(self, seconds: float) -> None:
        """Wait (at most `seconds`) until genai-prices has been read."""
        self._listed.wait(seconds)

    def _run(self, model: str, ask: Ask | None, look: Look | None) -> None:
        # genai-prices first: reading it is quick and local, and once it is imported a question still under way at
        # exit is only a server not answering, which the process may leave behind.
        self.answers = _Answers(listing=_asked(look, model, PRICE_LIST))
        self._listed.set()
        self.answers = replace(self.answers, report=_asked(ask, model, "the server"))


def _asked(question: Callable[[str], T | None] | None, model: str, whom: str) -> T | None:
    """`question(model)`; None, logged, when it fails: a catalogue's source is a help, never a requirement."""
    if question is None:
        return None
    try:
        answer = question(model)
    except Exception as exc:  # any failure of a source only leaves it out (logged, never raised)
        _log.warning("asking %s about %s failed: %s: %s", whom, model, type(exc).__name__, exc)
        return None
    _log.info("%s on %s: %s", whom, model, answer if answer is not None else "nothing")
    return answer


class Catalogue:
    """The window and prices of each model in use, from the best source that has them."""

    def __init__(
        self,
        *,
        tables: Mapping[str, ModelTable] | None = None,
        configured: int | None = None,
        ask: Ask | None = None,
        look: Look | None = None,
    ) -> None:
        self._tables = dict(tables or {})
        self._configured = configured
        self._ask = ask
        self._look = look
        self._questions: dict[str, _Question] = {}
        self._lock = threading.Lock()

    def begin(self, model: str) -> None:
        """Start asking the server and genai-prices about `model`, unless that is under way or done."""
        with self._lock:
            if model not in self._questions and (self._ask or self._look):
                self._questions[model] = _Question(model, self._ask, self._look)

    def settle(self, model: str) -> None:
        """Wait (once, a bounded time) for what the server and genai-prices say of `model`, asking them first if need
        be."""
        self.begin(model)
        if (question := self._questions.get(model)) is not None:
            question.wait(SETTLE_WITHIN)

    def window(self, model: str) -> Window:
        """`model`'s context window from the best source heard from so far; never waits."""
        answers = self._answers(model)
        table = self._tables.get(model)
        report, listing = answers.report, answers.listing
        candidates = (
            (table.context_window if table else None, _table_source(model)),
            (self._configured, CONFIGURED),
            (report.window if report else None, report.source if report else ""),
            (listing.window if listing else None, PRICE_LIST),
            (window_for(model), KNOWN_NAME),
        )
        found = (Window(tokens, source) for tokens, source in candidates if tokens)
        return next(found, Window(FALLBACK_WINDOW, ASSUMED))

    def prices(self, model: str) -> Priced | None:
        """`model`'s prices (USD per million tokens) from the best source that has them; None when none has.

        Waits for genai-prices (local: a bounded time, asking first if need be), and for the server only when nothing
        else prices the model: pricing a request's usage never holds its reply for a server slow to answer.
        """
        table = self._tables.get(model)
        if table is not None and (prices := _table_prices(table)) is not None:
            return Priced(prices, _table_source(model))
        self.begin(model)
        if (question := self._questions.get(model)) is not None:
            question.wait_listed(SETTLE_WITHIN)
        heard = self._heard(model)
        if heard is None:
            self.settle(model)  # only the server may know them: wait for it (once, a bounded time)
            heard = self._heard(model)
        return heard

    def _heard(self, model: str) -> Priced | None:
        """`model`'s prices from what the server and genai-prices said so far, the server's first."""
        answers = self._answers(model)
        if answers.report is not None and answers.report.prices is not None:
            return Priced(answers.report.prices, answers.report.source)
        if answers.listing is not None and answers.listing.prices is not None:
            return Priced(answers.listing.prices, PRICE_LIST)
        return None

    def close(self) -> None:
        """Let genai-prices finish loading (bounded), as a thread left importing a library at exit can abort the
        process; a server that has not answered yet is not waited for."""
        for question in list(self._questions.values()):
            question.wait_listed(SETTLE_WITHIN)

    def _answers(self, model: str) -> _Answers:
        question = self._questions.get(model)
        return question.answers if question is not None else _Answers()


def for_settings(settings: Settings) -> Catalogue:
    """The catalogue a session keeps: the person's settings, then what the server and genai-prices say."""
    return Catalogue(
        tables=settings.models,
        configured=settings.context_window,
        ask=partial(server_reports.ask, settings.api_base, settings.api_key),
        look=partial(price_list.listing, api_base=settings.api_base),
    )


def _table_prices(table: ModelTable) -> Prices | None:
    """The prices a model's table sets, when it sets both the input and the output price."""
    if table.input_price is None or table.output_price is None:
        return None
    return Prices(table.input_price, table.output_price, table.cached_input_price)


def _table_source(model: str) -> str:
    """`[models."qwen3"] in your settings`."""
    return f'[models."{model}"] in your settings'
