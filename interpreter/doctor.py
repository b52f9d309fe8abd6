"""`interpreter doctor`: a few seconds of checks, each failure with its fix in one line.

The endpoint answers, the key is accepted, the model exists, tool calling works, the rate-limit headroom the
server reports, the store of the shared rate-limit budget answers, which languages can run here, which Python runs
python cells, whether cells can be sandboxed, and whether the home directory is writable.
"""

from __future__ import annotations

import enum
import os
import sys
import tempfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, TextIO

from interpreter import probe
from interpreter.config import Settings, ensure_home
from interpreter.errors import BudgetStoreUnavailable, ConfigError
from interpreter.execution import sandbox
from interpreter.execution.interpreters import choose_python
from interpreter.execution.languages import LANGUAGES, Language
from interpreter.identity import Identity, identify, retry_warning, with_deployments
from interpreter.probe import Answer
from interpreter.resilience.bodies import refuses_stream_options
from interpreter.resilience.classify import JINJA_FIX, needs_jinja
from interpreter.resilience.durations import format_wait, parse_duration
from interpreter.resilience.shared.store import budget_key, open_store
from interpreter.words import counted

if TYPE_CHECKING:
    import httpx2

ENDPOINT, SERVER, KEY, MODEL = "endpoint", "server", "API key", "model"
TOOLS, HEADROOM = "tool calling", "rate limits"
LANGUAGES_CHECK, PYTHON_CHECK, SANDBOX, HOME = "languages", "python", "sandbox", "home directory"
STORE = "shared budget"
_NO_TOOLS_FIX = "use --no-tools (or tools = false in the settings file): the model then writes fenced code blocks"
_SLOW_FIX = (
    "the server is up but slow or stuck (a local one may still be loading the model): try again, or check its load"
)
_KEY_FIXES = {
    401: "check --api-key or OPENAI_API_KEY",
    403: "check --api-key or OPENAI_API_KEY: this key may not use this API (permissions, region)",
}


class Status(enum.Enum):
    """How a check came out."""

    OK = "ok"
    FAILED = "failed"
    SKIPPED = "skipped"  # not checked: it needs something an earlier check found broken


@dataclass(frozen=True)
class Check:
    """One line of the report: what was checked, how it came out, the facts, and the fix when it failed."""

    name: str
    status: Status
    detail: str
    fix: str = ""


def run(
    settings: Settings,
    *,
    out: TextIO | None = None,
    terminal: bool | None = None,
    read_timeout: float = probe.READ_TIMEOUT,
) -> int:
    """Run every check and print the report on `out` (stdout), after the warnings if any; 0 if all pass."""
    from interpreter.ui.checklist import print_checklist  # noqa: PLC0415 - the ui module reads this module's values

    out = sys.stdout if out is None else out
    if settings.key_warning:  # a warning, not a failed check: OPENAI_API_KEY with --api-base is a common setup
        print(f"warning: {settings.key_warning}\n", file=out)
    with probe.client(read_timeout) as http:
        answers = ask(settings, http)
        identity = identify_server(settings, answers, http)
    if warning := retry_warning(identity):  # a proxy's habit, not a fault: the setup works, but waits stack up
        print(f"warning: {warning}\n", file=out)
    checks = [*api_checks(settings, answers, identity), store_check(settings), languages_check()]
    checks += [python_check(settings.python), sandbox_check(sandbox.probe(), wanted=settings.sandbox)]
    checks.append(home_check(settings.home))
    print_checklist(checks, out, terminal=terminal)
    return 1 if any(check.status is Status.FAILED for check in checks) else 0


@dataclass(frozen=True)
class Answers:
    """What the API said to doctor: the model list, the test request, and the test without the tool after a 400."""

    listed: Answer
    chat: Answer
    plain: Answer | None
    adaptations: tuple[str, ...] = ()  # how the test request had to change for this server, as a session changes it


def ask(settings: Settings, http: httpx2.Client) -> Answers:
    """The requests: two, one more when the server refuses `stream_options` (as a session adapts), one when tools."""
    base, key, model = settings.api_base, settings.api_key, settings.model
    listed = probe.list_models(http, base, key)
    chat = Answer() if listed.status is None else probe.chat_test(http, base, key, model)
    adaptations: tuple[str, ...] = ()
    if refuses_stream_options(chat.status, chat.body):
        adaptations = (f"stream_options left out (the server refuses it: HTTP {chat.status})",)
        chat = probe.chat_test(http, base, key, model, usage=False)
    usage = not adaptations
    plain = probe.chat_test(http, base, key, model, tools=False, usage=usage) if chat.status == 400 else None
    return Answers(listed, chat, plain, adaptations)


