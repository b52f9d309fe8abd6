"""The faults of every server flavour, through the installed command: a table of server x fault, one test per fault.

Each server fails the way it does on the wire (bodies in tests/provider_errors.py, streams in tests/flavours.py,
sources cited there): a 429 is waited out for the wait it names, never less, or stops at once with the server's
words; a context overflow in its words recovers, also when the current cell's own output is what overflows; an error
after HTTP 200 is one line and is retried or final as its class is. Waits are real and short (1-2 s); the request
times the fake records only ever bound them from below.
"""

from __future__ import annotations

import json
import re
import subprocess
from collections.abc import Callable
from dataclasses import dataclass

import pytest
from fake_server import DEFAULT_HEADERS, Answer, FakeServer, Fault, RecordedRequest, StatusFault, prompt_tokens
from flavours import (
    AZURE,
    DEEPSEEK,
    FLAVOURS,
    GEMINI,
    GROQ,
    LITELLM,
    LLAMACPP,
    LMSTUDIO,
    MISTRAL,
    OLLAMA,
    OLLAMA_OLD,
    OPENROUTER,
    VLLM,
    Broken,
    Flavour,
    Script,
    Turn,
    data,
    script,
)
from provider_errors import (
    DEEPSEEK_402,
    DEEPSEEK_429,
    LLAMACPP_LOADING,
    MISTRAL_429,
    OLLAMA_BUSY,
    OPENROUTER_402,
    OPENROUTER_429,
    QUOTA_WORDS,
    azure_429,
    gemini_429,
    gemini_overflow,
    groq_429,
    litellm_429,
    litellm_overflow,
    llama_cpp_overflow,
    lmstudio_overflow,
    openrouter_overflow,
    vllm_flat_overflow,
    vllm_overflow,
)

Run = Callable[..., subprocess.CompletedProcess[str]]
TWO_STEPS = [Turn(code=("x = 6*7",)), Turn(code=("print(x)",)), Turn("x is 42.")]
TASK = "set x to 6*7, then print it"
DONE = "data: [DONE]\n\n"


def chats(server: FakeServer) -> list[RecordedRequest]:
    """The chat requests the server got, in order."""
    return [request for request in server.requests if request.path.endswith("/chat/completions")]


def error_lines(result: subprocess.CompletedProcess[str]) -> list[str]:
    """The lines that say the task failed."""
    return [line for line in (result.stdout + result.stderr).splitlines() if line.startswith("error:")]


def retry_lines(result: subprocess.CompletedProcess[str]) -> list[str]:
    """The lines announcing a retry."""
    return [line for line in result.stdout.splitlines() if "retrying" in line]


def announced(line: str) -> float:
    """The wait a retry line announces, in seconds."""
    found = re.search(r"retrying in (\d+\.\d)s", line)
    assert found is not None, line
    return float(found[1])


def finished(result: subprocess.CompletedProcess[str]) -> None:
    """The two-step task ran to its end: exit 0, 42 printed, the model's last words shown, no traceback."""
    assert result.returncode == 0, result.stdout + result.stderr
    assert "Traceback" not in result.stdout + result.stderr
    assert "42\n" in result.stdout and "x is 42." in result.stdout


def two_steps_after(
    run_cli: Run, server: FakeServer, flavour: Flavour, refusal: StatusFault
) -> subprocess.CompletedProcess[str]:
    """The two-step task, run as a user would, against `flavour` when its first request gets `refusal`."""
    server.enqueue(refusal)
    server.responder = script(flavour, TWO_STEPS)
    return run_cli("-c", TASK, "-y")


def fault(status: int, body: object, headers: dict[str, str | None] | None = None) -> StatusFault:
    """A status with any JSON body (arrays too), sent byte for byte, with only the headers given (none of OpenAI's)."""
    return StatusFault(status, json.dumps(body), {**dict.fromkeys(DEFAULT_HEADERS), **(headers or {})})


# ---- a 429 naming a wait: waited out, nothing sent before it ends ---------------------------------------------------

