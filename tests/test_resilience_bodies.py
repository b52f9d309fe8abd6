"""Error bodies of every shape give the server's own words, code, type, quotas and named wait; none raises."""

from __future__ import annotations

from typing import Any

import pytest
from provider_errors import LITELLM_OVERFLOW

from interpreter.resilience.bodies import ErrorBody, parse_body

# Gemini 429, shared/PROVIDERS.md A11 (Gemini row): an array, `status` instead of `type`, google.rpc details.
GEMINI_429: list[dict[str, Any]] = [
    {
        "error": {
            "code": 429,
            "message": "You exceeded your current quota, please check your plan and billing details. "
            "Please retry in 47.434392449s.",
            "status": "RESOURCE_EXHAUSTED",
            "details": [
                {
                    "@type": "type.googleapis.com/google.rpc.QuotaFailure",
                    "violations": [
                        {"quotaMetric": "m", "quotaId": "GenerateRequestsPerMinutePerProjectPerModel-FreeTier"}
                    ],
                },
                {"@type": "type.googleapis.com/google.rpc.RetryInfo", "retryDelay": "47s"},
            ],
        }
    }
]
# Mistral 422, issue 11 and PROVIDERS.md quirk 9: `message` is an object holding FastAPI's detail list.
MISTRAL_422 = {
    "object": "error",
    "message": {
        "detail": [
            {
                "type": "extra_forbidden",
                "loc": ["body", "stream_options"],
                "msg": "Extra inputs are not permitted",
                "input": {"include_usage": True},
            }
        ]
    },
    "type": "invalid_request_message_error",
    "param": None,
    "code": None,
}
# LiteLLM proxy 1.110.2 in front of OpenAI, observed here (PROVIDERS.md, LiteLLM section).
LITELLM_429 = {
    "message": "litellm.RateLimitError: RateLimitError: OpenAIException - You exceeded your current quota, please "
    "check your plan and billing details.\n\nLiteLLM: model group 'gpt-4' failed with the error above. No fallback "
    "was attempted.",
    "type": "throttling_error",
    "param": None,
    "code": "429",
}


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        pytest.param(
            GEMINI_429,
            ErrorBody(
                message=GEMINI_429[0]["error"]["message"],
                code="429",
                type="RESOURCE_EXHAUSTED",
                quota_ids=("GenerateRequestsPerMinutePerProjectPerModel-FreeTier",),
                retry_delay=47.0,
            ),
            id="gemini-array",
        ),
        pytest.param(
            # page-assist#406 (PROVIDERS.md A2): the array without details.
            [{"error": {"code": 429, "message": "Resource has been exhausted (e.g. check quota).", "status": "X"}}],
            ErrorBody(message="Resource has been exhausted (e.g. check quota).", code="429", type="X"),
            id="gemini-array-no-details",
        ),
        pytest.param(
            # vLLM before v0.10.1, vllm#12886 (PROVIDERS.md, context overflow table): flat, a numeric code.
            {
                "object": "error",
                "message": "This model's maximum context length is 4096 tokens. However, you requested 5000 tokens.",
                "type": "BadRequestError",
                "param": None,
                "code": 400,
            },
            ErrorBody(
                message="This model's maximum context length is 4096 tokens. However, you requested 5000 tokens.",
                code="400",
                type="BadRequestError",
                context_size=4096,
            ),
            id="vllm-flat",
        ),
        pytest.param(
            MISTRAL_422,
            ErrorBody(
                message="body.stream_options: Extra inputs are not permitted", type="invalid_request_message_error"
            ),
            id="mistral-422-message-object",
        ),
        pytest.param(
            # Mistral 429, PROVIDERS.md A11: flat, the code a string of digits.
            {"object": "error", "message": "Rate limit exceeded", "type": "rate_limited", "code": "1300"},
            ErrorBody(message="Rate limit exceeded", code="1300", type="rate_limited"),
            id="mistral-429",
        ),
        pytest.param(
            {"message": "Requests rate limit exceeded"},  # Mistral's bare 429 (PROVIDERS.md A11)
            ErrorBody(message="Requests rate limit exceeded"),
            id="bare-message",
        ),
        pytest.param(
            {"detail": "Not authenticated"},  # FastAPI's HTTPException, as a string
            ErrorBody(message="Not authenticated"),
            id="fastapi-detail-string",
        ),
        pytest.param(
            # Azure 429, PROVIDERS.md A11: `code` the status as a string, no `type`.
            {"code": "429", "message": "Please retry after 37 seconds."},
            ErrorBody(message="Please retry after 37 seconds.", code="429"),
            id="azure-string-code",
        ),
        pytest.param(
            # llama.cpp server-task.cpp (PROVIDERS.md, context overflow table): its own type, n_ctx beside.
            {
                "code": 400,
                "message": "request (9000 tokens) exceeds the available context size (4096 tokens), try increasing it",
                "type": "exceed_context_size_error",
                "n_prompt_tokens": 9000,
                "n_ctx": 4096,
            },
            ErrorBody(
                message="request (9000 tokens) exceeds the available context size (4096 tokens), try increasing it",
                code="400",
                type="exceed_context_size_error",
                context_size=4096,
            ),
            id="llamacpp-overflow",
        ),
        pytest.param(
            LITELLM_429,
            ErrorBody(
                message="You exceeded your current quota, please check your plan and billing details.",
                code="429",
                type="throttling_error",
                proxied=True,
            ),
            id="litellm-wrapped",
        ),
        pytest.param(
            LITELLM_OVERFLOW,
            ErrorBody(
                message="This model's maximum context length is 8192 tokens. However, your messages resulted in "
                "9001 tokens.",
                code="400",
                context_size=8192,
                proxied=True,
            ),
            id="litellm-overflow",
        ),
        pytest.param({"error": {"message": "wrapped", "code": 7}}, ErrorBody("wrapped", "7"), id="still-wrapped"),
        pytest.param({"error": "plain text error"}, ErrorBody("plain text error"), id="error-as-text"),
        pytest.param("upstream timed out", ErrorBody("upstream timed out"), id="text-body"),
        pytest.param(None, ErrorBody(), id="no-body"),
        pytest.param([], ErrorBody(), id="empty-array"),
        pytest.param({"message": {"weird": 1}, "code": True}, ErrorBody(), id="nonsense"),
    ],
)
def test_every_body_shape_gives_the_servers_own_words(body: object, expected: ErrorBody) -> None:
    assert parse_body(body) == expected


def test_a_message_that_only_looks_like_litellms_is_left_whole() -> None:
    message = "RateLimitError: OpenAIException - kept, for no proxy said it"
    assert parse_body({"message": message}).message == message