def identify_server(settings: Settings, answers: Answers, http: httpx2.Client) -> Identity:
    """Which server answered, and, behind a proxy that does not say how often it retries, its config for the model."""
    identity = identify([answers.listed, answers.chat])
    if identity.proxy is None or identity.proxy_retries is not None:
        return identity
    deployments = probe.deployments(http, settings.api_base, settings.api_key)
    return with_deployments(identity, deployments, settings.model)


def api_checks(settings: Settings, answers: Answers, identity: Identity) -> list[Check]:
    """The checks read from the API's answers."""
    listed, chat = answers.listed, answers.chat
    blocked = _blocked(listed, chat)
    return [
        endpoint_check(settings.api_base, listed, chat),
        server_check(listed, identity, answers.adaptations),
        key_check(settings.api_key, listed, chat, answers.plain),
        model_check(settings.model, listed, chat, blocked),
        tools_check(chat, answers.plain, blocked),
        headroom_check(chat if chat.status is not None else listed),
    ]


def server_check(listed: Answer, identity: Identity, adaptations: Sequence[str] = ()) -> Check:
    """Which server (and proxy) answers, from the signs it gave, and how requests are adapted to it."""
    if listed.status is None:
        return Check(SERVER, Status.SKIPPED, "the endpoint did not answer")
    adapted = f"; adapted: {', '.join(adaptations)}" if adaptations else ""
    return Check(SERVER, Status.OK, identity.describe() + adapted)


def endpoint_check(api_base: str, listed: Answer, chat: Answer) -> Check:
    """The server at `api_base` answers, as an OpenAI-compatible API."""
    if listed.timed_out:
        return Check(ENDPOINT, Status.FAILED, f"{api_base} took the request but sent {listed.failure}", _SLOW_FIX)
    if listed.status is None:
        fix = "check --api-base (or OPENAI_BASE_URL) and that the server is running"
        return Check(ENDPOINT, Status.FAILED, f"{api_base}: {listed.failure}", fix)
    if chat.timed_out:
        detail = f"{api_base} answered GET /models (HTTP {listed.status}), but the test request got {chat.failure}"
        return Check(ENDPOINT, Status.FAILED, detail, _SLOW_FIX)
    if _no_chat_api(listed, chat):
        detail = f"{api_base} answers, but has no /chat/completions (HTTP 404)"
        return Check(ENDPOINT, Status.FAILED, detail, "check --api-base: it usually ends in /v1")
    return Check(ENDPOINT, Status.OK, f"{api_base} answered (HTTP {listed.status})")


def key_check(api_key: str, listed: Answer, chat: Answer, plain: Answer | None = None) -> Check:
    """There is a key, and the server accepts it: an answer proves it, an error unrelated to the key does not."""
    if not api_key:
        fix = "pass --api-key, set OPENAI_API_KEY, or set api_key in the settings file"
        return Check(KEY, Status.FAILED, "no API key given", fix)
    if (refused := _refused_key(listed, chat)) is not None:
        return refused
    if chat.code == "insufficient_quota":
        detail = "accepted, but the account has no credit (insufficient_quota)"
        return Check(KEY, Status.FAILED, detail, "add credit to the account: check its plan and billing")
    if listed.status is None:
        return Check(KEY, Status.SKIPPED, "the endpoint did not answer")
    if any(answer is not None and answer.ok for answer in (listed, chat, plain)):
        return Check(KEY, Status.OK, "accepted")
    return _unchecked_key(chat if chat.status is not None else listed)


def _refused_key(listed: Answer, chat: Answer) -> Check | None:
    """The key check when an answer refused a key: the person's, or the proxy's own, refused behind the proxy."""
    if chat.status == 401 and chat.fault.proxied:  # the proxy took the key; the server behind it refused the proxy's
        detail = f"accepted by the proxy, but the server behind it refused the proxy's own key: {chat.words}"
        return Check(KEY, Status.FAILED, detail, "check the api_key in the proxy's config")
    refusal = next((answer for answer in (chat, listed) if answer.status in _KEY_FIXES), None)
    if refusal is None or refusal.status is None:
        return None
    return Check(KEY, Status.FAILED, f"refused (HTTP {refusal.status}): {refusal.words}", _KEY_FIXES[refusal.status])


def _unchecked_key(answer: Answer) -> Check:
    """The key check when every answer was an error that says nothing about the key (a 5xx, a proxy's own)."""
    detail = f"could not check: the server answered HTTP {answer.status}: {answer.words}"
    if answer.fault.type == "no_db_connection":  # LiteLLM without a database says this to any key but its master key
        return Check(KEY, Status.SKIPPED, detail, "a LiteLLM proxy without a database takes only its master key")
    return Check(KEY, Status.SKIPPED, detail)


