"""The classification table: retried or final, what the breaker hears, what the person reads."""

from __future__ import annotations

import pytest

from interpreter import errors
from interpreter.errors import (
    ApiConnectionError,
    ApiError,
    ApiResponseError,
    ApiStatusError,
    ApiTimeoutError,
)
from interpreter.resilience.classify import OVERSIZED, RULES, classify
from interpreter.resilience.hints import Hint

TPM_MESSAGE = (
    "Rate limit reached for gpt-4 in organization org-x on tokens per min (TPM): Limit 10000, Used 6353, "
    "Requested 4265. Please try again in 3.708s. Visit https://platform.openai.com/account/rate-limits."
)
LISTED_STATUSES = (400, 401, 403, 404, 408, 409, 422, 429, 500)


def status_error(
    status: int,
    *,
    code: str | None = None,
    type: str | None = None,
    message: str = "",
    headers: dict[str, str] | None = None,
    request_id: str | None = None,
) -> ApiStatusError:
    body = {"message": message, "type": type, "code": code}
    return ApiStatusError(f"HTTP {status}", status=status, code=code, headers=headers, body=body, request_id=request_id)


def test_a_tpm_rate_limit_waits_for_the_body_hint_without_touching_the_breaker() -> None:
    verdict = classify(status_error(429, code="rate_limit_exceeded", type="tokens", message=TPM_MESSAGE))
    assert verdict.retry
    assert verdict.breaker == "neutral"
    assert verdict.label == "rate limited (TPM)"
    assert verdict.hint == Hint(3.708, "body")


def test_an_rpm_rate_limit_with_only_a_reset_header_waits_for_that_header() -> None:
    headers = {"x-ratelimit-reset-requests": "1.5s", "x-ratelimit-reset-tokens": "40s"}
    error = status_error(
        429, code="rate_limit_exceeded", type="requests", message="on requests per min (RPM)", headers=headers
    )
    verdict = classify(error)
    assert verdict.label == "rate limited (RPM)"
    assert verdict.hint == Hint(1.5, "x-ratelimit-reset-requests")


def test_insufficient_quota_is_final_with_a_billing_message_even_if_the_server_says_retry() -> None:
    error = status_error(
        429,
        code="insufficient_quota",
        type="insufficient_quota",
        headers={"x-should-retry": "true"},
        request_id="req_9",
    )
    verdict = classify(error)
    assert not verdict.retry
    assert verdict.breaker == "neutral"
    assert "billing" in verdict.message
    assert verdict.message.endswith("(HTTP 429, request id req_9)")


def test_a_request_larger_than_the_limit_is_final() -> None:
    message = "Limit 10000, Used 0, Requested 12000. Please try again in 1m12s."
    verdict = classify(status_error(429, code="rate_limit_exceeded", type="tokens", message=message))
    assert not verdict.retry
    assert verdict.message.startswith(
        "this request is larger than your tokens-per-minute limit; shorten the conversation or raise the limit"
    )


def test_a_request_that_can_fit_is_retried() -> None:
    assert classify(status_error(429, code="rate_limit_exceeded", type="tokens", message=TPM_MESSAGE)).retry


@pytest.mark.parametrize(
    ("status", "code", "advice"),
    [
        (400, "context_length_exceeded", "start a new conversation"),
        (400, None, "the API rejected the request"),
        (401, "invalid_api_key", "check --api-key or OPENAI_API_KEY"),
        (403, None, "permissions"),
        (404, "model_not_found", "check --model and --api-base"),
        (422, None, "could not process"),
        (418, None, "refused"),
    ],
)
def test_client_errors_are_final_and_say_what_to_do(status: int, code: str | None, advice: str) -> None:
    verdict = classify(status_error(status, code=code, message="server words", request_id="req_1"))
    assert not verdict.retry
    assert verdict.breaker == "success"
    assert advice in verdict.message
    assert f"HTTP {status}, request id req_1" in verdict.message


