"""`interpreter doctor` against imitations of the servers people use: it names the server (and a LiteLLM proxy in
front of it), warns when the proxy retries by itself, and never calls a key "accepted" on an error unrelated to it.

Each imitation's `/models` answer and headers name their source, as shared/PROVIDERS.md does: [src] the server's own
code or docs, [3p] a report in another project.
"""

from __future__ import annotations

import subprocess
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pytest
from fake_server import Answer, FakeServer, Fault, RecordedRequest, Reply, ScriptedCall, StatusFault
from flavours import FLAVOURS, GROQ, MISTRAL, Flavour, Turn, script
from test_doctor import report, row, settings_for, status_of

CALLS_THE_TOOL = Reply(calls=(ScriptedCall("execute", '{"language": "python", "code": "print(1)"}'),))
# [src] litellm/proxy/auth/user_api_key_auth.py raises "No connected db." for a key other than the master key when
# the proxy has no database; [3p] a LiteLLM user's regression test quotes the body it becomes, and another user's
# smoke test measured it on GET /v1/models too (LiteLLM 1.99.0).
NO_DB = {"error": {"message": "No connected db.", "type": "no_db_connection", "param": None, "code": "400"}}
# [3p] a llama-server user's fixture, and llama.cpp's own `throw std::runtime_error("tools param requires --jinja
# flag")` [src] tools/server/utils.hpp, which the server answers with HTTP 500.
NO_JINJA = {"error": {"code": 500, "message": "tools param requires --jinja flag", "type": "server_error"}}


def model_list(*models: Mapping[str, Any]) -> StatusFault:
    """A 200 `GET /models` answer listing `models`."""
    return StatusFault(200, {"object": "list", "data": list(models)})


class Imitation(FakeServer):
    """The loopback fake answering `GET /models` as another server does, with that server's headers on every answer."""

    def __init__(self, models: Answer, headers: Mapping[str, str] | None = None) -> None:
        super().__init__()
        self.models = models
        self.headers.clear()  # the fake's defaults are OpenAI's rate-limit headers, which these servers do not send
        self.headers.update(headers or {})

    def _route(self, request: RecordedRequest) -> tuple[Answer, dict[str, str]]:
        if (request.method, request.path) == ("GET", "/v1/models"):
            return self.models, dict(self.headers)
        return super()._route(request)


# [src] vllm/entrypoints/openai/protocol.py ModelCard: `owned_by: str = "vllm"`, `root`, `max_model_len`.
VLLM_MODELS = model_list({"id": "Qwen/Qwen3-8B", "object": "model", "owned_by": "vllm", "root": "Qwen/Qwen3-8B"})
# [src] llama.cpp tools/server/server.cpp: `{"owned_by", "llamacpp"}` and a `meta` object per model.
LLAMACPP_MODELS = model_list(
    {"id": "qwen3.gguf", "object": "model", "owned_by": "llamacpp", "meta": {"n_ctx_train": 40960}}
)
# [src] ollama openai/openai.go ToListCompletion: `OwnedBy: model.ParseName(id).Namespace`, "library" for its own.
OLLAMA_MODELS = model_list({"id": "qwen3:8b", "object": "model", "created": 1750000000, "owned_by": "library"})
# [src] platform.openai.com API reference: `owned_by` "system" or "openai"; every answer has the openai-* headers.
OPENAI_MODELS = model_list({"id": "gpt-4o-mini", "object": "model", "created": 1721172741, "owned_by": "system"})


def first_model(models: StatusFault) -> str:
    """The id of the first model a `GET /models` answer lists."""
    assert isinstance(models.body, Mapping)
    return str(models.body["data"][0]["id"])


OPENAI_HEADERS = {"openai-version": "2020-10-01", "openai-processing-ms": "312", "openai-organization": "org-abc"}
# [3p] LM Studio users' `curl localhost:1234/v1/models`, several alike: only id, object and this owner.
LMSTUDIO_MODELS = model_list({"id": "qwen/qwen3-coder-30b", "object": "model", "owned_by": "organization_owner"})
# [3p] quoted answers of api.mistral.ai, api.deepseek.com and Gemini's compatibility endpoint.
MISTRAL_MODELS = model_list(
    {"id": "mistral-large-latest", "object": "model", "created": 1715367049, "owned_by": "mistralai"}
)
DEEPSEEK_MODELS = model_list({"id": "deepseek-chat", "object": "model", "owned_by": "deepseek"})
GEMINI_MODELS = model_list({"id": "models/gemini-2.0-flash", "object": "model", "owned_by": "google"})
# [3p] Groq: model owners vary ("Meta", "Alibaba Cloud"); every answer has an `x-groq-region` header.
GROQ_MODELS = model_list({"id": "llama-3.3-70b-versatile", "object": "model", "owned_by": "Meta"})
# LiteLLM proxy: `owned_by` "openai" whatever serves the model (UNCONFIRMED: no source found; what matters here is
# that the owner names no server, so the headers must).
LITELLM_MODELS = model_list({"id": "gpt-4o-mini", "object": "model", "created": 1677610602, "owned_by": "openai"})