RATE_LIMITS = [
    # Gemini names its wait twice (words and RetryInfo), no header: the longer counts.
    pytest.param(
        GEMINI,
        fault(429, gemini_429(f"{QUOTA_WORDS} Please retry in 1.2s.", "GenerateRequestsPerMinute-FreeTier", "1s")),
        1.2,
        id="gemini",
    ),
    pytest.param(AZURE, fault(429, azure_429(1)), 1.0, id="azure-words-only"),
    pytest.param(
        GROQ,
        fault(
            429,
            groq_429("tokens per minute (TPM)", "Limit 12000, Used 2542, Requested 9855", "0.6s"),
            {"retry-after": "1", "x-ratelimit-reset-requests": "2m59.56s", "x-ratelimit-reset-tokens": "0.6s"},
        ),
        1.0,
        id="groq",
    ),
    pytest.param(OPENROUTER, fault(429, OPENROUTER_429, {"retry-after": "1"}), 1.0, id="openrouter"),
    # LiteLLM hands a 429's wait headers on only renamed; retry-after-ms counts before retry-after.
    pytest.param(
        LITELLM,
        fault(
            429,
            litellm_429("Rate limit reached for gpt-4. Please try again in 1.5s."),
            {"llm_provider-retry-after-ms": "1500", "llm_provider-retry-after": "2"},
        ),
        1.5,
        id="litellm",
    ),
]


@pytest.mark.parametrize(("flavour", "refusal", "wait"), RATE_LIMITS)
def test_a_429_is_waited_out_for_the_wait_it_names_and_nothing_is_sent_early(
    run_cli: Run, server: FakeServer, flavour: Flavour, refusal: StatusFault, wait: float
) -> None:
    result = two_steps_after(run_cli, server, flavour, refusal)

    finished(result)
    (line,) = retry_lines(result)
    assert announced(line) >= wait, line
    first, second = chats(server)[:2]
    assert second.at - first.at >= wait


# Servers that name no wait: the default backoff, once. Local servers have no rate limits; Ollama and llama-server
# answer 503 when they cannot take a request now. vLLM and LM Studio send neither.
BACKOFFS = [
    pytest.param(MISTRAL, fault(429, MISTRAL_429), "rate limited", id="mistral"),
    pytest.param(DEEPSEEK, fault(429, DEEPSEEK_429), "rate limited", id="deepseek"),
    pytest.param(OLLAMA, fault(503, OLLAMA_BUSY), "server error 503", id="ollama-busy"),
    pytest.param(OLLAMA_OLD, fault(503, OLLAMA_BUSY), "server error 503", id="ollama-0.4.6-busy"),
    pytest.param(LLAMACPP, fault(503, LLAMACPP_LOADING), "server error 503", id="llama.cpp-loading"),
]


@pytest.mark.parametrize(("flavour", "refusal", "label"), BACKOFFS)
def test_a_refusal_naming_no_wait_gets_the_default_backoff_once(
    run_cli: Run, server: FakeServer, flavour: Flavour, refusal: StatusFault, label: str
) -> None:
    result = two_steps_after(run_cli, server, flavour, refusal)

    finished(result)
    (line,) = retry_lines(result)
    assert re.search(rf"{label}, retrying in \d+\.\ds \(attempt 2/6\)", line), line


# ---- a refusal no wait can help: stopped at once, the server's words in the line -----------------------------------

USED_UP = "quota is used up for now"
FINAL = [
    pytest.param(
        GEMINI,
        fault(429, gemini_429(f"{QUOTA_WORDS} Please retry in 3h12m.", "GenerateRequestsPerDay-FreeTier", "11520s")),
        (USED_UP, f"{QUOTA_WORDS} Please retry in 3h12m."),
        id="gemini-per-day",
    ),
    pytest.param(
        AZURE,
        fault(429, azure_429(86400), {"retry-after": "86400"}),
        (USED_UP, "Please retry after 86400"),
        id="azure-86400s",
    ),
    pytest.param(
        GROQ,
        fault(429, groq_429("tokens per day (TPD)", "Limit 500000, Used 499000, Requested 2000", "9m38.016s")),
        (USED_UP, "on tokens per day (TPD): Limit 500000"),
        id="groq-tpd",
    ),
    pytest.param(DEEPSEEK, fault(402, DEEPSEEK_402), ("out of credit", "Insufficient Balance"), id="deepseek-402"),
    pytest.param(
        OPENROUTER, fault(402, OPENROUTER_402), ("out of credit", "Insufficient credits."), id="openrouter-402"
    ),
    # LiteLLM keeps only the words of out-of-credit (code "429", type throttling_error): the billing line says it.
    pytest.param(LITELLM, fault(429, litellm_429(QUOTA_WORDS)), ("no credit left", "insufficient_quota"), id="litellm"),
]


