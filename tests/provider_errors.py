"""Other servers' error bodies, each as its source shows it, for the tests of the resilience layer."""

from __future__ import annotations

from typing import Any


def gemini_429(message: str, quota_id: str, delay: str) -> list[dict[str, Any]]:
    """Gemini's 429: an array, RESOURCE_EXHAUSTED, QuotaFailure and RetryInfo, no retry-after (PROVIDERS.md A11)."""
    details = [
        {"@type": "type.googleapis.com/google.rpc.QuotaFailure", "violations": [{"quotaId": quota_id}]},
        {"@type": "type.googleapis.com/google.rpc.RetryInfo", "retryDelay": delay},
    ]
    return [{"error": {"code": 429, "message": message, "status": "RESOURCE_EXHAUSTED", "details": details}}]


# vLLM before v0.10.1 (vllm#12886): a flat body.
VLLM_OVERFLOW = {
    "object": "error",
    "message": "This model's maximum context length is 4096 tokens. However, you requested 5000 tokens (4000 in the "
    "messages, 1000 in the completion). Please reduce the length of the messages or completion.",
    "type": "BadRequestError",
    "param": None,
    "code": 400,
}


def llama_cpp_overflow(n_ctx: int) -> dict[str, Any]:
    """llama.cpp server-task.cpp: exceed_context_size_error, with n_ctx and n_prompt_tokens."""
    return {
        "error": {
            "code": 400,
            "message": f"request (9000 tokens) exceeds the available context size ({n_ctx} tokens), try increasing it",
            "type": "exceed_context_size_error",
            "n_prompt_tokens": 9000,
            "n_ctx": n_ctx,
        }
    }


QUOTA_WORDS = "You exceeded your current quota, please check your plan and billing details."


def litellm_429(words: str) -> dict[str, Any]:
    """LiteLLM 1.110.2's 429 (observed, PROVIDERS.md LiteLLM section): the upstream's words wrapped, code "429"."""
    message = (
        f"litellm.RateLimitError: RateLimitError: OpenAIException - {words}\n\nLiteLLM: model group 'gpt-4' failed "
        "with the error above. No fallback was attempted."
    )
    return {"error": {"message": message, "type": "throttling_error", "param": None, "code": "429"}}


def azure_429(seconds: int) -> dict[str, Any]:
    """Azure OpenAI's 429 (PROVIDERS.md A11): the wait in the words, the code the status as a string, no type."""
    message = (
        "Requests to the ChatCompletions_Create Operation under Azure OpenAI API version 2024-10-01-preview have "
        "exceeded token rate limit of your current AIServices S0 pricing tier. Please retry after "
        f"{seconds} seconds. Please contact Azure support service if you would like to further increase the default "
        "rate limit."
    )
    return {"error": {"code": "429", "message": message}}


def groq_429(limit: str, numbers: str, wait: str) -> dict[str, Any]:
    """Groq's 429 (PROVIDERS.md A11), `limit` e.g. "tokens per minute (TPM)", `numbers` "Limit 12000, Used ..."."""
    message = (
        "Rate limit reached for model `llama-3.3-70b-versatile` in organization `org_01hq` service tier `on_demand` "
        f"on {limit}: {numbers}. Please try again in {wait}. Need more tokens? Upgrade to Dev Tier today at "
        "https://console.groq.com/settings/billing"
    )
    return {"error": {"message": message, "type": "tokens", "code": "rate_limit_exceeded"}}


# Mistral's 429 (PROVIDERS.md A11): flat, a numeric code as a string, no wait named anywhere.
MISTRAL_429 = {
    "object": "error",
    "message": "Rate limit exceeded",
    "type": "rate_limited",
    "param": None,
    "code": "1300",
    "raw_status_code": 429,
}


def _deepseek_error(message: str) -> dict[str, Any]:
    """DeepSeek's error body, as [3p] Aider-AI/aider#4851 quotes its 402: `code` holds what OpenAI puts in `type`."""
    return {"error": {"message": message, "type": "unknown_error", "param": None, "code": "invalid_request_error"}}


