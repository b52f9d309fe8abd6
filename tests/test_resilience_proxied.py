"""A key refusal a LiteLLM proxy relays from the server behind it is the proxy's key, not the person's."""

from __future__ import annotations

from interpreter.errors import ApiStatusError
from interpreter.resilience.classify import classify

# Observed, LiteLLM 1.110.2 in front of the fake upstream answering OpenAI's 401 (tests/test_litellm_proxy.py).
RELAYED = {
    "message": "litellm.AuthenticationError: AuthenticationError: OpenAIException - Incorrect API key provided: "
    "sk-abc***xyz. You can find your API key at https://platform.openai.com/account/api-keys.\n\nLiteLLM: model "
    "group 'gpt-4o' failed with the error above. No fallback was attempted.",
    "type": "authentication_error",
    "param": None,
    "code": "401",
}
# [src] litellm/proxy/auth/auth_exception_handler.py: the proxy's own refusal of a key it does not know.
OWN = {
    "message": "Authentication Error, Invalid proxy server token passed. key=88dc28d0, not found in db. Create key "
    "via `/key/generate` call.",
    "type": "auth_error",
    "param": "None",
    "code": "401",
}


def refused(body: object) -> ApiStatusError:
    """The 401 as the adapter hands it over."""
    return ApiStatusError("HTTP 401", status=401, code="401", body=body)


def test_the_upstream_refusing_the_proxys_key_says_to_fix_the_proxys_config() -> None:
    verdict = classify(refused(RELAYED))
    assert not verdict.retry
    assert verdict.message.startswith("the server behind the proxy refused the proxy's own key")
    assert "Incorrect API key provided" in verdict.message and "--api-key" not in verdict.message


def test_the_proxy_refusing_the_persons_key_still_says_to_check_it() -> None:
    verdict = classify(refused(OWN))
    assert not verdict.retry
    assert "check --api-key" in verdict.message