@pytest.mark.parametrize(("flavour", "refusal", "says"), FINAL)
def test_a_refusal_no_wait_can_help_stops_at_once_with_the_servers_words(
    run_cli: Run, server: FakeServer, flavour: Flavour, refusal: StatusFault, says: tuple[str, str]
) -> None:
    result = two_steps_after(run_cli, server, flavour, refusal)

    assert result.returncode == 1, result.stdout + result.stderr
    assert len(chats(server)) == 1
    assert "Traceback" not in result.stdout + result.stderr
    (line,) = error_lines(result)
    assert all(part in line for part in says), line  # what it means, and the server's words


# ---- a context overflow in the server's words: trimmed and asked again ----------------------------------------------

Refusal = Callable[[int, int], object]  # (window, tokens requested) -> the error body


def status(code: int, body: Refusal) -> Callable[[int, int], Answer]:
    """The refusal as an HTTP error answer."""
    return lambda window, tokens: fault(code, body(window, tokens))


def after_200(flavour: Flavour, body: Refusal) -> Callable[[int, int], Answer]:
    """The refusal as `data: {"error": ...}` then [DONE] inside a reply begun with HTTP 200 (vLLM, LiteLLM)."""
    return lambda window, tokens: Broken(flavour, Turn(), (data(body(window, tokens)), DONE))


OVERFLOWS = [
    pytest.param(GEMINI, status(400, gemini_overflow), id="gemini"),
    pytest.param(VLLM, status(400, vllm_overflow), id="vllm"),
    pytest.param(VLLM, status(400, vllm_flat_overflow), id="vllm-0.10.0-flat"),
    # vLLM's form of an error after HTTP 200 (A4), should it find the overflow that late (UNCONFIRMED).
    pytest.param(VLLM, after_200(VLLM, vllm_overflow), id="vllm-after-200"),
    pytest.param(LLAMACPP, status(400, lambda window, tokens: llama_cpp_overflow(window)), id="llama.cpp"),
    pytest.param(LMSTUDIO, status(400, lmstudio_overflow), id="lm-studio"),
    # Azure serves OpenAI's models with OpenAI's error bodies; Groq's own wording is UNCONFIRMED (PROVIDERS.md):
    # both get OpenAI's.
    pytest.param(AZURE, Fault.context_length_exceeded, id="azure-as-openai"),
    pytest.param(GROQ, Fault.context_length_exceeded, id="groq-as-openai"),
    # Mistral's and DeepSeek's own wordings are UNCONFIRMED: vLLM's words, in the flat body Mistral's errors have
    # and in DeepSeek's body shape (OpenAI's).
    pytest.param(MISTRAL, status(400, vllm_flat_overflow), id="mistral-as-vllm"),
    pytest.param(DEEPSEEK, status(400, vllm_overflow), id="deepseek-as-vllm"),
    pytest.param(OPENROUTER, status(400, openrouter_overflow), id="openrouter"),
    pytest.param(LITELLM, status(400, litellm_overflow), id="litellm"),
]
WINDOW = 1_024  # tokens the servers below take, as the fake counts them (characters / 4)


@dataclass
class Overflowing:
    """A responder refusing, as `refusal` words it, any request over `window` tokens; the rest go to `script`."""

    script: Script
    refusal: Callable[[int, int], Answer]
    window: int = WINDOW

    def __call__(self, request: RecordedRequest) -> Answer:
        """The refusal for a request too long, else the script's next reply."""
        tokens = prompt_tokens(request)
        return self.refusal(self.window, tokens) if tokens > self.window else self.script(request)


def refused_once(sent: list[RecordedRequest]) -> list[RecordedRequest]:
    """The requests after the one refused as too long, each of which fits; fails unless exactly one was too long."""
    (refused,) = [position for position, request in enumerate(sent) if prompt_tokens(request) > WINDOW]
    return sent[refused + 1 :]


@pytest.mark.parametrize(("flavour", "refusal"), OVERFLOWS)
def test_an_overflow_of_earlier_exchanges_in_each_servers_words_is_trimmed_and_the_task_finishes(
    run_cli: Run, server: FakeServer, flavour: Flavour, refusal: Callable[[int, int], Answer]
) -> None:
    server.responder = script(flavour, [Turn(code=("print('a' * 6000)",)), Turn("printed.")])
    assert run_cli("-c", "print many a", "-y").returncode == 0
    earlier = len(chats(server))
    server.responder = Overflowing(script(flavour, TWO_STEPS), refusal)

    result = run_cli("--resume", "-c", TASK, "-y")

    finished(result)
    refused_once(chats(server)[earlier:])
    assert "the server says the conversation is too long" in result.stdout + result.stderr