def test_the_servers_words_are_shown_where_they_say_what_was_wrong() -> None:
    message = "Invalid value for 'temperature':\n expected a number."
    verdict = classify(status_error(400, message=message))
    assert verdict.message == (
        "the API rejected the request: Invalid value for 'temperature': expected a number. (HTTP 400)"
    )


@pytest.mark.parametrize("status", [500, 502, 503, 504, 599])
def test_server_errors_are_retried_and_count_toward_the_breaker(status: int) -> None:
    verdict = classify(status_error(status))
    assert (verdict.retry, verdict.breaker, verdict.label) == (True, "failure", f"server error {status}")


@pytest.mark.parametrize(("status", "breaker"), [(408, "failure"), (409, "neutral")])
def test_timeout_and_conflict_statuses_are_retried(status: int, breaker: str) -> None:
    verdict = classify(status_error(status))
    assert (verdict.retry, verdict.breaker) == (True, breaker)


@pytest.mark.parametrize(
    ("error", "label"),
    [
        (ApiConnectionError("cannot reach the API"), "connection failed"),
        (ApiTimeoutError("stopped answering"), "timed out"),
        (ApiResponseError("the reply stream broke"), "broken reply"),
    ],
)
def test_failures_without_a_status_are_retried_and_count(error: ApiError, label: str) -> None:
    verdict = classify(error)
    assert (verdict.retry, verdict.breaker, verdict.label) == (True, "failure", label)
    assert verdict.message == str(error)


def test_x_should_retry_false_makes_a_server_error_final() -> None:
    verdict = classify(status_error(503, headers={"x-should-retry": "false"}))
    assert not verdict.retry
    assert verdict.message == "server error 503: the server asked not to retry; try again later (HTTP 503)"


def test_x_should_retry_true_retries_a_client_error() -> None:
    assert classify(status_error(400, headers={"x-should-retry": "True"})).retry


def test_a_server_errors_retry_after_is_its_hint_but_reset_headers_are_not() -> None:
    assert classify(status_error(503, headers={"retry-after": "4"})).hint == Hint(4.0, "retry-after")
    assert classify(status_error(503, headers={"x-ratelimit-reset-tokens": "6m0s"})).hint is None


def test_an_html_error_page_from_a_proxy_is_a_retried_server_error() -> None:
    error = ApiStatusError("bad gateway", status=502, body="<html><body>502 Bad Gateway</body></html>")
    assert classify(error).retry


def test_a_body_still_wrapped_in_its_error_key_is_read() -> None:
    body = {"error": {"message": TPM_MESSAGE, "type": "tokens", "code": "rate_limit_exceeded"}}
    verdict = classify(ApiStatusError("rate limited", status=429, body=body))
    assert verdict.label == "rate limited (TPM)"
    assert verdict.hint == Hint(3.708, "body")


def _subclasses(cls: type[ApiError]) -> list[type[ApiError]]:
    return [cls, *(sub for child in cls.__subclasses__() for sub in _subclasses(child))]


def test_the_table_has_a_row_for_every_api_error_class_and_listed_status_and_code() -> None:
    layers_own = {errors.BreakerOpen, errors.AttemptFailed, errors.ContextTooLong, errors.GaveUp}  # this layer's own
    classes = [cls for cls in _subclasses(ApiError) if cls.__module__ == errors.__name__ and cls not in layers_own]
    assert {ApiConnectionError, ApiTimeoutError, ApiStatusError, ApiResponseError} <= set(classes)
    missing = [
        key
        for key in (*classes, *LISTED_STATUSES, "rate_limit_exceeded", "insufficient_quota", OVERSIZED)
        if key not in RULES
    ]
    assert missing == []


@pytest.mark.parametrize("status", [*LISTED_STATUSES, 418, 501])
def test_every_status_gets_a_labelled_verdict(status: int) -> None:
    verdict = classify(status_error(status))
    assert verdict.label
    assert verdict.message
