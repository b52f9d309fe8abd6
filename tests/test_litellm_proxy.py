"""The installed command through a real LiteLLM proxy (1.110.2) in front of the loopback fake upstream.

What the proxy changes on the way (shared/PROVIDERS.md, LiteLLM section): the upstream's headers come back renamed
`llm_provider-<name>` (a 429's waits only so), its error messages wrapped in `litellm.<Kind>Error: ...` with `code`
the status as a string and `type` its own, and by default it retries by itself. One proxy serves the module: `gpt-4o`
with num_retries 0 (one upstream request per request the tool sends), `gpt-4o-mini` with LiteLLM's default retries,
`gpt-5.1-codex` a model the upstream refuses on Chat Completions as OpenAI does. The proxy's `/v1/responses` forwards
to the upstream's `/v1/responses` (an `openai/` route speaks it natively).
"""

from __future__ import annotations

import os
import subprocess
from collections import deque
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from fake_server import (
    Answer,
    FakeServer,
    Fault,
    RateLimit,
    RecordedRequest,
    Reply,
    StatusFault,
    fallback,
    prompt_tokens,
)
from litellm_proxy import COMMAND_VARIABLE, MASTER_KEY, READY_WITHIN, VERSION, LiteLLMProxy, Route, litellm_command

ONCE = "gpt-4o"  # num_retries: 0
RETRYING = "gpt-4o-mini"  # LiteLLM's default: retries by itself
CODEX = "gpt-5.1-codex"  # num_retries: 0; refused on Chat Completions upstream
COMMAND = litellm_command()

pytestmark = [
    pytest.mark.skipif(
        not COMMAND.exists(),
        reason=f"no LiteLLM proxy at {COMMAND} ({COMMAND_VARIABLE}): .ci/run's LiteLLM step installs it ({VERSION})",
    ),
    pytest.mark.timeout(READY_WITHIN + 120),  # the first test's time includes starting the proxy
]

Run = Callable[..., subprocess.CompletedProcess[str]]


class Upstream:
    """The module's fake upstream as one test sees it: its own script and responder, only its own requests."""

    def __init__(self, server: FakeServer) -> None:
        self.server = server
        self.responder: Callable[[RecordedRequest], Answer] = fallback  # answers what the script does not
        self.script: deque[Answer] = deque()
        self._first = len(server.requests)
        server.responder = self._answer

    def enqueue(self, *items: Answer) -> None:
        """Script the answers to this test's next chat requests, in order."""
        self.script.extend(items)

    @property
    def chats(self) -> list[RecordedRequest]:
        """The chat requests that reached the upstream during this test, in order."""
        return [request for request in self.asked if request.wire == "chat"]

    @property
    def asked(self) -> list[RecordedRequest]:
        """The model requests (either API) that reached the upstream during this test, in order."""
        requests = self.server.requests[self._first :]
        return [request for request in requests if request.method == "POST" and request.path.startswith("/v1/")]

    def _answer(self, request: RecordedRequest) -> Answer:
        return self.script.popleft() if self.script else self.responder(request)


@pytest.fixture(scope="module")
def fake_upstream() -> Iterator[FakeServer]:
    """The fake OpenAI server the proxy forwards to, for the whole module."""
    with FakeServer(chat_refusals={CODEX: Fault.responses_only()}) as server:
        yield server


@pytest.fixture(scope="module")
def proxy(fake_upstream: FakeServer, tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiteLLMProxy]:
    """One LiteLLM proxy for the module, stopped at its end whatever happened."""
    routes = [Route(ONCE, retries=0), Route(RETRYING, retries=None), Route(CODEX, retries=0)]
    with LiteLLMProxy.start(COMMAND, fake_upstream.url, routes, tmp_path_factory.mktemp("litellm")) as running:
        yield running


@pytest.fixture
def upstream(fake_upstream: FakeServer) -> Iterator[Upstream]:
    """The upstream as this test scripts it; what an earlier test left unasked is gone."""
    fresh = Upstream(fake_upstream)
    yield fresh
    assert not fresh.script, "a scripted answer was never asked for"


