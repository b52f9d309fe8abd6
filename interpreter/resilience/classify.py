"""The one classification table: is a failure retried or final, what does the breaker hear, what is the person told."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from typing import Final

from interpreter.errors import (
    ApiConnectionError,
    ApiError,
    ApiResponseError,
    ApiStatusError,
    ApiTimeoutError,
    AttemptFailed,
    ContextTooLong,
    WireRefused,
)
from interpreter.resilience.bodies import ErrorBody, parse_body
from interpreter.resilience.breaker import Outcome
from interpreter.resilience.durations import come_back_time
from interpreter.resilience.hints import Hint, parse_limit_numbers, server_hint

OVERSIZED: Final = "requested_over_limit"
"""Pseudo error code for a rate-limit error whose Requested exceeds its Limit: no wait can make it fit."""
USED_UP: Final = "quota_used_up"
"""Pseudo error code for a 429 whose quota renews only in a day or more: per-day quotas, an exhausted tier."""

UPSTREAM_KEY: Final = "upstream_key_refused"
"""Pseudo error code for a 401 a proxy relays: the server behind it refused the proxy's own key, not the person's."""
NO_JINJA: Final = "tools_need_jinja"
"""Pseudo error code for llama-server started without --jinja: it takes no tools, and no retry changes that."""
JINJA_FIX: Final = "start llama-server with --jinja, or use --no-tools"

REASONING_MISSING: Final = "reasoning_not_passed_back"
"""Pseudo error code for DeepSeek's thinking mode refusing earlier tool calls that came without their reasoning."""
# DeepSeek asks back the reasoning of every tool call since the last task; calls another server made have none. Its
# words, issue 11's and those zed-industries/zed#43887 quotes.
_REASONING_ASKED = re.compile(
    r"`reasoning_content` in the thinking mode must be passed back|Missing `reasoning_content` field in the assistant"
)

_DETAIL_LENGTH = 200
_DAY = 86_400.0  # Azure asks for exactly this when the pricing tier's quota is spent
# Per-day limits in the words of Groq ("tokens per day (TPD)") and others; Gemini names them in a quotaId instead.
_PER_DAY = re.compile(r"\((?:TPD|RPD)\)|\b(?:tokens|requests) per day\b", re.IGNORECASE)
_NO_QUOTA = "exceeded your current quota"  # OpenAI's insufficient_quota, also when a gateway replaced the code
# Context overflow in the words of vLLM, OpenAI, OpenRouter and LiteLLM ("maximum context length is 4096 tokens"),
# llama.cpp ("exceeds the available context size"), vLLM 0.11 ("'max_tokens' or 'max_completion_tokens' is too
# large"), Gemini ("The input token count (N) exceeds the maximum number of tokens allowed") and LM Studio ("tokens to
# keep from the initial prompt is greater than the context length").
_OVERFLOW = re.compile(
    r"maximum context length is \d+|exceeds the available context size|'max_tokens' or 'max_completion_tokens' is too"
    r" large|exceeds the maximum number of tokens allowed|tokens to keep from the initial prompt is greater than the"
    r" context length",
    re.IGNORECASE,
)


@dataclass(frozen=True)
class Rule:
    """One row of the table; `label` may use {status} and {limit}, `advice` is the final line's what-to-do."""

    retry: bool
    breaker: Outcome
    label: str
    advice: str = ""
    detail: bool = False  # append the server's own words: for these statuses they say what was wrong
    failure: type[AttemptFailed] = AttemptFailed  # what a final verdict raises; a subclass lets a caller act on it
    come_back: bool = False  # a final verdict that says when to try again, from the wait the server named
    another_model: bool = False  # this model, or its quota, refused: another model (a fallback) may answer