DEEPSEEK_402 = _deepseek_error("Insufficient Balance")
# DeepSeek's 429: the words of its error-code page ("Rate Limit Reached"), the body shape of its 402 (UNCONFIRMED).
DEEPSEEK_429 = _deepseek_error("Rate Limit Reached")
# OpenRouter's 402 (openrouter.ai/docs errors: out of credits; a numeric code, no type).
OPENROUTER_402 = {"error": {"code": 402, "message": "Insufficient credits. Add more credits to continue."}}
# OpenRouter's 429: `Retry-After` goes with it (PROVIDERS.md A11); the words as users quote them (UNCONFIRMED).
OPENROUTER_429 = {"error": {"code": 429, "message": "Rate limit exceeded: free-models-per-min. "}}
# Ollama's answer when its queue is full (PROVIDERS.md A11): 503, no wait named; it has no rate limits of its own.
OLLAMA_BUSY = {
    "error": {
        "message": "server busy, please try again.  maximum pending requests exceeded",
        "type": "api_error",
        "param": None,
        "code": None,
    }
}
# llama-server while its model loads ([3p] mostlygeek/llama-swap#146, verbatim): 503, no wait named.
LLAMACPP_LOADING = {"error": {"code": 503, "message": "Loading model", "type": "unavailable_error"}}


def gemini_overflow(window: int, tokens: int) -> list[dict[str, Any]]:
    """Gemini's overflow ([3p] google-gemini/gemini-cli#6678, verbatim but the numbers): an array, INVALID_ARGUMENT."""
    message = f"The input token count ({tokens}) exceeds the maximum number of tokens allowed ({window})."
    return [{"error": {"code": 400, "message": message, "status": "INVALID_ARGUMENT"}}]


def vllm_words(window: int, tokens: int) -> str:
    """vLLM's overflow words (vllm#12886, PROVIDERS.md: up to v0.10)."""
    return (
        f"This model's maximum context length is {window} tokens. However, you requested {tokens} tokens ({tokens} in "
        "the messages, 0 in the completion). Please reduce the length of the messages or completion."
    )


def vllm_overflow(window: int, tokens: int) -> dict[str, Any]:
    """vLLM 0.10.1 and later: the words under "error", code 400 a number (PROVIDERS.md, fms-guardrails#511)."""
    return {"error": {"message": vllm_words(window, tokens), "type": "BadRequestError", "param": None, "code": 400}}


def vllm_flat_overflow(window: int, tokens: int) -> dict[str, Any]:
    """vLLM before 0.10.1 (vllm#12886): the same, flat."""
    return {"object": "error", **vllm_overflow(window, tokens)["error"]}


def lmstudio_overflow(window: int, tokens: int) -> dict[str, Any]:
    """LM Studio's 400 ([3p] Gitlawb/openclaude#353, verbatim but the numbers): `error` is the text itself."""
    return {
        "error": f"The number of tokens to keep from the initial prompt is greater than the context length (n_keep: "
        f"{tokens}>= n_ctx: {window}). Try to load the model with a larger context length, or provide a shorter input."
    }


def openrouter_overflow(window: int, tokens: int) -> dict[str, Any]:
    """OpenRouter's own overflow words ([3p] Aider-AI/aider#3721, verbatim but the numbers), a numeric code."""
    message = (
        f"This endpoint's maximum context length is {window} tokens. However, you requested about {tokens} tokens "
        f'({tokens} of text input, 0 in the output). Please reduce the length of either one, or use the "middle-out" '
        "transform to compress your prompt automatically."
    )
    return {"error": {"message": message, "code": 400, "metadata": {"provider_name": None}}}


def litellm_overflow(window: int, tokens: int) -> dict[str, Any]:
    """LiteLLM 1.110.2's overflow, as LITELLM_OVERFLOW, for any window."""
    message = (
        "litellm.ContextWindowExceededError: litellm.BadRequestError: ContextWindowExceededError: OpenAIException - "
        f"This model's maximum context length is {window} tokens. However, your messages resulted in {tokens} tokens."
    )
    return {"error": {"message": message, "type": None, "param": None, "code": "400"}}


# LiteLLM 1.110.2, observed (PROVIDERS.md, LiteLLM section): code "400", no context_length_exceeded.
LITELLM_OVERFLOW = litellm_overflow(8192, 9001)
