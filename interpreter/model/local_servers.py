"""The model servers people run on their own machine, and the first of them that answers with a model (`--local`).

Asked in this order, each where it listens by default, each for its models as it lists them:
Ollama at $OLLAMA_HOST (its own clients' variable: `host:port` or a URL, 127.0.0.1:11434 by default [src] ollama
envconfig/config.go `Host`), `GET /api/tags`, the pulled models, most recently changed first [src] ollama docs/api.md
"List Local Models"; LM Studio on port 1234, `GET /api/v0/models`, each with its `type` (`llm`, `vlm`, `embeddings`)
and `state` (`loaded`, `not-loaded`) [src] lmstudio docs "REST API v0"; llama.cpp's llama-server on port 8080 and
vLLM on port 8000, `GET /v1/models`, the model each was started with [src] llama.cpp tools/server/README.md, vllm docs
"OpenAI-Compatible Server". A server that does not answer, or answers with no model, is passed over.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

if TYPE_CHECKING:
    import httpx2

LOOPBACK = "127.0.0.1"
OLLAMA_PORT = 11434
CONNECT_TIMEOUT = 1.0  # seconds: a server on this machine accepts at once; nothing listening is refused at once
READ_TIMEOUT = 5.0  # a server that is loading a model may take a moment to list them


@dataclass(frozen=True)
class Candidate:
    """One server that may run here: its name, its root URL, where it lists its models and how to pick one."""

    name: str
    root: str
    path: str
    pick: Callable[[object], str | None]

    @property
    def api_base(self) -> str:
        """Its OpenAI-compatible endpoint."""
        return f"{self.root}/v1"

    @property
    def address(self) -> str:
        """Where it was looked for, as a person names it: `LM Studio (127.0.0.1:1234)`."""
        return f"{self.name} ({urlsplit(self.root).netloc})"


@dataclass(frozen=True)
class Found:
    """A server that answered, and the model it offers."""

    name: str
    api_base: str
    model: str


def candidates(env: Mapping[str, str]) -> tuple[Candidate, ...]:
    """The servers `--local` looks for, in order; Ollama where $OLLAMA_HOST in `env` says it is."""
    return (
        Candidate("Ollama", ollama_root(env.get("OLLAMA_HOST", "")), "/api/tags", _ollama_model),
        Candidate("LM Studio", f"http://{LOOPBACK}:1234", "/api/v0/models", _lmstudio_model),
        Candidate("llama.cpp", f"http://{LOOPBACK}:8080", "/v1/models", _first_listed),
        Candidate("vLLM", f"http://{LOOPBACK}:8000", "/v1/models", _first_listed),
    )


def ollama_root(host: str) -> str:
    """Ollama's root URL from $OLLAMA_HOST (`host`, `host:port` or a URL; empty: the default)."""
    split = urlsplit(host.strip() if "://" in host else f"http://{host.strip()}")
    name = split.hostname or LOOPBACK
    shown = f"[{name}]" if ":" in name else name  # an IPv6 address, bracketed in a URL
    return f"{split.scheme}://{shown}:{split.port or OLLAMA_PORT}"


def find(servers: Sequence[Candidate]) -> Found | None:
    """The first of `servers` that answers with a model; None when none does."""
    import httpx2  # noqa: PLC0415 - the SDK's transport; only --local asks

    timeout = httpx2.Timeout(READ_TIMEOUT, connect=CONNECT_TIMEOUT)
    with httpx2.Client(timeout=timeout, trust_env=False) as http:  # loopback: no proxy of the environment's
        for server in servers:
            model = _model(http, server)
            if model is not None:
                return Found(server.name, server.api_base, model)
    return None


def none_found(servers: Sequence[Candidate]) -> str:
    """What to say when no server answered with a model."""
    tried = ", ".join(server.address for server in servers)
    return f"no local model server answers with a model (tried {tried}): start one, or give --api-base URL"


def _model(http: httpx2.Client, server: Candidate) -> str | None:
    """The model `server` offers; None when it does not answer, or lists none."""
    import httpx2  # noqa: PLC0415 - see find()

    try:
        response = http.get(f"{server.root}{server.path}")
        body: object = response.json() if response.is_success else None
    except (httpx2.HTTPError, ValueError):  # nothing listens there, or something that is not this server
        return None
    return server.pick(body)


def _entries(body: object, key: str) -> list[Mapping[str, object]]:
    """The objects listed under `key` of a JSON object."""
    listed = body.get(key) if isinstance(body, Mapping) else None
    return [entry for entry in listed if isinstance(entry, Mapping)] if isinstance(listed, list) else []


def _named(entries: list[Mapping[str, object]], key: str) -> str | None:
    """The first non-empty string under `key` of `entries`."""
    return next((name for entry in entries if isinstance(name := entry.get(key), str) and name), None)


def _ollama_model(body: object) -> str | None:
    """Ollama's most recently changed model (`/api/tags` lists it first)."""
    return _named(_entries(body, "models"), "name")


def _lmstudio_model(body: object) -> str | None:
    """LM Studio's first model that chats (not an embedding model), a loaded one before the others."""
    chatting = [entry for entry in _entries(body, "data") if entry.get("type") in ("llm", "vlm")]
    return _named(sorted(chatting, key=lambda entry: entry.get("state") != "loaded"), "id")


def _first_listed(body: object) -> str | None:
    """The first model of an OpenAI-style list (`{"data": [{"id"}]}`)."""
    return _named(_entries(body, "data"), "id")
