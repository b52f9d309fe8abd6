"""The catalogue against a real LiteLLM proxy (tests/litellm_proxy.py): it is recognised from its own model list and
asked for its deployments, whose window and prices (LiteLLM's bundled cost map) the catalogue takes, as
`interpreter doctor` shows."""

from __future__ import annotations

import os
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
from fake_server import FakeServer
from litellm_proxy import COMMAND_VARIABLE, MASTER_KEY, READY_WITHIN, VERSION, LiteLLMProxy, Route, litellm_command

from interpreter.model.prices import Prices
from interpreter.model.server_reports import Report, ask

MODEL = "gpt-4o"
COMMAND = litellm_command()
# LiteLLM's cost map for gpt-4o (bundled with 1.110.2): 128,000 input tokens, $2.50 / $10 / $1.25 cached per million.
GPT_4O = Report(128_000, Prices(2.5, 10.0, 1.25), "LiteLLM /model/info")

pytestmark = [
    pytest.mark.skipif(
        not COMMAND.exists(),
        reason=f"no LiteLLM proxy at {COMMAND} ({COMMAND_VARIABLE}): .ci/run's LiteLLM step installs it ({VERSION})",
    ),
    pytest.mark.timeout(READY_WITHIN + 120),  # the first test's time includes starting the proxy
]


@pytest.fixture(scope="module")
def proxy(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiteLLMProxy]:
    """One LiteLLM proxy in front of the fake upstream, for the module."""
    with FakeServer() as upstream:
        routes = [Route(MODEL, retries=0)]
        with LiteLLMProxy.start(COMMAND, upstream.url, routes, tmp_path_factory.mktemp("litellm")) as running:
            yield running


def test_the_proxy_reports_its_deployments_window_and_prices(proxy: LiteLLMProxy) -> None:
    assert ask(proxy.url, MASTER_KEY, MODEL) == GPT_4O


def test_a_model_the_proxy_does_not_serve_gets_no_report(proxy: LiteLLMProxy) -> None:
    assert ask(proxy.url, MASTER_KEY, "gpt-4o-mini") is None


def test_doctor_shows_the_window_and_prices_the_proxy_reports(
    proxy: LiteLLMProxy, interpreter_command: list[str], tmp_path: Path
) -> None:
    command = [*interpreter_command, "--api-base", proxy.url, "--api-key", MASTER_KEY, "-m", MODEL, "doctor"]
    result = subprocess.run(
        command, capture_output=True, text=True, env=dict(os.environ), timeout=180, cwd=tmp_path, check=False
    )

    line = next(line for line in result.stdout.splitlines() if line.startswith("context window"))
    assert line.split(None, 3)[3] == (
        "128,000 tokens (LiteLLM /model/info); $2.5 / $10 per million tokens in / out (LiteLLM /model/info)"
    )
