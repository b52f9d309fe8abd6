"""A 429 in each server's format, end to end: waited out for the wait it names (never sent early), or stopped at once
with the server's words; a context overflow in each server's words is recognised.

The resilient model over the real adapter, SDK and HTTP, against the loopback fake server sending each body and its
headers as that server does (sources beside each, from shared/PROVIDERS.md). Model and server share one fake clock
that moves only when the model sleeps, as in test_resilience_scenarios.py. The last tests run the installed command.
"""

from __future__ import annotations

import itertools
import json
import re
import subprocess
from collections.abc import Callable
from typing import Any

import pytest
from fake_server import FakeServer, Fault, RecordedRequest, StatusFault
from fake_server import Reply as Scripted
from fakes import FakeClock
from provider_errors import LITELLM_OVERFLOW, QUOTA_WORDS, VLLM_OVERFLOW, gemini_429, litellm_429, llama_cpp_overflow

from interpreter.errors import AttemptFailed, ContextTooLong
from interpreter.messages import Message, Reply, StreamItem, Waiting
from interpreter.model.llm import OpenAIChatModel
from interpreter.resilience.model import ResilientModel

JITTER = 1.05  # random() is 0.5 and the jitter 10%: a wait of w seconds is waited as 1.05 w
Run = Callable[..., subprocess.CompletedProcess[str]]


@pytest.fixture
def model(api: FakeServer, clock: FakeClock) -> ResilientModel:
    inner = OpenAIChatModel(model="gemini-2.5-flash", api_base=api.url, api_key="x", idle_timeout=5.0)
    return ResilientModel(inner, clock=clock, sleep=clock.sleep, random=lambda: 0.5)


def chats(server: FakeServer) -> list[RecordedRequest]:
    return [r for r in server.requests if r.path.endswith("/chat/completions")]


def gaps(server: FakeServer) -> list[float]:
    return [later.at - earlier.at for earlier, later in itertools.pairwise(chats(server))]


def ask(model: ResilientModel) -> list[StreamItem]:
    return list(model.stream([Message("user", "What is 6*7?")], []))


def json_fault(status: int, body: object, headers: dict[str, str | None] | None = None) -> StatusFault:
    """A status with any JSON body, arrays included (Gemini), sent byte for byte."""
    return Fault.status(status, json.dumps(body), headers=headers)


def gemini_fault(words: str, quota_id: str, delay: str) -> StatusFault:
    """Gemini's 429, sent byte for byte."""
    return json_fault(429, gemini_429(words, quota_id, delay))


def litellm_fault(words: str, headers: dict[str, str | None] | None = None) -> StatusFault:
    """LiteLLM 1.110.2's 429, sent byte for byte."""
    return json_fault(429, litellm_429(words), headers)


# ---- waited out for the wait named, never sent early ----------------------------------------------------------------

NAMED_WAITS = [
    pytest.param(
        gemini_fault(
            f"{QUOTA_WORDS} Please retry in 47.434392449s.", "GenerateRequestsPerMinutePerProjectPerModel", "47s"
        ),
        47.434392449,
        id="gemini-retry-in-and-retryinfo",
    ),
    pytest.param(
        gemini_fault(f"{QUOTA_WORDS}", "GenerateRequestsPerMinutePerProjectPerModel-FreeTier", "45.8s"),
        45.8,
        id="gemini-retryinfo-only",
    ),
    pytest.param(
        # Azure OpenAI, PROVIDERS.md A11: the wait only in the words, the code the status as a string.
        json_fault(
            429,
            {
                "error": {
                    "code": "429",
                    "message": "Requests to the ChatCompletions_Create Operation under Azure OpenAI API version "
                    "2024-10-01-preview have exceeded token rate limit of your current AIServices S0 pricing tier. "
                    "Please retry after 37 seconds. Please contact Azure support service if you would like to further "
                    "increase the default rate limit.",
                }
            },
        ),
        37.0,
        id="azure-retry-after-37-seconds",
    ),
    pytest.param(
        litellm_fault("Rate limit reached.", {"llm_provider-retry-after-ms": "4500", "llm_provider-retry-after": "5"}),
        4.5,
        id="litellm-renamed-retry-after-ms",
    ),
    pytest.param(litellm_fault("Rate limit reached.", {"llm_provider-retry-after": "12"}), 12.0, id="litellm-renamed"),
]


@pytest.mark.parametrize(("fault", "wait"), NAMED_WAITS)
def test_a_429_in_each_servers_format_is_waited_out_for_the_wait_it_names(
    api: FakeServer, model: ResilientModel, fault: StatusFault, wait: float
) -> None:
    api.enqueue(fault, Scripted.text("Done."))

    items = ask(model)

    assert isinstance(items[-1], Reply) and items[-1].message.content == "Done."
    (gap,) = gaps(api)
    assert gap >= wait  # never sent before the named wait is over
    assert gap == pytest.approx(wait * JITTER)
    assert len([item for item in items if isinstance(item, Waiting)]) == 1


# ---- stopped at once, with the server's words -----------------------------------------------------------------------