def model_check(model: str, listed: Answer, chat: Answer, blocked: str) -> Check:
    """The model answers, or at least the server lists it."""
    if blocked:
        return Check(MODEL, Status.SKIPPED, blocked)
    names = probe.model_names(listed)
    if chat.ok:
        return Check(MODEL, Status.OK, f"{model} answered")
    if chat.code == "model_not_found" or (names and model not in names):
        listing = f"; the server lists {_some(names)}" if names else ""
        example = f" (e.g. -m {names[0]})" if names else ""
        return Check(MODEL, Status.FAILED, f"{model} is not available{listing}", f"pick a model with -m NAME{example}")
    if model in names:
        return Check(MODEL, Status.OK, f"{model} is listed")
    return Check(MODEL, Status.SKIPPED, f"not known: the test request failed (see {TOOLS})")


def tools_check(chat: Answer, plain: Answer | None, blocked: str) -> Check:
    """The model calls the tool it is offered; `plain` is the same request without it, sent after a 400."""
    if blocked:
        return Check(TOOLS, Status.SKIPPED, blocked)
    if chat.ok and probe.called_a_tool(chat):
        return Check(TOOLS, Status.OK, "the model called the test tool")
    if chat.ok:
        return Check(TOOLS, Status.FAILED, "the model answered in text, ignoring the offered tool", _NO_TOOLS_FIX)
    if plain is not None and plain.ok:
        return Check(TOOLS, Status.FAILED, f"the server refuses the tool (HTTP 400: {chat.words})", _NO_TOOLS_FIX)
    return _unanswered(chat)


def _unanswered(chat: Answer) -> Check:
    """The tool check when the test request got no usable answer."""
    if chat.status is None:
        fix = "try again; if it keeps failing, the server is overloaded or down"
        return Check(TOOLS, Status.FAILED, f"the test request failed: {chat.failure}", fix)
    if chat.status == 404:
        return Check(TOOLS, Status.SKIPPED, "needs an available model")
    if needs_jinja(chat.words):
        return Check(TOOLS, Status.FAILED, f"the server takes no tools: {chat.words} (HTTP {chat.status})", JINJA_FIX)
    if chat.status == 429:
        fix = f"wait until the limit resets (see {HEADROOM}), then run interpreter doctor again"
        return Check(TOOLS, Status.FAILED, f"not known: rate limited now: {chat.words}", fix)
    fix = "check --model and --api-base; the server's words above say what it refused"
    return Check(TOOLS, Status.FAILED, f"the test request failed (HTTP {chat.status}): {chat.words}", fix)


@dataclass(frozen=True)
class Headroom:
    """One rate limit as the response headers report it; None where a header is missing or says "unknown"."""

    kind: str
    limit: int | None
    remaining: int | None
    reset: float | None

    @classmethod
    def read(cls, headers: Mapping[str, str], kind: str) -> Headroom | None:
        """The `kind` ("requests" or "tokens") limit in `headers`; None when the server reports neither number."""
        limit = _number(headers.get(f"x-ratelimit-limit-{kind}"), lowest=1)  # -1 and 0 mean "unknown"
        remaining = _number(headers.get(f"x-ratelimit-remaining-{kind}"), lowest=0 if limit else 1)
        if limit is None and remaining is None:
            return None
        return cls(kind, limit, remaining, parse_duration(headers.get(f"x-ratelimit-reset-{kind}", "")))

    def describe(self) -> str:
        """`requests: 499 of 500 left, full in 0.1s`."""
        left = "?" if self.remaining is None else str(self.remaining)
        total = f" of {self.limit}" if self.limit is not None else ""
        full = f", full in {format_wait(self.reset)}" if self.reset is not None else ""
        return f"{self.kind}: {left}{total} left{full}"


def headroom_check(answer: Answer) -> Check:
    """The rate-limit budget left, from `answer`'s x-ratelimit-* headers."""
    if answer.status is None:
        return Check(HEADROOM, Status.SKIPPED, "the endpoint did not answer")
    limits = [found for kind in ("requests", "tokens") if (found := Headroom.read(answer.headers, kind)) is not None]
    if not limits:
        return Check(HEADROOM, Status.OK, "not reported by this server")
    detail = "; ".join(limit.describe() for limit in limits)
    used_up = [limit for limit in limits if limit.remaining == 0]
    if used_up:
        wait = format_wait(max(limit.reset or 0.0 for limit in used_up))
        return Check(HEADROOM, Status.FAILED, detail, f"wait {wait} for the budget to refill, or ask for higher limits")
    return Check(HEADROOM, Status.OK, detail)