# Looked up by error.code first (the most specific field), then HTTP status, then exception class (by MRO).
# Breaker: server-side failures count; rate limits are backpressure, not an outage; any other answer proves the
# server is up. Status 500 stands for every status from 500 up.
RULES: Final[dict[str | int | type[ApiError], Rule]] = {
    "insufficient_quota": Rule(
        False,
        "neutral",
        "out of credit",
        "the account has no credit left (insufficient_quota): check plan and billing",
        detail=True,  # behind a gateway its words are all that says which account and which quota
        another_model=True,
    ),
    OVERSIZED: Rule(
        False,
        "neutral",
        "request too large",
        "this request is larger than your tokens-per-minute limit; shorten the conversation or raise the limit",
        another_model=True,  # limits are per model: another one's may be larger
    ),
    USED_UP: Rule(
        False,
        "neutral",
        "quota used up",
        "the quota is used up for now (a daily quota, or the pricing tier's); no short wait renews it",
        detail=True,
        come_back=True,
        another_model=True,
    ),
    UPSTREAM_KEY: Rule(
        False,
        "success",
        "the proxy's key refused",
        "the server behind the proxy refused the proxy's own key for it (yours was accepted): check the api_key in "
        "the proxy's config",
        detail=True,
    ),
    NO_JINJA: Rule(False, "success", "tools need --jinja", f"the server takes no tools: {JINJA_FIX}", detail=True),
    REASONING_MISSING: Rule(
        False,
        "success",
        "reasoning missing",
        "this conversation's code cells were run for another server, whose calls carry no reasoning, and DeepSeek in"
        " thinking mode asks for it: start a new conversation, or --resume this one with the --api-base that ran them",
        detail=True,
    ),
    "context_length_exceeded": Rule(
        False,
        "success",
        "conversation too long",
        "the conversation no longer fits the model's context window: start a new conversation or shorten this one",
        failure=ContextTooLong,  # the session trims what it sends and asks once more
    ),
    "rate_limit_exceeded": Rule(True, "neutral", "rate limited{limit}"),
    400: Rule(False, "success", "bad request", "the API rejected the request", detail=True),
    401: Rule(False, "success", "API key refused", "the API key was refused: check --api-key or OPENAI_API_KEY"),
    402: Rule(
        False,
        "neutral",
        "out of credit",
        "the account is out of credit: check plan and billing",
        detail=True,
        another_model=True,
    ),
    403: Rule(False, "success", "not allowed", "the API key may not do this: check its permissions", detail=True),
    404: Rule(
        False, "success", "not found", "not found: check --model and --api-base", detail=True, another_model=True
    ),
    408: Rule(True, "failure", "server timed out"),
    409: Rule(True, "neutral", "conflict"),
    422: Rule(False, "success", "unprocessable request", "the API could not process the request", detail=True),
    429: Rule(True, "neutral", "rate limited{limit}"),
    500: Rule(True, "failure", "server error {status}"),
    WireRefused: Rule(False, "success", "needs another API"),  # the server answered: it is up
    ApiConnectionError: Rule(True, "failure", "connection failed"),
    ApiTimeoutError: Rule(True, "failure", "timed out"),
    ApiResponseError: Rule(True, "failure", "broken reply"),
    ApiStatusError: Rule(False, "success", "HTTP {status}", "the API refused the request", detail=True),
    ApiError: Rule(False, "neutral", "API error"),
}

_LIMIT_LABELS: Final = {"tokens": " (TPM)", "requests": " (RPM)"}


@dataclass(frozen=True)
class Verdict:
    """What to do about one failed request; `message` is the line to show if this failure is the last word."""

    retry: bool
    breaker: Outcome
    label: str
    message: str
    hint: Hint | None = None
    request_id: str | None = None
    cause: str = ""  # for failures without an HTTP answer: what went wrong, in the adapter's words
    failure: type[AttemptFailed] = AttemptFailed  # the exception that carries this verdict
    words: str = ""  # the server's own message, on one line and capped
    context_window: int | None = None  # for a context overflow: the window the server named, in tokens
    another_model: bool = False  # a final refusal of this model or its quota: another model may answer


def classify(error: ApiError, *, now: datetime | None = None) -> Verdict:
    """The verdict on `error`, from its fields (code, type, status, class) and the server's wait hint."""
    if isinstance(error, ApiStatusError):
        return _status_verdict(error, now)
    rule = next(RULES[cls] for cls in type(error).__mro__ if cls in RULES)
    message = _suffixed(str(error), error.request_id)
    return Verdict(rule.retry, rule.breaker, rule.label, message, request_id=error.request_id, cause=str(error))


def _status_verdict(error: ApiStatusError, now: datetime | None) -> Verdict:
    """The verdict on an HTTP error: by error.code, else status, with `x-should-retry` and the server's hint."""
    body = parse_body(error.body)
    text = body.message or str(error)
    kind = _limit_kind(body)
    hint = server_hint(error.headers, text, now=now, kind=kind, body_delay=body.retry_delay)
    if hint is not None and hint.source.startswith("x-ratelimit-reset") and error.status != 429:
        hint = None  # reset headers time a rate-limit bucket, which says nothing about when a 503 clears
    code = _code_key(error, body, text, hint)
    rule = RULES[code] if code is not None else _status_rule(error.status)
    retry = _should_retry(rule, error.headers.get("x-should-retry"), code_decided=code is not None)
    label = rule.label.format(status=error.status, limit=_LIMIT_LABELS.get(kind or "", ""))
    words = _one_line(body.message)
    message = _message(rule, retry, label, words, error, come_back=_come_back(rule, hint, now))
    window = body.context_size if rule.failure is ContextTooLong else None
    return Verdict(
        retry,
        rule.breaker,
        label,
        message,
        hint,
        error.request_id,
        failure=rule.failure,
        words=words,
        context_window=window,
        another_model=rule.another_model,
    )