@pytest.mark.parametrize(
    ("models", "headers", "named"),
    [
        (VLLM_MODELS, {}, 'vLLM (owned_by "vllm" in GET /models)'),
        (LLAMACPP_MODELS, {}, 'llama.cpp (owned_by "llamacpp" in GET /models)'),
        (OLLAMA_MODELS, {}, 'Ollama (owned_by "library" in GET /models)'),
        (OPENAI_MODELS, OPENAI_HEADERS, "OpenAI (header openai-version)"),
        (LMSTUDIO_MODELS, {}, 'LM Studio (owned_by "organization_owner" in GET /models)'),
        (MISTRAL_MODELS, {}, 'Mistral (owned_by "mistralai" in GET /models)'),
        (DEEPSEEK_MODELS, {}, 'DeepSeek (owned_by "deepseek" in GET /models)'),
        (GEMINI_MODELS, {}, 'Gemini (owned_by "google" in GET /models)'),
        (GROQ_MODELS, {"x-groq-region": "fra"}, "Groq (header x-groq-region)"),
    ],
    ids=["vllm", "llama.cpp", "ollama", "openai", "lm-studio", "mistral", "deepseek", "gemini", "groq"],
)
def test_doctor_names_the_server(private_home: Path, models: StatusFault, headers: dict[str, str], named: str) -> None:
    with Imitation(models, headers) as server:
        server.enqueue(CALLS_THE_TOOL)
        status, text = report(settings_for(server.url, private_home, model=first_model(models)))

    assert status == 0, text
    assert status_of(text, "server") == "ok"
    assert row(text, "server").endswith(named)
    assert "warning:" not in text


def test_ollama_is_known_by_its_fingerprint_when_the_model_is_not_its_own(private_home: Path) -> None:
    models = model_list({"id": "someone/coder:7b", "object": "model", "owned_by": "someone"})
    reply = Reply.text("1").completion(_request())
    # [src] ollama openai/openai.go: every answer says `"system_fingerprint": "fp_ollama"`.
    with Imitation(models) as server:
        server.enqueue(StatusFault(200, {**reply, "system_fingerprint": "fp_ollama"}))
        _, text = report(settings_for(server.url, private_home, model="someone/coder:7b"))

    assert row(text, "server").endswith('Ollama (system_fingerprint "fp_ollama")')


@pytest.mark.parametrize(
    "models",
    [
        model_list({"id": "m", "object": "model", "owned_by": "someone"}),
        model_list({"id": "m", "owned_by": "mistralai"}, {"id": "d", "owned_by": "deepseek"}),  # a gateway's list
    ],
    ids=["unknown", "gateway"],
)
def test_an_unknown_server_is_said_to_be_one(private_home: Path, models: StatusFault) -> None:
    with Imitation(models) as server:
        server.enqueue(CALLS_THE_TOOL)
        _, text = report(settings_for(server.url, private_home, model="m"))

    assert "not recognised: an OpenAI-compatible server" in row(text, "server")


# ---- a LiteLLM proxy -----------------------------------------------------------------------------------

# [src] litellm/proxy/common_request_processing.py get_custom_headers: x-litellm-version, x-litellm-call-id, ...;
# litellm/router_utils/add_retry_headers.py: x-litellm-attempted-retries, x-litellm-max-retries; the upstream's
# own headers renamed `llm_provider-<name>` (observed, shared/PROVIDERS.md "LiteLLM proxy").
LITELLM_HEADERS = {
    "x-litellm-version": "1.110.2",
    "x-litellm-call-id": "6f1c2d3e-0000-4000-8000-000000000000",
    "llm_provider-openai-version": "2020-10-01",
    "llm_provider-openai-processing-ms": "280",
}


def test_a_litellm_proxy_and_the_server_behind_it_are_named(private_home: Path) -> None:
    headers = {**LITELLM_HEADERS, "x-litellm-attempted-retries": "0", "x-litellm-max-retries": "0"}
    with Imitation(LITELLM_MODELS, headers) as server:
        server.enqueue(CALLS_THE_TOOL)
        status, text = report(settings_for(server.url, private_home))

    assert status == 0, text
    expected = (
        "LiteLLM proxy (header x-litellm-version: 1.110.2), in front of OpenAI (header llm_provider-openai-version)"
    )
    assert row(text, "server").endswith(expected)
    assert "warning:" not in text  # num_retries: 0, as the proxy says