@pytest.mark.parametrize(("flavour", "refusal"), OVERFLOWS)
def test_an_overflow_by_the_current_cells_own_output_is_cut_to_fit_and_the_task_finishes(
    run_cli: Run, server: FakeServer, flavour: Flavour, refusal: Callable[[int, int], Answer]
) -> None:
    turns = [Turn(code=("x = 6*7; print('HEAD' + 'z' * 60_000 + 'TAIL')",)), *TWO_STEPS[1:]]
    server.responder = Overflowing(script(flavour, turns), refusal)

    result = run_cli("-c", TASK, "-y")

    finished(result)
    output = (refused_once(chats(server))[0].body or {})["messages"][-1]["content"]
    assert output.startswith("HEAD") and output.endswith("TAIL\n") and "to fit the context window" in output


@pytest.mark.parametrize("flavour", [OLLAMA, OLLAMA_OLD], ids=["ollama", "ollama-0.4.6"])
def test_against_ollama_which_never_refuses_the_window_given_keeps_every_request_whole(
    run_cli: Run, server: FakeServer, flavour: Flavour
) -> None:
    # Ollama answers an overflow by silently dropping the oldest messages (PROVIDERS.md, server/prompt.go): only
    # the window the person gives (--context-window, num_ctx) keeps the task and this cell's output in.
    turns = [Turn(code=("x = 6*7; print('HEAD' + 'z' * 60_000 + 'TAIL')",)), *TWO_STEPS[1:]]
    server.responder = script(flavour, turns)

    result = run_cli("-c", TASK, "-y", "--context-window", str(WINDOW))

    finished(result)
    assert max(prompt_tokens(request) for request in chats(server)) <= WINDOW


# ---- an error after HTTP 200: one line, and the retry layer treats it as its class ----------------------------------

CELL = Turn(code=("x = 6*7",))
VLLM_ERROR = {"error": {"message": "Internal server error", "type": "InternalServerError", "param": None, "code": 500}}
LITELLM_CUT = {
    "error": {
        "message": "litellm.APIConnectionError: APIConnectionError: OpenAIException - Stream ended before a "
        "finish_reason was received",
        "type": "internal_server_error",
        "param": None,
        "code": "500",
    }
}
OPENROUTER_ERROR = {
    "id": "cmpl-abc123",
    "object": "chat.completion.chunk",
    "created": 1234567890,
    "model": "gpt-3.5-turbo",
    "provider": "openai",
    "error": {"code": "server_error", "message": "Provider disconnected"},
    "choices": [{"index": 0, "delta": {"content": ""}, "finish_reason": "error"}],
}
AFTER_200 = [
    # vLLM: `data: {"error": ...}` then [DONE]; a failure while generating is an InternalServerError, code 500
    # ([src] vllm entrypoints/openai serving.py create_error_response; the words [inferred]).
    pytest.param(Broken(VLLM, CELL, (data(VLLM_ERROR), DONE)), "server error 500", id="vllm-error-event"),
    # LiteLLM 1.110.2 when its upstream's stream is cut (PROVIDERS.md LiteLLM section, observed).
    pytest.param(Broken(LITELLM, CELL, (data(LITELLM_CUT), DONE)), "server error 500", id="litellm-error-event"),
    # OpenRouter: an error chunk with finish_reason "error" (PROVIDERS.md A8); whether [DONE] follows is
    # UNCONFIRMED: the body just ends.
    pytest.param(Broken(OPENROUTER, CELL, (data(OPENROUTER_ERROR),)), "broken reply", id="openrouter-error-chunk"),
    # The others send nothing of their own: the stream is cut.
    *(
        pytest.param(Broken(flavour, CELL), "connection failed", id=f"{flavour.name}-cut")
        for flavour in FLAVOURS
        if flavour not in (VLLM, LITELLM, OPENROUTER)
    ),
]


@pytest.mark.parametrize(("broken", "label"), AFTER_200)
def test_an_error_after_http_200_is_retried_as_its_class_and_the_task_finishes(
    run_cli: Run, server: FakeServer, broken: Broken, label: str
) -> None:
    server.enqueue(broken)
    server.responder = script(broken.flavour, TWO_STEPS)

    result = run_cli("-c", TASK, "-y")

    finished(result)
    assert len(chats(server)) >= 4  # the broken reply, then the three of the task
    (line,) = retry_lines(result)
    assert line.startswith(f"{label}, retrying in"), line
