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

# LiteLLM 1.110.2, observed (PROVIDERS.md, LiteLLM section): code "400", no context_length_exceeded.
LITELLM_OVERFLOW = {
    "error": {
        "message": "litellm.ContextWindowExceededError: litellm.BadRequestError: ContextWindowExceededError: "
        "OpenAIException - This model's maximum context length is 8192 tokens. However, your messages resulted in "
        "9001 tokens.",
        "type": None,
        "param": None,
        "code": "400",
    }
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
