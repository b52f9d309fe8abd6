"""Which server answers at --api-base, read from what it sent doctor: `/models` `owned_by`, headers, error shapes.

Each sign names its source (shared/PROVIDERS.md conventions): vLLM's ModelCard `owned_by: str = "vllm"` [src]
vllm/entrypoints/openai/protocol.py; llama-server's `{"owned_by", "llamacpp"}` [src] tools/server; Ollama's
`OwnedBy: model.ParseName(id).Namespace` ("library" for its own models) and `system_fingerprint: "fp_ollama"` [src]
openai/openai.go; LM Studio's `"owned_by": "organization_owner"`, Mistral's `"mistralai"`, DeepSeek's `"deepseek"`,
Gemini's `"google"` [3p] model lists users quoted; Groq's `x-groq-region` header [3p] clients that log it; OpenAI's
`openai-version` / `openai-processing-ms` / `openai-organization` response headers [src] platform.openai.com API
reference, "Debugging requests"; the LiteLLM proxy's `x-litellm-*` headers, its `llm_provider-<name>` renaming of the
upstream's headers, its `litellm.` message prefix and `no_db_connection` error type [src]
docs.litellm.ai/docs/proxy/response_headers, litellm/proxy/common_request_processing.py and auth/user_api_key_auth.py.
The proxy's retries: `x-litellm-max-retries` comes only on an answer that needed a retry [src]
litellm/router_rust/core.py `_count_response`; a deployment's own `num_retries` is in its `litellm_params` in
`GET /model/info`, a global one (`litellm_settings`) nowhere (observed, LiteLLM 1.110.2).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any

from interpreter.model.answer import Answer

_OWNERS = {
    "vllm": "vLLM",
    "llamacpp": "llama.cpp",
    "library": "Ollama",
    "organization_owner": "LM Studio",
    "mistralai": "Mistral",
    "deepseek": "DeepSeek",
    "google": "Gemini",
}
_HEADERS = {
    "openai-version": "OpenAI",
    "openai-processing-ms": "OpenAI",
    "openai-organization": "OpenAI",
    "x-groq-region": "Groq",
}
_UPSTREAM = "llm_provider-"  # LiteLLM passes each upstream header on under this prefix
_LITELLM_DEFAULT_RETRIES = 2  # the proxy's own retries when its config names no num_retries


@dataclass(frozen=True)
class Sighting:
    """A server recognised, and the sign that gave it away."""

    name: str
    sign: str

    def describe(self) -> str:
        """`vLLM (owned_by "vllm" in GET /models)`."""
        return f"{self.name} ({self.sign})"


@dataclass(frozen=True)
class Identity:
    """The server that answers, and the proxy in front of it when there is one; None where not recognised."""

    server: Sighting | None = None
    proxy: Sighting | None = None
    proxy_retries: int | None = None  # how often the proxy retries a failed request by itself, when it says

    def describe(self) -> str:
        """One line: `LiteLLM proxy (header x-litellm-version: 1.110.2), in front of OpenAI (...)`."""
        server = self.server.describe() if self.server else ""
        if self.proxy is None:
            return server or "not recognised: an OpenAI-compatible server"
        return f"{self.proxy.describe()}, in front of {server or 'a server it does not name'}"


def identify(answers: Sequence[Answer]) -> Identity:
    """The identity the `answers` (GET /models first, then the chat test) reveal."""
    proxy = _litellm(answers)
    server = next(_server_signs(answers, _UPSTREAM if proxy else ""), None)
    return Identity(server, proxy, _litellm_retries(answers) if proxy else None)


def with_deployments(identity: Identity, deployments: Answer, model: str) -> Identity:
    """`identity` with the proxy's retries for `model` as its `GET /model/info` lists them, where it lists them."""
    retries = _configured_retries(deployments, model)
    return identity if retries is None else replace(identity, proxy_retries=retries)


def retry_warning(identity: Identity) -> str:
    """A warning when the proxy retries failed requests by itself; "" when it does not, or there is no proxy."""
    retries = identity.proxy_retries
    if identity.proxy is None or retries == 0:
        return ""
    how_often = f"up to {retries} times" if retries is not None else f"by default {_LITELLM_DEFAULT_RETRIES} times"
    return (
        f"the LiteLLM proxy retries failed requests by itself ({how_often}), so one attempt here can be several "
        "upstream requests and a wait longer than the one shown; set num_retries: 0 in the proxy's config"
    )


