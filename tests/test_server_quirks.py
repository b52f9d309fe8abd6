"""Refusals of local servers as a person meets them: llama-server without --jinja ends at once with the fix; Ollama's
"server busy" 503 is waited out. Each body names its source (shared/PROVIDERS.md conventions)."""

from __future__ import annotations

import subprocess
from collections.abc import Callable

from fake_server import FakeServer, Fault, Reply, StatusFault

from interpreter.errors import ApiStatusError
from interpreter.resilience.classify import classify

Run = Callable[..., subprocess.CompletedProcess[str]]
# [src] llama.cpp tools/server/utils.hpp `throw std::runtime_error("tools param requires --jinja flag")`, answered
# with HTTP 500 and `type: server_error` ([3p] a llama-server user's fixture quotes the body).
JINJA_ERROR = {"code": 500, "message": "tools param requires --jinja flag", "type": "server_error"}
NO_JINJA = StatusFault(500, {"error": JINJA_ERROR})
# PROVIDERS.md A11, Ollama row [inferred]: the native message under OpenAI's error shape, no header naming a wait.
OLLAMA_BUSY = {
    "message": "server busy, please try again.  maximum pending requests exceeded",
    "type": "api_error",
    "param": None,
    "code": None,
}


def test_llama_server_without_jinja_ends_at_once_with_the_fix(run_cli: Run, server: FakeServer) -> None:
    server.responder = Fault.always(NO_JINJA)

    result = run_cli("-c", "compute 6*7 in python", "-y", timeout=60)

    assert result.returncode != 0
    assert "start llama-server with --jinja, or use --no-tools" in result.stderr + result.stdout
    assert "Traceback" not in result.stderr + result.stdout
    assert len([r for r in server.requests if r.path.endswith("/chat/completions")]) == 1  # never retried


def test_the_jinja_refusal_is_final_and_spares_the_breaker() -> None:
    verdict = classify(ApiStatusError("HTTP 500", status=500, body=JINJA_ERROR))

    assert not verdict.retry
    assert verdict.breaker == "success"  # the server is up; it was started without the flag
    assert verdict.message.startswith("the server takes no tools: start llama-server with --jinja, or use --no-tools")


def test_ollama_busy_is_retried_with_backoff(run_cli: Run, server: FakeServer) -> None:
    server.enqueue(StatusFault(503, {"error": OLLAMA_BUSY}), Reply.text("ready now"))

    result = run_cli("-c", "say hello", "-y", timeout=60)

    assert result.returncode == 0, result.stdout + result.stderr
    assert "ready now" in result.stdout
    assert len([r for r in server.requests if r.path.endswith("/chat/completions")]) == 2