@pytest.mark.parametrize(
    ("retries", "said"),
    [({"x-litellm-attempted-retries": "0", "x-litellm-max-retries": "3"}, "up to 3 times"), ({}, "by default 2 times")],
    ids=["named", "default"],
)
def test_a_litellm_proxy_that_retries_by_itself_is_a_warning(
    private_home: Path, retries: dict[str, str], said: str
) -> None:
    with Imitation(LITELLM_MODELS, {**LITELLM_HEADERS, **retries}) as server:
        server.enqueue(CALLS_THE_TOOL)
        status, text = report(settings_for(server.url, private_home))

    assert status == 0, text  # a warning, not a failed check
    first = text.splitlines()[0]
    assert first.startswith(f"warning: the LiteLLM proxy retries failed requests by itself ({said}")
    assert "set num_retries: 0 in the proxy's config" in first


def test_a_wrong_key_at_a_litellm_proxy_without_a_database_could_not_be_checked(private_home: Path) -> None:
    with Imitation(StatusFault(400, NO_DB)) as server:
        server.responder = Fault.always(StatusFault(400, NO_DB))
        status, text = report(settings_for(server.url, private_home, api_key="sk-wrong"))

    assert status == 1
    key = row(text, "API key")
    assert status_of(text, "API key") == "skipped"
    assert "could not check: the server answered HTTP 400: No connected db." in key
    assert "accepted" not in key
    assert "fix: a LiteLLM proxy without a database takes only its master key" in key
    assert 'LiteLLM proxy (error type "no_db_connection")' in row(text, "server")


def test_a_server_error_says_nothing_of_the_key(private_home: Path) -> None:
    with Imitation(Fault.server_error(500)) as server:
        server.responder = Fault.always(Fault.server_error(503))
        status, text = report(settings_for(server.url, private_home))

    assert status == 1
    assert "could not check: the server answered HTTP 503" in row(text, "API key")
    assert "accepted" not in row(text, "API key")


def test_llama_server_without_jinja_is_told_how_to_start_it(private_home: Path) -> None:
    with Imitation(LLAMACPP_MODELS) as server:
        server.responder = Fault.always(StatusFault(500, NO_JINJA))
        status, text = report(settings_for(server.url, private_home, model="qwen3.gguf"))

    assert status == 1
    tools = row(text, "tool calling")
    assert "the server takes no tools: tools param requires --jinja flag (HTTP 500)" in tools
    assert "fix: start llama-server with --jinja, or use --no-tools" in tools


def test_the_command_warns_about_a_retrying_proxy_and_cannot_check_its_key(interpreter_command: list[str]) -> None:
    with Imitation(StatusFault(400, NO_DB), LITELLM_HEADERS) as server:
        server.responder = Fault.always(StatusFault(400, NO_DB))
        command = [*interpreter_command, "doctor", "--api-base", server.url, "--api-key", "sk-wrong"]
        result = subprocess.run(command, capture_output=True, text=True, check=False, timeout=60)

    assert result.returncode == 1
    assert result.stdout.startswith("warning: the LiteLLM proxy retries failed requests by itself")
    assert "could not check" in row(result.stdout, "API key")
    assert "Traceback" not in result.stdout + result.stderr


# ---- the test request streams as a session does: what a server refuses there, doctor sees ---------------------


@pytest.mark.parametrize("flavour", FLAVOURS, ids=[flavour.name for flavour in FLAVOURS])
def test_the_tool_check_passes_against_every_servers_stream(
    server: FakeServer, private_home: Path, flavour: Flavour
) -> None:
    server.responder = script(flavour, [Turn(code=("print(1)",))])

    status, text = report(settings_for(server.url, private_home))

    assert status == 0, text
    assert "the model called the test tool" in row(text, "tool calling")


@pytest.mark.parametrize(("flavour", "status"), [(MISTRAL, 422), (GROQ, 400)], ids=["mistral", "groq"])
def test_a_server_that_refuses_stream_options_shows_the_adaptation(
    server: FakeServer, private_home: Path, flavour: Flavour, status: int
) -> None:
    server.responder = script(flavour, [Turn(code=("print(1)",))])

    exit_status, text = report(settings_for(server.url, private_home))

    assert exit_status == 0, text
    assert f"adapted: stream_options left out (the server refuses it: HTTP {status})" in row(text, "server")
    first, second = (request.body or {} for request in server.requests[1:])
    assert "stream_options" in first and "stream_options" not in second


def test_an_error_inside_the_stream_fails_the_tool_check_with_the_servers_words(
    server: FakeServer, private_home: Path
) -> None:
    # PROVIDERS.md A4 [src] vLLM: `data: {"error": {...}}` after HTTP 200, then `[DONE]`.
    error = {"message": "Engine loop has died", "type": "InternalServerError", "param": None, "code": 500}
    server.enqueue(Fault.error_event(CALLS_THE_TOOL, 1, {"error": error}))

    status, text = report(settings_for(server.url, private_home))

    assert status == 1
    assert "the test request failed (HTTP 200): Engine loop has died" in row(text, "tool calling")


def _request() -> RecordedRequest:
    """A chat request as the probe sends it, for building a completion body."""
    return RecordedRequest("POST", "/v1/chat/completions", {}, {"model": "someone/coder:7b"}, 0.0)