@pytest.fixture
def run(interpreter_command: list[str], proxy: LiteLLMProxy, tmp_path: Path) -> Run:
    """Run the installed command against the proxy, as a user would, without a terminal."""

    def run(*args: str, model: str = ONCE, key: str = MASTER_KEY) -> subprocess.CompletedProcess[str]:
        command = [*interpreter_command, *args, "--api-base", proxy.url, "--api-key", key, "-m", model]
        return subprocess.run(
            command, capture_output=True, text=True, env=dict(os.environ), timeout=180, cwd=tmp_path, check=False
        )

    return run


def test_the_two_step_task_prints_42_through_the_proxy(run: Run, upstream: Upstream) -> None:
    upstream.enqueue(
        Reply.tool_call("python", "x = 6*7"), Reply.tool_call("python", "print(x)"), Reply.text("x is 42.")
    )
    result = run("-c", "set x to 6*7, then print it", "-y")
    assert result.returncode == 0, result.stderr
    assert "42\n" in result.stdout and "x is 42." in result.stdout
    assert "Traceback" not in result.stderr
    last = upstream.chats[-1].body or {}
    assert [message["content"] for message in last["messages"] if message["role"] == "tool"][-1] == "42\n"


@pytest.mark.parametrize(
    "refusal",
    [
        pytest.param(RateLimit.retry_after(3), id="retry-after"),
        pytest.param(RateLimit.requests(reset="3s"), id="x-ratelimit-reset-requests"),
    ],
)
def test_a_wait_the_upstream_names_only_in_headers_is_waited_out(
    run: Run, upstream: Upstream, refusal: StatusFault
) -> None:
    # The proxy hands these headers on only renamed (llm_provider-retry-after, llm_provider-x-ratelimit-reset-*),
    # and the message names no wait.
    upstream.enqueue(refusal, Reply.text("It is 42."))
    result = run("-c", "what is 6*7?")
    assert result.returncode == 0, result.stderr
    assert "It is 42." in result.stdout
    first, second = upstream.chats
    assert second.at - first.at >= 3.0  # nothing sent before the named wait ran out
    assert "rate limited" in result.stdout


def test_out_of_credit_stops_at_once_with_the_quota_words(run: Run, upstream: Upstream) -> None:
    # Behind the proxy the refusal's code is "429" and its type throttling_error: only the words say quota.
    upstream.responder = Fault.always(RateLimit.insufficient_quota())
    result = run("-c", "what is 6*7?")
    assert result.returncode == 1
    assert len(upstream.chats) == 1  # one request, not six
    errors = [line for line in result.stdout.splitlines() if line.startswith("error:")]
    assert len(errors) == 1 and "no credit left (insufficient_quota)" in errors[0], result.stdout


WINDOW = 2_048  # the upstream's context window, much smaller than the 128,000 tokens gpt-4o's name promises


def small_window(request: RecordedRequest) -> Answer:
    """An upstream that refuses more than WINDOW tokens with OpenAI's overflow; its model prints a lot."""
    tokens = prompt_tokens(request)
    if tokens > WINDOW:
        return Fault.context_length_exceeded(WINDOW, tokens)
    if (request.body or {})["messages"][-1]["role"] == "tool":
        return Reply.text("done: the output starts with HEAD")
    return Reply.tool_call("python", "print('HEAD' + 'z' * 60_000 + 'TAIL')")


def test_an_overflow_the_proxy_calls_context_window_exceeded_is_trimmed_and_retried(
    run: Run, upstream: Upstream
) -> None:
    # The proxy answers it as 400 `litellm.ContextWindowExceededError: ...`, code "400", no context_length_exceeded.
    upstream.responder = small_window
    result = run("-c", "print a lot", "-y")
    assert result.returncode == 0, result.stderr
    assert "done: the output starts with HEAD" in result.stdout
    assert "too long for its 2,048-token window" in result.stdout + result.stderr
    sent = (upstream.chats[-1].body or {})["messages"][-1]["content"]
    assert sent.startswith("HEAD") and sent.endswith("TAIL\n") and "to fit the context window" in sent


def test_the_upstream_refusing_the_proxys_own_key_is_not_blamed_on_the_persons_key(
    run: Run, upstream: Upstream
) -> None:
    # The proxy relays it as 401 `litellm.AuthenticationError: ... Incorrect API key provided: ...`, code "401".
    upstream.responder = Fault.always(Fault.invalid_api_key())
    result = run("-c", "what is 6*7?")
    assert result.returncode == 1
    errors = [line for line in result.stdout.splitlines() if line.startswith("error:")]
    assert len(errors) == 1, result.stdout
    assert "refused the proxy's own key" in errors[0] and "Incorrect API key provided" in errors[0]
    assert "--api-key" not in errors[0]


