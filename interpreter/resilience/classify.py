"""The one classification table: is a failure retried or final, what does the breaker hear, what is the person told."""

from __future__ import annotations

from collections.abc import Mapping
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
)
from interpreter.resilience.breaker import Outcome
from interpreter.resilience.hints import Hint, parse_limit_numbers, server_hint

OVERSIZED: Final = "requested_over_limit"
"""Pseudo error code for a rate-limit error whose Requested exceeds its Limit: no wait can make it fit."""

_DETAIL_LENGTH = 200


@dataclass(frozen=True)
class Rule:
    """One row of the table; `label` may use {status} and {limit}, `advice` is the final line's what-to-do."""

    retry: bool
    breaker: Outcome
    label: str
    advice: str = ""
    detail: bool = False  # append the server's own words: for these statuses they say what was wrong
    failure: type[AttemptFailed] = AttemptFailed  # what a final verdict raises; a subclass lets a caller act on it


# Looked up by error.code first (the most specific field), then HTTP status, then exception class (by MRO).
# Breaker: server-side failures count; rate limits are backpressure, not an outage; any other answer proves the
# server is up. Status 500 stands for every status from 500 up.
RULES: Final[dict[str | int | type[ApiError], Rule]] = {
    "insufficient_quota": Rule(
        False, "neutral", "out of credit", "the account has no credit left (insufficient_quota): check plan and billing"
    ),
    OVERSIZED: Rule(
        False,
        "neutral",
        "request too large",
        "this request is larger than your tokens-per-minute limit; shorten the conversation or raise the limit",
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
    403: Rule(False, "success", "not allowed", "the API key may not do this: check its permissions", detail=True),
    404: Rule(False, "success", "not found", "not found: check --model and --api-base", detail=True),
    408: Rule(True, "failure", "server timed out"),
    409: Rule(True, "neutral", "conflict"),
    422: Rule(False, "success", "unprocessable request", "the API could not process the request", detail=True),
    429: Rule(True, "neutral", "rate limited{limit}"),
    500: Rule(True, "failure", "server error {status}"),
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


def classify(error: ApiError, *, now: datetime | None = None) -> Verdict:
    """The verdict on `error`, from its fields (code, type, status, class) and the server's wait hint."""
    if isinstance(error, ApiStatusError):
        return _status_verdict(error, now)
    rule = next(RULES[cls] for cls in type(error).__mro__ if cls in RULES)
    message = _suffixed(str(error), error.request_id)
    return Verdict(rule.retry, rule.breaker, rule.label, message, request_id=error.request_id, cause=str(error))


def _status_verdict(error: ApiStatusError, now: datetime | None) -> Verdict:
    """The verdict on an HTTP error: by error.code, else status, with `x-should-retry` and the server's hint."""
    fields = _error_fields(error.body)
    words = _server_words(fields, error.body)
    text = words or str(error)
    kind = _limit_kind(fields)
    code = _code_key(error, fields, text)
    rule = RULES[code] if code is not None else _status_rule(error.status)
    retry = _should_retry(rule, error.headers.get("x-should-retry"), code_decided=code is not None)
    label = rule.label.format(status=error.status, limit=_LIMIT_LABELS.get(kind or "", ""))
    hint = server_hint(error.headers, text, now=now, kind=kind)
    if hint is not None and hint.source.startswith("x-ratelimit-reset") and error.status != 429:
        hint = None  # reset headers time a rate-limit bucket, which says nothing about when a 503 clears
    message = _message(rule, retry, label, words, error)
    return Verdict(retry, rule.breaker, label, message, hint, error.request_id, failure=rule.failure)


def _status_rule(status: int) -> Rule:
    """The row for an HTTP status: its own, the 5xx row, or the catch-all for unlisted statuses."""
    return RULES.get(status) or RULES[500 if status >= 500 else ApiStatusError]


def _code_key(error: ApiStatusError, fields: Mapping[str, object], text: str) -> str | None:
    """The table key for the error's code, if the table has a row for it; OVERSIZED when Requested > Limit."""
    code = error.code or _string(fields.get("code"))
    numbers = parse_limit_numbers(text) if error.status == 429 and code != "insufficient_quota" else None
    if numbers is not None and numbers[1] > numbers[0]:
        return OVERSIZED
    return code if code in RULES else None


def _should_retry(rule: Rule, header: str | None, *, code_decided: bool) -> bool:
    """The rule's decision, overridden by `x-should-retry`; "true" never revives a code the table rules final."""
    header = (header or "").strip().lower()
    if header == "false":
        return False
    if header == "true" and not code_decided:
        return True
    return rule.retry


def _message(rule: Rule, retry: bool, label: str, words: str, error: ApiStatusError) -> str:
    """The one line for the person: what to do, the server's words where useful, the status and request id."""
    if retry:
        line = label
    elif rule.retry:
        line = f"{label}: the server asked not to retry; try again later"
    else:
        line = rule.advice or label
    detail = " ".join(words.split())[:_DETAIL_LENGTH] if rule.detail else ""
    if detail:
        line = f"{line}: {detail}"
    return _suffixed(line, error.request_id, f"HTTP {error.status}")


def _suffixed(line: str, request_id: str | None, *facts: str) -> str:
    """`line (HTTP 503, request id req_1)`: the facts a support request needs."""
    parts = [*facts, *([f"request id {request_id}"] if request_id else [])]
    return f"{line} ({', '.join(parts)})" if parts else line


def _error_fields(body: object) -> Mapping[str, object]:
    """The error object of a body, whether or not the SDK already unwrapped its "error" key."""
    if not isinstance(body, Mapping):
        return {}
    inner = body.get("error")
    return inner if isinstance(inner, Mapping) else body


def _server_words(fields: Mapping[str, object], body: object) -> str:
    """The server's own error message: the body's message field, or the body itself when it is text."""
    return _string(fields.get("message")) or _string(body) or ""


def _limit_kind(fields: Mapping[str, object]) -> str | None:
    """ "tokens" or "requests": which limit a rate-limit error is about, from the error's type field."""
    kind = _string(fields.get("type")) or ""
    return next((name for name in _LIMIT_LABELS if kind.startswith(name)), None)


def _string(value: object) -> str | None:
    """`value` if it is a non-empty string."""
    return value if isinstance(value, str) and value else None
