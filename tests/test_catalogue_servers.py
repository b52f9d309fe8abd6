"""What servers report of their models, asked as a session asks them: each imitation reports its window (and
OpenRouter and LiteLLM their prices) as the real server does (tests/flavours.py `reports`), and against servers that
report a 1,400-token window no request ever overflows it, with no refusal to learn it from."""

from __future__ import annotations

import subprocess
from collections.abc import Callable

import pytest
from fake_server import Answer, FakeServer, Fault, Reply, StatusFault, closed_port, prompt_tokens
from flavours import LITELLM, LLAMACPP, LMSTUDIO, OLLAMA, OPENROUTER, VLLM, Flavour, Turn, reports, script
from provider_errors import llama_cpp_overflow, lmstudio_overflow, openrouter_overflow, vllm_overflow
from test_servers_faults import TASK, TWO_STEPS, Overflowing, chats, fault, finished

from interpreter.model.prices import Prices
from interpreter.model.server_reports import Report, ask

Run = Callable[..., subprocess.CompletedProcess[str]]
MODEL = "gpt-4o"  # the model a session asks for by default
WINDOW = 1_400
LISTED_PRICES = Prices(2.5, 10.0, 1.25)  # what the OpenRouter and LiteLLM imitations list for gpt-4o


@pytest.mark.parametrize(
    ("flavour", "expected", "asked"),
    [
        pytest.param(VLLM, Report(WINDOW, None, "vLLM /v1/models"), ["/v1/models"], id="vllm"),
        pytest.param(LLAMACPP, Report(WINDOW, None, "llama.cpp /props"), ["/v1/models", "/props"], id="llama.cpp"),
        pytest.param(OLLAMA, Report(WINDOW, None, "Ollama /api/show"), ["/v1/models", "/api/show"], id="ollama"),
        pytest.param(
            LMSTUDIO,
            Report(WINDOW, None, "LM Studio /api/v0/models"),
            ["/v1/models", "/api/v0/models"],
            id="lm-studio",
        ),
        pytest.param(OPENROUTER, Report(WINDOW, LISTED_PRICES, "OpenRouter /models"), ["/v1/models"], id="openrouter"),
        pytest.param(
            LITELLM,
            Report(WINDOW, LISTED_PRICES, "LiteLLM /model/info"),
            ["/v1/models", "/v1/model/info"],
            id="litellm",
        ),
    ],
)
def test_each_server_reports_the_window_it_runs_with_where_it_does(
    server: FakeServer, flavour: Flavour, expected: Report, asked: list[str]
) -> None:
    server.routes.update(reports(flavour, MODEL, WINDOW))

    assert ask(server.url, "sk-test", MODEL) == expected
    assert [request.path for request in server.asked] == asked
    assert all(request.headers["authorization"] == "Bearer sk-test" for request in server.asked)
    assert server.requests == []  # the questions are told apart from a session's requests


def test_a_server_it_does_not_recognise_is_asked_nothing_more_than_its_model_list(server: FakeServer) -> None:
    assert ask(server.url, "sk-test", MODEL) is None
    assert [(request.method, request.path) for request in server.asked] == [("GET", "/v1/models")]


def test_the_window_llama_cpp_reports_is_read_from_props_at_the_servers_root(server: FakeServer) -> None:
    server.routes.update(reports(LLAMACPP, MODEL, WINDOW))

    ask(server.url + "/", "", MODEL)

    assert [request.path for request in server.asked] == ["/v1/models", "/props"]
    assert all("authorization" not in request.headers for request in server.asked)  # no key, none sent


ODD: list[tuple[Flavour, tuple[str, str], Answer]] = [
    (
        VLLM,
        ("GET", "/v1/models"),
        StatusFault(200, {"data": [{"id": MODEL, "owned_by": "vllm", "max_model_len": "x"}]}),
    ),
    (VLLM, ("GET", "/v1/models"), StatusFault(200, {"data": [{"id": MODEL, "owned_by": "vllm", "max_model_len": -1}]})),
    (
        VLLM,
        ("GET", "/v1/models"),
        StatusFault(200, {"data": [{"id": "other", "owned_by": "vllm", "max_model_len": 9}]}),
    ),
    (LLAMACPP, ("GET", "/props"), Fault.server_error(500)),
    (LLAMACPP, ("GET", "/props"), StatusFault(200, "<html>not json</html>")),
    (OLLAMA, ("POST", "/api/show"), StatusFault(200, {"parameters": "num_ctx many", "model_info": []})),
    (LMSTUDIO, ("GET", "/api/v0/models"), Fault.status(404, {"error": "Unexpected endpoint or method."})),
    (OPENROUTER, ("GET", "/v1/models"), StatusFault(200, {"data": [{"id": MODEL, "top_provider": True}]})),
    (LITELLM, ("GET", "/v1/model/info"), StatusFault(200, {"data": "none"})),
]