def store_check(settings: Settings) -> Check:
    """The store of the shared rate-limit budget answers: one step on the budget this setup's sessions would share."""
    store = open_store(settings.rate_limit_store, settings.home)
    if store is None:
        return Check(STORE, Status.OK, "off: each session limits itself alone")
    key = budget_key(settings.api_base, settings.api_key, settings.model)
    try:
        view = store.view(key, "doctor")
    except BudgetStoreUnavailable as exc:
        fix = "start the store or fix rate_limit_store; until then each session limits itself alone"
        return Check(STORE, Status.FAILED, str(exc), fix)
    finally:
        store.close()
    return Check(STORE, Status.OK, f"{store.where} answered; {counted(view.others, 'session')} used it lately")


def languages_check(table: Sequence[Language] = LANGUAGES) -> Check:
    """Which languages of the table can run here (their programs are installed); no process is started."""
    found = {language.name: language.executable() is not None for language in table}
    usable = [name for name, ok in found.items() if ok]
    missing = [f"{language.name} ({language.program})" for language in table if not found[language.name]]
    detail = ", ".join(usable) or "none"
    if missing:
        detail += f"; not installed: {', '.join(missing)}"
    if not usable:
        return Check(LANGUAGES_CHECK, Status.FAILED, detail, "install python3 or bash")
    return Check(LANGUAGES_CHECK, Status.OK, detail)


def sandbox_check(found: sandbox.Availability, *, wanted: bool) -> Check:
    """Whether cells can be sandboxed here, at which Landlock ABI; a failure only when the settings ask for it."""
    if found.available:
        use = "on" if wanted else "off; --sandbox turns it on"
        return Check(SANDBOX, Status.OK, f"available: Landlock ABI {found.abi} and a seccomp filter ({use})")
    if wanted:
        return Check(SANDBOX, Status.FAILED, f"not available: {found.problem}", sandbox.FIX)
    return Check(SANDBOX, Status.SKIPPED, f"not available: {found.problem} (only --sandbox needs it)")


def python_check(setting: str | None, environ: Mapping[str, str] | None = None) -> Check:
    """The Python python cells run on, and its version (it is started once to ask); failed when the person's is
    passed over for the tool's own."""
    choice = choose_python(setting, os.environ if environ is None else environ)
    if choice.refused:
        fix = "set python in the settings file to a Python 3.8 or newer, or activate an environment that has one"
        return Check(PYTHON_CHECK, Status.FAILED, choice.banner(), fix)
    return Check(PYTHON_CHECK, Status.OK, choice.banner())


def home_check(home: Path) -> Check:
    """The home directory exists (or can be made) and takes a new file."""
    fix = "fix its permissions, or set INTERPRETER_HOME to a writable directory"
    try:
        ensure_home(home)
        with tempfile.TemporaryFile(dir=home):
            pass
    except ConfigError as exc:
        return Check(HOME, Status.FAILED, str(exc), fix)
    except OSError as exc:
        return Check(HOME, Status.FAILED, f"{home} is not writable: {exc.strerror}", fix)
    return Check(HOME, Status.OK, f"{home} is writable")


def _blocked(listed: Answer, chat: Answer) -> str:
    """Why the model and tool checks cannot be judged; "" when they can."""
    if listed.status is None:
        return "the endpoint did not answer"
    if chat.timed_out:
        return "the endpoint did not answer the test request in time"
    if chat.status in _KEY_FIXES:
        return "needs an accepted API key"
    if chat.code == "insufficient_quota":
        return "needs an account with credit"
    if _no_chat_api(listed, chat):
        return "needs a chat API at --api-base"
    return ""


def _no_chat_api(listed: Answer, chat: Answer) -> bool:
    """Whether neither /models nor /chat/completions exists: the base URL is wrong."""
    return listed.status == 404 and chat.status == 404 and chat.code != "model_not_found"


def _some(names: Sequence[str], most: int = 5) -> str:
    """`a, b, c` or `a, b, c, d, e and 12 more`."""
    shown = ", ".join(names[:most])
    return f"{shown} and {len(names) - most} more" if len(names) > most else shown


def _number(text: str | None, *, lowest: int) -> int | None:
    """A header's whole number if it is at least `lowest`; else None."""
    try:
        value = int(text) if text is not None else None
    except ValueError:
        return None
    return value if value is not None and value >= lowest else None