def report_line(output: str, name: str) -> str:
    """The line of doctor's report about `name`."""
    return next(line for line in output.splitlines() if line.startswith(name))


def test_doctor_names_the_proxy_and_warns_that_it_retries_by_itself(run: Run, upstream: Upstream) -> None:
    result = run("doctor", model=RETRYING)
    assert "LiteLLM proxy" in report_line(result.stdout, "server"), result.stdout
    assert "the LiteLLM proxy retries failed requests by itself" in result.stdout


def test_doctor_passes_a_proxy_set_to_no_retries_of_its_own_without_a_warning(run: Run, upstream: Upstream) -> None:
    # The proxy sends x-litellm-max-retries only on an answer that needed a retry; its /model/info lists the
    # deployment's num_retries: 0.
    upstream.responder = lambda request: Reply.tool_call("python", "print(1)")
    result = run("doctor", model=ONCE)
    assert result.returncode == 0, result.stdout
    assert "LiteLLM proxy" in report_line(result.stdout, "server")
    assert "warning" not in result.stdout


def test_doctor_says_could_not_check_for_a_key_the_proxy_answers_with_its_own_error(
    run: Run, upstream: Upstream
) -> None:
    # Without a database the proxy answers any key but its master key with 400 "No connected db.".
    result = run("doctor", key="sk-not-the-master-key")
    line = report_line(result.stdout, "API key")
    assert "could not check" in line and "No connected db." in line, result.stdout
    assert not upstream.chats  # the proxy forwarded nothing: the key was never tried upstream


def test_doctor_blames_the_proxys_own_key_when_the_upstream_refuses_it(run: Run, upstream: Upstream) -> None:
    upstream.responder = Fault.always(Fault.invalid_api_key())
    result = run("doctor")
    line = report_line(result.stdout, "API key")
    assert "FAILED" in line and "the server behind it refused the proxy's own key" in line, result.stdout
    assert "fix: check the api_key in the proxy's config" in result.stdout
    assert "check --api-key" not in result.stdout


# ---- the Responses API through the proxy ------------------------------------------------------------


def test_the_two_step_task_prints_42_on_the_proxys_responses_api(run: Run, upstream: Upstream) -> None:
    upstream.enqueue(
        Reply.tool_call("python", "x = 6*7"), Reply.tool_call("python", "print(x)"), Reply.text("x is 42.")
    )
    result = run("-c", "set x to 6*7, then print it", "-y", "--api", "responses")
    assert result.returncode == 0, result.stderr
    assert "42\n" in result.stdout and "x is 42." in result.stdout
    assert [request.wire for request in upstream.asked] == ["responses"] * 3
    outputs = [item for item in (upstream.asked[-1].body or {})["input"] if item.get("type") == "function_call_output"]
    assert [item["output"] for item in outputs] == ["(no output)", "42\n"]


def test_a_rate_limit_inside_a_responses_stream_is_waited_out_through_the_proxy(run: Run, upstream: Upstream) -> None:
    # `response.failed` with rate_limit_exceeded, the wait named only in its words ("Please try again in 3s.").
    upstream.enqueue(RateLimit.in_stream("3s"), Reply.text("It is 42."))
    result = run("-c", "what is 6*7?", "--api", "responses")
    assert result.returncode == 0, result.stderr
    assert "It is 42." in result.stdout and "rate limited" in result.stdout
    first, second = upstream.asked
    assert second.at - first.at >= 3.0  # nothing sent before the named wait ran out


def test_a_responses_only_model_asked_on_chat_is_bridged_by_the_proxy_itself(run: Run, upstream: Upstream) -> None:
    # LiteLLM's model map knows gpt-5.1-codex answers only on the Responses API, so the proxy sends the tool's Chat
    # Completions request upstream as a Responses one: no refusal reaches the tool, and it has nothing to switch.
    upstream.enqueue(Reply.tool_call("python", "print(6*7)"), Reply.text("It printed 42."))
    result = run("-c", "what is 6*7?", "-y", model=CODEX)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "It printed 42." in result.stdout and "Responses API" not in result.stdout + result.stderr
    assert [request.wire for request in upstream.asked] == ["responses", "responses"]