@pytest.mark.parametrize(("flavour", "route", "answer"), ODD, ids=[f"{f.name}-{n}" for n, (f, _, _) in enumerate(ODD)])
def test_an_odd_or_failed_report_reports_nothing(
    server: FakeServer, flavour: Flavour, route: tuple[str, str], answer: Answer
) -> None:
    server.routes.update(reports(flavour, MODEL, WINDOW))
    server.routes[route] = answer

    report = ask(server.url, "sk-test", MODEL)

    assert report is None or report.window is None


def test_a_server_that_is_not_there_reports_nothing() -> None:
    assert ask(f"http://127.0.0.1:{closed_port()}/v1", "sk-test", MODEL) is None


# ---- whole program: the window a server reports is never overflowed ------------------------------------------------

OUTPUT_OVER_THE_WINDOW = "x = 6*7; print('HEAD' + 'z' * 60_000 + 'TAIL')"  # ~15,000 tokens: ten windows


def overflow(body: Callable[[int, int], object]) -> Callable[[int, int], Answer]:
    """The server's refusal of a request over its window, in its words."""
    return lambda window, tokens: fault(400, body(window, tokens))


REFUSING = [
    pytest.param(VLLM, overflow(vllm_overflow), id="vllm"),
    pytest.param(LLAMACPP, overflow(lambda window, tokens: llama_cpp_overflow(window)), id="llama.cpp"),
    pytest.param(OPENROUTER, overflow(openrouter_overflow), id="openrouter"),
    pytest.param(LITELLM, overflow(vllm_overflow), id="litellm"),
    pytest.param(LMSTUDIO, overflow(lmstudio_overflow), id="lm-studio"),
]


@pytest.mark.parametrize(("flavour", "refusal"), REFUSING)
def test_against_a_server_reporting_its_window_no_request_overflows_it(
    run_cli: Run, server: FakeServer, flavour: Flavour, refusal: Callable[[int, int], Answer]
) -> None:
    server.routes.update(reports(flavour, MODEL, WINDOW))
    turns = [Turn(code=(OUTPUT_OVER_THE_WINDOW,)), *TWO_STEPS[1:]]
    server.responder = Overflowing(script(flavour, turns), refusal, WINDOW)

    result = run_cli("-c", TASK, "-y")

    finished(result)
    sent = chats(server)
    assert len(sent) == 3  # the three steps, none refused and asked again
    assert max(prompt_tokens(request) for request in sent) <= WINDOW
    assert f"to fit gpt-4o's {WINDOW:,}-token window" in result.stdout + result.stderr
    assert "too long" not in result.stdout + result.stderr


def test_against_ollama_which_never_refuses_the_window_it_reports_keeps_every_request_whole(
    run_cli: Run, server: FakeServer
) -> None:
    # Ollama drops the start of a prompt over num_ctx without a word (PROVIDERS.md): only knowing it keeps it whole.
    server.routes.update(reports(OLLAMA, MODEL, WINDOW))
    server.responder = script(OLLAMA, [Turn(code=(OUTPUT_OVER_THE_WINDOW,)), *TWO_STEPS[1:]])

    result = run_cli("-c", TASK, "-y")

    finished(result)
    assert max(prompt_tokens(request) for request in chats(server)) <= WINDOW


def test_a_server_that_never_answers_the_question_holds_up_no_one_step_task(run_cli: Run, server: FakeServer) -> None:
    # The model list is the first question; asked in the background, it must not keep the request or the exit waiting.
    server.routes[("GET", "/v1/models")] = Fault.delay(600, StatusFault(200, {"data": []}))
    server.enqueue(Reply.text("It is 42."))

    result = run_cli("-c", "what is 6*7?", timeout=60)

    assert result.returncode == 0, result.stderr
    assert "It is 42." in result.stdout
    assert len(chats(server)) == 1
    assert [request.path for request in server.asked] == ["/v1/models"]