def _server_signs(answers: Sequence[Answer], prefix: str) -> Iterator[Sighting]:
    """Every sign of a known server, strongest first: the model list's owner, a fingerprint, response headers.

    Behind a proxy, the server's headers arrive renamed with `prefix`.
    """
    for answer in answers:
        owners = _owners(answer)
        if len(owners) == 1 and (owner := owners.pop()) in _OWNERS:  # a gateway lists models of many owners
            yield Sighting(_OWNERS[owner], f'owned_by "{owner}" in GET /models')
    for answer in answers:
        if _listed(answer, "top_provider"):
            yield Sighting("OpenRouter", "top_provider in GET /models")
    for answer in answers:
        if any(chunk.get("system_fingerprint") == "fp_ollama" for chunk in answer.chunks):
            yield Sighting("Ollama", 'system_fingerprint "fp_ollama"')
    for answer in answers:
        name = next((prefix + name for name in _HEADERS if prefix + name in answer.headers), None)
        if name is not None:
            yield Sighting(_HEADERS[name.removeprefix(prefix)], f"header {name}")


def _owners(answer: Answer) -> set[str]:
    """The `owned_by` values of a model list."""
    return {item["owned_by"] for item in listed(answer) if isinstance(item.get("owned_by"), str)}


def listed(answer: Answer) -> list[Mapping[str, Any]]:
    """The entries of a model list (`{"data": [...]}`); none when `answer` is not one."""
    data = answer.body.get("data") if answer.ok and isinstance(answer.body, dict) else None
    return [item for item in data if isinstance(item, Mapping)] if isinstance(data, list) else []


def _listed(answer: Answer, *fields: str) -> bool:
    """Whether every entry of a non-empty model list carries all of `fields`."""
    items = listed(answer)
    return bool(items) and all(all(name in item for name in fields) for item in items)


def _litellm(answers: Sequence[Answer]) -> Sighting | None:
    """The LiteLLM proxy, if a header or an error body shows it."""
    for answer in answers:
        if version := answer.headers.get("x-litellm-version"):
            return Sighting("LiteLLM proxy", f"header x-litellm-version: {version}")
        named = next((name for name in answer.headers if name.startswith(("x-litellm-", _UPSTREAM))), None)
        if named is not None:
            return Sighting("LiteLLM proxy", f"header {named}")
        if (sign := _litellm_error(answer.body)) is not None:
            return Sighting("LiteLLM proxy", sign)
        if _listed(answer, "mode", "max_input_tokens"):
            return Sighting("LiteLLM proxy", "mode and max_input_tokens in GET /models")
    return None


def _litellm_error(body: object) -> str | None:
    """The sign of LiteLLM in an error body: its `litellm.` message prefix, or its no-database error type."""
    error = body.get("error") if isinstance(body, dict) else None
    if not isinstance(error, dict):
        return None
    if error.get("type") == "no_db_connection":
        return 'error type "no_db_connection"'
    message = error.get("message")
    return "error message naming litellm" if isinstance(message, str) and message.startswith("litellm.") else None


def _litellm_retries(answers: Sequence[Answer]) -> int | None:
    """The proxy's own retry budget from its `x-litellm-max-retries` header, if any answer carries it."""
    for answer in answers:
        value = answer.headers.get("x-litellm-max-retries", "")
        if value.isdigit():
            return int(value)
    return None


def _configured_retries(deployments: Answer, model: str) -> int | None:
    """The most `num_retries` of `model`'s deployments; None unless each sets its own (else the global one counts)."""
    data = deployments.body.get("data") if deployments.ok and isinstance(deployments.body, dict) else None
    entries = [item for item in data if isinstance(item, Mapping)] if isinstance(data, list) else []
    params = [entry.get("litellm_params") for entry in entries if entry.get("model_name") == model]
    retries = [found.get("num_retries") if isinstance(found, Mapping) else None for found in params]
    numbers = [value for value in retries if isinstance(value, int) and not isinstance(value, bool) and value >= 0]
    return max(numbers) if numbers and len(numbers) == len(retries) else None
