"""`--local`: the first local model server that answers with a model, found among fakes on random ports.

The servers' model lists are answered as each server answers them (module docstring of
interpreter/model/local_servers.py names the sources); the candidates are built on the fakes' ports, so nothing here
depends on what listens on the real default ports of this machine. One whole-program test points Ollama's own
$OLLAMA_HOST at a fake: Ollama is asked first, so the other default ports are never asked there.
"""

from __future__ import annotations

import os
import subprocess
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest
from fake_server import FakeServer, Reply, StatusFault, closed_port

from interpreter.model.local_servers import Candidate, Found, candidates, find, none_found, ollama_root

# [src] ollama docs/api.md "List Local Models": `models`, each with `name`, `model`, `modified_at`, `size`, `details`.
OLLAMA_TAGS = {
    "models": [
        {"name": "qwen3:8b", "model": "qwen3:8b", "modified_at": "2026-11-02T10:00:00Z", "size": 5_200_000_000},
        {"name": "llama3.2:latest", "model": "llama3.2:latest", "modified_at": "2026-10-01T10:00:00Z", "size": 1},
    ]
}
# [src] lmstudio docs "REST API v0": `data`, each with `id`, `type` (llm, vlm, embeddings), `state`.
LMSTUDIO_MODELS = {
    "object": "list",
    "data": [
        {"id": "text-embedding-nomic-embed-text-v1.5", "object": "model", "type": "embeddings", "state": "loaded"},
        {"id": "qwen2.5-7b-instruct", "object": "model", "type": "llm", "state": "not-loaded"},
        {"id": "gemma-3-12b", "object": "model", "type": "vlm", "state": "loaded"},
    ],
}
LISTING = {"object": "list", "data": [{"id": "Qwen/Qwen3-8B", "object": "model", "owned_by": "vllm"}]}


@pytest.fixture
def fakes() -> Iterator[list[FakeServer]]:
    """Four fake servers on random ports, stopped after the test."""
    servers = [FakeServer() for _ in range(4)]
    yield servers
    for server in servers:
        server.stop()


def on(server: FakeServer | int, name: str, path: str) -> Candidate:
    """The default candidate called `name`, moved to the fake `server` (or a port nothing listens on)."""
    port = server if isinstance(server, int) else server.port
    default = next(candidate for candidate in candidates({}) if candidate.name == name)
    return replace(default, root=f"http://127.0.0.1:{port}", path=path)


def test_the_first_server_that_answers_with_a_model_is_taken_in_order(fakes: list[FakeServer]) -> None:
    lmstudio, llamacpp, vllm = fakes[1:]
    lmstudio.routes[("GET", "/api/v0/models")] = StatusFault(200, LMSTUDIO_MODELS)
    llamacpp.routes[("GET", "/v1/models")] = StatusFault(200, LISTING)
    servers = [
        on(closed_port(), "Ollama", "/api/tags"),  # nothing listens: passed over
        on(lmstudio, "LM Studio", "/api/v0/models"),
        on(llamacpp, "llama.cpp", "/v1/models"),
        on(vllm, "vLLM", "/v1/models"),
    ]

    found = find(servers)

    # LM Studio's loaded model that chats, not its loaded embedding model nor the one not loaded
    assert found == Found("LM Studio", f"http://127.0.0.1:{lmstudio.port}/v1", "gemma-3-12b")
    assert [len(server.requests) + len(server.asked) for server in fakes[1:]] == [1, 0, 0]  # llama.cpp not asked


def test_ollama_s_most_recent_model_is_taken(fakes: list[FakeServer]) -> None:
    fakes[0].routes[("GET", "/api/tags")] = StatusFault(200, OLLAMA_TAGS)
    found = find([on(fakes[0], "Ollama", "/api/tags")])
    assert found == Found("Ollama", f"http://127.0.0.1:{fakes[0].port}/v1", "qwen3:8b")


def test_a_server_with_no_model_or_another_answer_is_passed_over(fakes: list[FakeServer]) -> None:
    empty, html, missing, vllm = fakes
    empty.routes[("GET", "/api/tags")] = StatusFault(200, {"models": []})  # Ollama with nothing pulled yet
    html.routes[("GET", "/api/v0/models")] = StatusFault(200, "<html>hello</html>", content_type="text/html")
    vllm.routes[("GET", "/v1/models")] = StatusFault(200, LISTING)
    servers = [
        on(empty, "Ollama", "/api/tags"),
        on(html, "LM Studio", "/api/v0/models"),  # another program on the port
        on(missing, "llama.cpp", "/api/nothing"),  # 404
        on(vllm, "vLLM", "/v1/models"),
    ]
    assert find(servers) == Found("vLLM", f"http://127.0.0.1:{vllm.port}/v1", "Qwen/Qwen3-8B")


def test_when_none_answers_nothing_is_found_and_the_line_names_each_place() -> None:
    servers = [on(closed_port(), "Ollama", "/api/tags"), on(closed_port(), "vLLM", "/v1/models")]
    assert find(servers) is None
    ports = [server.root.rsplit(":", 1)[1] for server in servers]
    assert none_found(servers) == (
        f"no local model server answers with a model (tried Ollama (127.0.0.1:{ports[0]}), "
        f"vLLM (127.0.0.1:{ports[1]})): start one, or give --api-base URL"
    )


def test_the_default_places_are_each_server_s_own() -> None:
    assert [(server.name, server.root, server.path) for server in candidates({})] == [
        ("Ollama", "http://127.0.0.1:11434", "/api/tags"),
        ("LM Studio", "http://127.0.0.1:1234", "/api/v0/models"),
        ("llama.cpp", "http://127.0.0.1:8080", "/v1/models"),
        ("vLLM", "http://127.0.0.1:8000", "/v1/models"),
    ]


@pytest.mark.parametrize(
    ("host", "root"),
    [
        ("", "http://127.0.0.1:11434"),
        ("0.0.0.0", "http://0.0.0.0:11434"),
        ("127.0.0.1:5000", "http://127.0.0.1:5000"),
        ("http://gpu-box:11434", "http://gpu-box:11434"),
        ("https://ollama.example", "https://ollama.example:11434"),
        ("[::1]:7000", "http://[::1]:7000"),
    ],
)
def test_ollama_is_where_ollama_host_says(host: str, root: str) -> None:
    assert ollama_root(host) == root


def test_local_uses_the_server_found_its_model_and_no_key_of_the_environment(
    interpreter_command: list[str], server: FakeServer, tmp_path: Path
) -> None:
    server.routes[("GET", "/api/tags")] = StatusFault(200, OLLAMA_TAGS)
    server.enqueue(Reply.text("Hello from qwen."))
    env = {**os.environ, "OLLAMA_HOST": f"127.0.0.1:{server.port}", "OPENAI_API_KEY": "sk-not-for-ollama"}
    result = subprocess.run(
        [*interpreter_command, "-l", "-c", "hi"],
        capture_output=True,
        text=True,
        env=env,
        cwd=tmp_path,
        stdin=subprocess.DEVNULL,
        timeout=60,
        check=False,
    )

    assert result.returncode == 0, result.stderr
    assert result.stderr.splitlines()[0] == f"interpreter: Ollama answers at {server.url}, with qwen3:8b"
    chat = [request for request in server.requests if request.path == "/v1/chat/completions"]
    assert [(request.model, request.headers["authorization"]) for request in chat] == [("qwen3:8b", "Bearer no-key")]
    assert "Hello from qwen." in result.stdout