FINAL = [
    pytest.param(
        gemini_fault(
            f"{QUOTA_WORDS} Please retry in 3h12m.", "GenerateRequestsPerDayPerProjectPerModel-FreeTier", "11520s"
        ),
        r"the quota is used up for now \(a daily quota, or the pricing tier's\); no short wait renews it; "
        rf"try again after [-\d: ]+: {re.escape(QUOTA_WORDS)} Please retry in 3h12m\. \(HTTP 429, request id \S+\)",
        id="gemini-per-day",
    ),
    pytest.param(
        litellm_fault(QUOTA_WORDS),
        # The server's words without the gateway's prefixes and suffix (bodies.py strips them).
        rf"the account has no credit left \(insufficient_quota\): check plan and billing: {re.escape(QUOTA_WORDS)}"
        r" \(HTTP 429, request id \S+\)",
        id="litellm-out-of-credit",
    ),
    pytest.param(
        # OpenRouter, openrouter.ai/docs errors: 402 means out of credits; a numeric code.
        json_fault(402, {"error": {"code": 402, "message": "Insufficient credits. Add more credits to continue."}}),
        r"the account is out of credit: check plan and billing: Insufficient credits\. Add more credits to "
        r"continue\. \(HTTP 402, request id \S+\)",
        id="openrouter-402",
    ),
]


@pytest.mark.parametrize(("fault", "line"), FINAL)
def test_a_429_no_wait_can_help_stops_at_once_with_the_servers_words(
    api: FakeServer, model: ResilientModel, clock: FakeClock, fault: StatusFault, line: str
) -> None:
    api.enqueue(fault, Scripted.text("never sent"))

    with pytest.raises(AttemptFailed) as caught:
        ask(model)

    assert len(chats(api)) == 1
    assert clock.sleeps == []
    assert re.fullmatch(line, str(caught.value)), str(caught.value)


# ---- context overflow in each server's words ------------------------------------------------------------------------

OVERFLOWS = [
    pytest.param(VLLM_OVERFLOW, 4096, id="vllm-flat"),
    pytest.param(llama_cpp_overflow(2048), 2048, id="llamacpp"),
    pytest.param(LITELLM_OVERFLOW, 8192, id="litellm"),
]


@pytest.mark.parametrize(("body", "window"), OVERFLOWS)
def test_a_context_overflow_in_each_servers_words_is_recognised_with_its_window(
    api: FakeServer, model: ResilientModel, body: dict[str, Any], window: int
) -> None:
    api.enqueue(json_fault(400, body), Scripted.text("never sent"))

    with pytest.raises(ContextTooLong) as caught:
        ask(model)

    assert len(chats(api)) == 1
    assert caught.value.window == window
    assert str(caught.value).startswith("the conversation no longer fits the model's context window")


def test_a_context_overflow_sent_inside_the_reply_after_http_200_is_recognised(
    api: FakeServer, model: ResilientModel
) -> None:
    # vLLM, PROVIDERS.md A4: after HTTP 200, `data: {"error": {..., "type": "BadRequestError", "code": 400}}`.
    error = {
        "error": {
            "message": "This model's maximum context length is 4096 tokens. However, you requested 4200 tokens.",
            "type": "BadRequestError",
            "param": None,
            "code": 400,
        }
    }
    api.enqueue(Fault.error_event(Scripted.text("never shown"), 0, error), Scripted.text("never sent"))

    with pytest.raises(ContextTooLong) as caught:
        ask(model)

    assert len(chats(api)) == 1
    assert caught.value.window == 4096


# ---- the installed command ------------------------------------------------------------------------------------------


def error_lines(result: subprocess.CompletedProcess[str]) -> list[str]:
    return [line for line in (result.stdout + result.stderr).splitlines() if line.startswith("error:")]


def test_the_command_waits_out_a_gemini_retry_delay_named_only_in_the_body(run_cli: Run, server: FakeServer) -> None:
    words = f"{QUOTA_WORDS} Please retry in 0.4s."
    server.enqueue(
        gemini_fault(words, "GenerateRequestsPerMinutePerProjectPerModel", "1s"),
        Scripted.tool_call("python", "print(6*7)"),
        Scripted.text("The answer is 42."),
    )

    result = run_cli("-c", "compute 6*7 in python", "-y", timeout=60)

    output = result.stdout + result.stderr
    assert result.returncode == 0, output
    assert "Traceback" not in output
    first, second, _ = chats(server)
    assert second.at - first.at >= 1.0  # the RetryInfo's 1s, longer than the words' 0.4s: never sent sooner
    assert re.search(r"rate limited, retrying in 1\.\ds \(attempt 2/6\)", result.stdout), result.stdout


def test_the_command_stops_at_once_on_a_litellm_out_of_credit_with_one_line(run_cli: Run, server: FakeServer) -> None:
    server.enqueue(litellm_fault(QUOTA_WORDS), Scripted.text("never sent"))

    result = run_cli("-c", "compute 6*7 in python", "-y", timeout=60)

    assert result.returncode == 1, result.stdout + result.stderr
    assert len(chats(server)) == 1
    (line,) = error_lines(result)
    assert re.fullmatch(
        r"error: the account has no credit left \(insufficient_quota\): check plan and billing: .*"
        rf"{re.escape(QUOTA_WORDS)}.* \(HTTP 429, request id req_\w+\)",
        line,
    ), line
