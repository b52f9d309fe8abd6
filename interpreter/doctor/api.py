"""The doctor's checks of the API: the endpoint answers, which server it is, which API requests go on (Chat
Completions or Responses, and why), the key is accepted, the model exists, tool calling works on that API, and the
rate-limit headroom; from two or three requests (`ask`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from interpreter.doctor import probe
from interpreter.doctor.check import Check, Status
from interpreter.doctor.headroom import HEADROOM, headroom_check
from interpreter.model.answer import Answer
from interpreter.model.api_choice import Choice, choose
from interpreter.model.catalogue import Catalogue
from interpreter.model.identity import Identity, identify, with_deployments
from interpreter.model.refusals import Needs, lacks_responses, needs_responses
from interpreter.model.remembered import FILE as REMEMBERED
from interpreter.model.remembered import RememberedSwitches
from interpreter.resilience.bodies import refuses_stream_options
from interpreter.resilience.classify import JINJA_FIX, needs_jinja
from interpreter.settings.config import AUTO, RESPONSES, Settings
from interpreter.trust.redaction import redact_url

if TYPE_CHECKING:
    import httpx2

ENDPOINT, SERVER, API, KEY, MODEL, TOOLS = "endpoint", "server", "API", "API key", "model", "tool calling"
WINDOW = "context window"
_FOR = {Needs.MODEL: "this model", Needs.TOOLS: "tools with its reasoning"}
_NO_TOOLS_FIX = "use --no-tools (or tools = false in the settings file): the model then writes fenced code blocks"
_SLOW_FIX = (
    "the server is up but slow or stuck (a local one may still be loading the model): try again, or check its load"
)
_KEY_FIXES = {
    401: "check --api-key or OPENAI_API_KEY",
    403: "check --api-key or OPENAI_API_KEY: this key may not use this API (permissions, region)",
}


@dataclass(frozen=True)
class Answers:
    """What the API said to doctor: the model list, the test request, and the test without the tool after a 400."""

    listed: Answer
    chat: Answer
    plain: Answer | None
    wire: Choice  # the API the test request went on, and why
    adaptations: tuple[str, ...] = ()  # how the test request had to change for this server, as a session changes it


def ask(settings: Settings, http: httpx2.Client) -> Answers:
    """The requests: two, one more when the server refuses `stream_options` (as a session adapts), one when tools;
    on the API a session would use, moving to the Responses API when Chat Completions refuses as a session does."""
    base, key, model = settings.api_base, settings.api_key, settings.model
    wire = choose(settings.api, base, model, RememberedSwitches(settings.home / REMEMBERED))
    listed = probe.list_models(http, base, key)
    if listed.status is None:
        return Answers(listed, Answer(), None, wire)
    if wire.wire == RESPONSES:
        return _on_responses(settings, http, listed, wire)
    chat = probe.chat_test(http, base, key, model, effort=settings.reasoning_effort)
    if settings.api == AUTO and (needs := needs_responses(chat.words)) is not None:
        return _on_responses(settings, http, listed, Choice(RESPONSES, f"auto: Chat Completions refuses {_FOR[needs]}"))
    adaptations: tuple[str, ...] = ()
    if refuses_stream_options(chat.status, chat.body):
        adaptations = (f"stream_options left out (the server refuses it: HTTP {chat.status})",)
        chat = probe.chat_test(http, base, key, model, usage=False, effort=settings.reasoning_effort)
    usage = not adaptations
    plain = probe.chat_test(http, base, key, model, tools=False, usage=usage) if chat.status == 400 else None
    return Answers(listed, chat, plain, wire, adaptations)


def _on_responses(settings: Settings, http: httpx2.Client, listed: Answer, wire: Choice) -> Answers:
    """The test request on the Responses API, and once more without the tool after a 400."""
    base, key, model, effort = settings.api_base, settings.api_key, settings.model, settings.reasoning_effort
    chat = probe.responses_test(http, base, key, model, effort=effort)
    plain = probe.responses_test(http, base, key, model, tools=False) if chat.status == 400 else None
    return Answers(listed, chat, plain, wire)


def api_check(answers: Answers) -> Check:
    """The API requests go on, and why; failed when that is the Responses API and the server has none."""
    if _lacking(answers):
        detail = f"{answers.wire.describe()}, but the server has no /responses (HTTP {answers.chat.status})"
        return Check(API, Status.FAILED, detail, 'use --api chat (or api = "chat" in the settings file)')
    return Check(API, Status.OK, answers.wire.describe())


def _lacking(answers: Answers) -> bool:
    """Whether the test request went to the Responses API of a server that has none."""
    return answers.wire.wire == RESPONSES and lacks_responses(answers.chat.status, answers.chat.code)


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
    blocked = _blocked(listed, chat) or ("needs a server with the Responses API" if _lacking(answers) else "")
    return [
        endpoint_check(redact_url(settings.api_base), listed, chat),
        server_check(listed, identity, answers.adaptations),
        api_check(answers),
        key_check(settings.api_key, listed, chat, answers.plain),
        model_check(settings.model, listed, chat, blocked),
        tools_check(chat, answers.plain, blocked),
        headroom_check(chat if chat.status is not None else listed),
    ]


def window_check(model: str, catalogue: Catalogue) -> Check:
    """The model's context window and where it comes from, once the server and genai-prices were asked; and its
    prices where known."""
    catalogue.settle(model)
    window = catalogue.window(model).describe()
    if (priced := catalogue.prices(model)) is None:
        return Check(WINDOW, Status.OK, window)
    prices = f"${priced.prices.input:g} / ${priced.prices.output:g} per million tokens in / out ({priced.source})"
    return Check(WINDOW, Status.OK, f"{window}; {prices}")


def server_check(listed: Answer, identity: Identity, adaptations: Sequence[str] = ()) -> Check:
    """Which server (and proxy) answers, from the signs it gave, and how requests are adapted to it."""
    if listed.status is None:
        return Check(SERVER, Status.SKIPPED, "the endpoint did not answer")
    adapted = f"; adapted: {', '.join(adaptations)}" if adaptations else ""
    return Check(SERVER, Status.OK, identity.describe() + adapted)


def endpoint_check(api_base: str, listed: Answer, chat: Answer) -> Check:
    """The server at `api_base` (as it may be shown: redacted) answers, as an OpenAI-compatible API."""
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
