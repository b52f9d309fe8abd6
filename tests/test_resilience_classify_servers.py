"""Classification of other servers' errors: by their words and details as well as their codes, never too short a wait.

Each body is the one a server sends (source beside it, from shared/PROVIDERS.md), handed over as the openai SDK does:
an object's "error" key unwrapped, any other JSON (Gemini's array, flat bodies) as it came.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from provider_errors import (
    LITELLM_OVERFLOW,
    QUOTA_WORDS,
    VLLM_OVERFLOW,
    gemini_429,
    gemini_overflow,
    llama_cpp_overflow,
    lmstudio_overflow,
    openrouter_overflow,
)

from interpreter.errors import ApiStatusError, AttemptFailed, ContextTooLong
from interpreter.resilience.bodies import parse_body
from interpreter.resilience.classify import classify
from interpreter.resilience.durations import come_back_time
from interpreter.resilience.hints import Hint

NOW = datetime(2026, 1, 1, 12, 0, 0, tzinfo=UTC)


def server_error(status: int, body: object, headers: dict[str, str] | None = None) -> ApiStatusError:
    """The error as the adapter builds it from the SDK's: the body's code read as text."""
    unwrapped = body["error"] if isinstance(body, dict) and isinstance(body.get("error"), dict) else body
    code = parse_body(unwrapped).code
    return ApiStatusError(f"HTTP {status}", status=status, code=code, headers=headers, body=unwrapped)


# ---- out of credit: final behind any gateway ------------------------------------------------------------------------


def test_out_of_quota_behind_litellm_is_final_although_the_gateway_replaced_code_and_type() -> None:
    # LiteLLM 1.110.2, observed (PROVIDERS.md, LiteLLM section): code "429", type throttling_error, words kept.
    body = {
        "error": {
            "message": f"litellm.RateLimitError: RateLimitError: OpenAIException - {QUOTA_WORDS}\n\nLiteLLM: model "
            "group 'gpt-4' failed with the error above. No fallback was attempted.",
            "type": "throttling_error",
            "param": None,
            "code": "429",
        }
    }
    verdict = classify(server_error(429, body))
    assert not verdict.retry
    assert verdict.message.startswith("the account has no credit left (insufficient_quota): check plan and billing")


@pytest.mark.parametrize(
    "body",
    [
        # DeepSeek, api-docs.deepseek.com error codes: 402 "Insufficient Balance" (body shape assumed OpenAI's,
        # PROVIDERS.md A11 DeepSeek row).
        pytest.param({"error": {"message": "Insufficient Balance", "type": "unknown_error", "code": None}}, id="ds"),
        # OpenRouter, openrouter.ai/docs errors: 402 out of credits, a numeric code, no type.
        pytest.param({"error": {"code": 402, "message": "Insufficient credits. Add more credits."}}, id="openrouter"),
    ],
)
def test_a_402_is_final_and_shows_the_servers_words(body: dict[str, Any]) -> None:
    verdict = classify(server_error(402, body))
    assert not verdict.retry
    words = body["error"]["message"]
    assert verdict.message == f"the account is out of credit: check plan and billing: {words} (HTTP 402)"


# ---- quotas no short wait renews: final, saying when to come back ---------------------------------------------------


def test_geminis_per_day_quota_is_final_and_says_when_to_come_back() -> None:
    words = f"{QUOTA_WORDS} Please retry in 3h12m."
    verdict = classify(
        server_error(429, gemini_429(words, "GenerateRequestsPerDayPerProjectPerModel", "11520s")), now=NOW
    )
    assert not verdict.retry
    back = come_back_time(NOW.astimezone(), 3 * 3600 + 12 * 60)
    assert verdict.message == (
        f"the quota is used up for now (a daily quota, or the pricing tier's); no short wait renews it; "
        f"try again after {back}: {words} (HTTP 429)"
    )


def test_groqs_tokens_per_day_limit_is_final() -> None:
    # Groq 429 on a per-day limit (PROVIDERS.md quirk 25, Groq TPD; wording as its TPM row with "per day (TPD)").
    words = (
        "Rate limit reached for model `llama-3.3-70b-versatile` in organization `org_1` service tier `on_demand` on "
        "tokens per day (TPD): Limit 100000, Used 99657, Requested 1031. Please try again in 9m38.016s."
    )
    verdict = classify(
        server_error(429, {"error": {"message": words, "type": "tokens", "code": "rate_limit_exceeded"}})
    )
    assert not verdict.retry
    assert verdict.label == "quota used up"
    assert "try again after" in verdict.message and "tokens per day (TPD)" in verdict.message


def test_azures_day_long_wait_is_final_the_tier_is_exhausted() -> None:
    # Azure: a Retry-After of 86,400 s means the tier's quota is spent (PROVIDERS.md quirk 24).
    body = {"error": {"code": "429", "message": "Please retry after 86400 seconds."}}
    verdict = classify(server_error(429, body, {"retry-after": "86400"}), now=NOW)
    assert not verdict.retry
    assert f"try again after {come_back_time(NOW.astimezone(), 86_400)}" in verdict.message


def test_groqs_413_request_too_large_is_final_not_a_rate_limit_to_wait_out() -> None:
    # Groq 413 (PROVIDERS.md quirk 25, ha-groq-cloud-api#27): code rate_limit_exceeded, but Requested > Limit.
    words = "Request too large for model `llama3-70b-8192` on tokens per minute (TPM): Limit 6000, Requested 7817."
    verdict = classify(
        server_error(413, {"error": {"message": words, "type": "tokens", "code": "rate_limit_exceeded"}})
    )
    assert not verdict.retry
    assert verdict.message.startswith("this request is larger than your tokens-per-minute limit")


# ---- waits named in the body: waited out, never shorter ------------------------------------------------------------


def test_geminis_per_minute_quota_waits_the_longer_of_its_named_waits() -> None:
    words = f"{QUOTA_WORDS} Please retry in 47.434392449s."  # the same first words as out of credit: a wait decides
    verdict = classify(server_error(429, gemini_429(words, "GenerateRequestsPerMinutePerProjectPerModel", "47s")))
    assert verdict.retry
    assert verdict.hint == Hint(47.434392449, "body")


def test_azures_retry_after_in_words_is_waited_when_no_header_comes() -> None:
    words = (
        "Requests to the ChatCompletions_Create Operation under Azure OpenAI API version 2024-10-01-preview have "
        "exceeded token rate limit of your current AIServices S0 pricing tier. Please retry after 37 seconds."
    )
    verdict = classify(server_error(429, {"error": {"code": "429", "message": words}}))
    assert verdict.retry
    assert verdict.hint == Hint(37.0, "body")


def test_litellms_renamed_retry_after_is_the_wait() -> None:
    body = {"error": {"message": "litellm.RateLimitError: Rate limit", "type": "throttling_error", "code": "429"}}
    verdict = classify(server_error(429, body, {"llm_provider-retry-after": "9"}))
    assert verdict.retry
    assert verdict.hint == Hint(9.0, "retry-after")


# ---- context overflow in every server's words -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("body", "window"),
    [
        pytest.param(VLLM_OVERFLOW, 4096, id="vllm-flat"),
        pytest.param(
            # vLLM v0.10.1 and later: the same under "error" (fms-guardrails#511).
            {"error": {"message": "This model's maximum context length is 2048 tokens.", "code": 400}},
            2048,
            id="vllm-wrapped",
        ),
        pytest.param(llama_cpp_overflow(4096), 4096, id="llamacpp"),
        pytest.param(LITELLM_OVERFLOW, 8192, id="litellm"),
        pytest.param(gemini_overflow(1_048_576, 1_200_293), 1_048_576, id="gemini"),
        # The SDK hands over only the text of LM Studio's {"error": "..."}.
        pytest.param(lmstudio_overflow(4096, 13055)["error"], 4096, id="lm-studio"),
        pytest.param(openrouter_overflow(131_072, 141_607), 131_072, id="openrouter"),
    ],
)
def test_a_context_overflow_in_any_servers_words_starts_the_trim_and_carries_the_window(
    body: object, window: int
) -> None:
    error = server_error(400, body)
    verdict = classify(error)
    assert verdict.failure is ContextTooLong
    assert not verdict.retry
    failure = verdict.failure(verdict, error)
    assert isinstance(failure, ContextTooLong) and failure.window == window


def test_a_400_that_is_no_overflow_is_not_taken_for_one() -> None:
    # Gemini 3, issue 11: the array body, a refusal of the request's shape; its words reach the person.
    body = [{"error": {"code": 400, "message": "Function call is missing a thought_signature in functionCall parts."}}]
    verdict = classify(server_error(400, body))
    assert verdict.failure is AttemptFailed
    assert verdict.message == (
        "the API rejected the request: Function call is missing a thought_signature in functionCall parts. (HTTP 400)"
    )


def test_mistrals_422_names_the_refused_field_in_the_line() -> None:
    body = {
        "object": "error",
        "message": {"detail": [{"type": "extra_forbidden", "loc": ["body", "stream_options"], "msg": "Extra inputs"}]},
        "type": "invalid_request_message_error",
        "code": None,
    }
    verdict = classify(server_error(422, body))
    assert verdict.message == ("the API could not process the request: body.stream_options: Extra inputs (HTTP 422)")


@pytest.mark.parametrize(
    "words",
    [
        "The `reasoning_content` in the thinking mode must be passed back to the API.",  # issue 11
        "Missing `reasoning_content` field in the assistant message at message index 2",  # zed-industries/zed#43887
    ],
)
def test_deepseeks_refusal_of_calls_without_their_reasoning_is_final_and_says_what_to_do(words: str) -> None:
    # DeepSeek thinking mode (body shape OpenAI's, UNCONFIRMED).
    verdict = classify(server_error(400, {"error": {"message": words, "type": "invalid_request_error"}}))
    assert not verdict.retry
    assert verdict.message.startswith("this conversation's code cells were run for another server")
    assert verdict.message.endswith(f"--api-base that ran them: {words} (HTTP 400)")