def _status_rule(status: int) -> Rule:
    """The row for an HTTP status: its own, the 5xx row, or the catch-all for unlisted statuses."""
    return RULES.get(status) or RULES[500 if status >= 500 else ApiStatusError]


def _code_key(error: ApiStatusError, body: ErrorBody, text: str, hint: Hint | None) -> str | None:
    """The table key: the error's code if the table has a row for it, else what its words and details say.

    Words count because a gateway may replace `code` and `type` with its own (LiteLLM: "429", "throttling_error"),
    and servers other than OpenAI name the same failures differently.
    """
    code = error.code or body.code
    if code == "insufficient_quota":
        return code
    if error.status in (413, 429) and _oversized(text):  # Groq answers 413 where OpenAI answers 429
        return OVERSIZED
    if error.status == 429 and _used_up(body, text, hint):
        return USED_UP
    if error.status == 401 and body.proxied:
        return UPSTREAM_KEY
    if code in RULES:
        return code
    return _key_from_words(error.status, body, text, hint)


def _oversized(text: str) -> bool:
    """Whether a rate-limit message's Requested exceeds its Limit: no wait can make it fit."""
    numbers = parse_limit_numbers(text)
    return numbers is not None and numbers[1] > numbers[0]


def _used_up(body: ErrorBody, text: str, hint: Hint | None) -> bool:
    """Whether a 429 is about a quota no short wait renews: per day (Gemini, Groq TPD), or a day's wait (Azure)."""
    per_day = any("PerDay" in quota for quota in body.quota_ids) or _PER_DAY.search(text) is not None
    named = _named(hint)
    return per_day or (named is not None and named.seconds >= _DAY)


def _key_from_words(status: int, body: ErrorBody, text: str, hint: Hint | None) -> str | None:
    """The table key a message or type names when the code does not: out of quota, or a context overflow."""
    if needs_jinja(text):  # llama-server answers it with HTTP 500, yet it is its configuration, not an outage
        return NO_JINJA
    if _REASONING_ASKED.search(text):
        return REASONING_MISSING
    if _NO_QUOTA in text.lower() and _named(hint) is None:  # Gemini says the same of a per-minute quota, with a wait
        return "insufficient_quota"
    if status in (400, 413) and (body.type == "exceed_context_size_error" or _OVERFLOW.search(text)):
        return "context_length_exceeded"
    return None


def needs_jinja(words: str) -> bool:
    """Whether a server's words say it was started without the --jinja flag that tool calling needs (llama-server)."""
    return "tools param requires --jinja flag" in words


def _named(hint: Hint | None) -> Hint | None:
    """The hint if this error named it (retry-after, its words); the reset headers every response carries name none."""
    return None if hint is None or hint.source.startswith("x-ratelimit-reset") else hint


def _come_back(rule: Rule, hint: Hint | None, now: datetime | None) -> str:
    """ "try again after 14:07" for a used-up quota whose server named a wait; empty otherwise."""
    if not rule.come_back or hint is None:
        return ""
    return f"try again after {come_back_time((now or datetime.now()).astimezone(), hint.seconds)}"


def _should_retry(rule: Rule, header: str | None, *, code_decided: bool) -> bool:
    """The rule's decision, overridden by `x-should-retry`; "true" never revives a code the table rules final."""
    header = (header or "").strip().lower()
    if header == "false":
        return False
    if header == "true" and not code_decided:
        return True
    return rule.retry


def _message(rule: Rule, retry: bool, label: str, words: str, error: ApiStatusError, *, come_back: str = "") -> str:
    """The one line for the person: what to do (and when), the server's words where useful, status and request id."""
    if retry:
        line = label
    elif rule.retry:
        line = f"{label}: the server asked not to retry; try again later"
    else:
        line = rule.advice or label
    if come_back:
        line = f"{line}; {come_back}"
    if rule.detail and words:
        line = f"{line}: {words}"
    return _suffixed(line, error.request_id, f"HTTP {error.status}")


def _one_line(words: str) -> str:
    """The server's words on one line, cut at a word boundary (with "…") past _DETAIL_LENGTH characters."""
    line = " ".join(words.split())
    if len(line) <= _DETAIL_LENGTH:
        return line
    return line[: _DETAIL_LENGTH + 1].rsplit(" ", 1)[0].rstrip(".,;:") + "…"


def _suffixed(line: str, request_id: str | None, *facts: str) -> str:
    """`line (HTTP 503, request id req_1)`: the facts a support request needs."""
    parts = [*facts, *([f"request id {request_id}"] if request_id else [])]
    return f"{line} ({', '.join(parts)})" if parts else line


def _limit_kind(body: ErrorBody) -> str | None:
    """ "tokens" or "requests": which limit a rate-limit error is about, from the error's type field."""
    kind = body.type or ""
    return next((name for name in _LIMIT_LABELS if kind.startswith(name)), None)
