"""The model catalogue: each model's window and prices from the best source (the person's settings, the server's
report, genai-prices, the table of names, then 8,192), asked in the background of the first request, never before
it; and the `[models."NAME"]` tables of the settings file that feed it."""

from __future__ import annotations

import logging
import subprocess
import sys
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Generic, TypeVar

import pytest
from fake_server import FakeServer, Reply, ScriptedCall, prompt_tokens
from fakes import FakeAdapter
from flavours import VLLM, Turn, reports, script
from test_config import write_settings
from test_servers_faults import TASK, TWO_STEPS, chats, finished

from interpreter.errors import ConfigError
from interpreter.messages import Message
from interpreter.model.catalogue import ASSUMED, CONFIGURED, KNOWN_NAME, Catalogue, Priced, Window
from interpreter.model.context import REFUSAL, ContextWindow
from interpreter.model.price_list import Listing
from interpreter.model.prices import Prices
from interpreter.model.server_reports import Report
from interpreter.settings.config import Flags, effective
from interpreter.settings.settings_file import ModelTable

Run = Callable[..., subprocess.CompletedProcess[str]]
T = TypeVar("T")
TABLE = ModelTable(context_window=3_000, input_price=0.2, output_price=0.8)
SETTINGS_SOURCE = '[models."m"] in your settings'
VLLM_SAYS = Report(1_400, None, "vLLM /v1/models")
ROUTER_SAYS = Report(1_400, Prices(3.0, 15.0), "OpenRouter /models")
LISTED = Listing(64_000, Prices(0.27, 1.1, 0.07))


def settled(catalogue: Catalogue, model: str = "m") -> Catalogue:
    catalogue.settle(model)
    return catalogue


def answering(answer: T) -> Callable[[str], T]:
    """A source that answers `answer` about any model."""
    return lambda model: answer


@pytest.mark.parametrize(
    ("catalogue", "model", "expected"),
    [
        pytest.param(
            Catalogue(tables={"m": TABLE}, configured=2_000, ask=answering(VLLM_SAYS), look=answering(LISTED)),
            "m",
            Window(3_000, SETTINGS_SOURCE),
            id="the model's own table first",
        ),
        pytest.param(
            Catalogue(configured=2_000, ask=answering(VLLM_SAYS), look=answering(LISTED)),
            "m",
            Window(2_000, CONFIGURED),
            id="then --context-window",
        ),
        pytest.param(
            Catalogue(tables={"m": ModelTable(input_price=1.0)}, ask=answering(VLLM_SAYS), look=answering(LISTED)),
            "m",
            Window(1_400, "vLLM /v1/models"),
            id="then the server (a table without a window says nothing of it)",
        ),
        pytest.param(
            Catalogue(ask=answering(None), look=answering(LISTED)),
            "gpt-4o",
            Window(64_000, "genai-prices"),
            id="then genai-prices",
        ),
        pytest.param(
            Catalogue(ask=answering(None), look=answering(None)),
            "gpt-4o",
            Window(128_000, KNOWN_NAME),
            id="then the name",
        ),
        pytest.param(Catalogue(), "my-local-model", Window(8_192, ASSUMED), id="then 8,192"),
    ],
)
def test_the_window_comes_from_the_best_source_that_has_one(catalogue: Catalogue, model: str, expected: Window) -> None:
    assert settled(catalogue, model).window(model) == expected


def test_prices_come_from_the_settings_then_the_server_then_genai_prices() -> None:
    router, listed = answering(ROUTER_SAYS), answering(LISTED)
    assert Catalogue(tables={"m": TABLE}, ask=router, look=listed).prices("m") == Priced(
        Prices(0.2, 0.8), SETTINGS_SOURCE
    )
    half = {"m": ModelTable(input_price=0.2)}  # no output price: not a price to count with
    assert Catalogue(tables=half, ask=router, look=listed).prices("m") == Priced(
        Prices(3.0, 15.0), "OpenRouter /models"
    )
    assert Catalogue(ask=answering(VLLM_SAYS), look=answering(LISTED)).prices("m") == Priced(
        Prices(0.27, 1.1, 0.07), "genai-prices"
    )
    assert Catalogue(ask=answering(VLLM_SAYS), look=answering(None)).prices("m") is None


class Held(Generic[T]):
    """A source that answers only once released, counting the models it was asked about."""

    def __init__(self, answer: T) -> None:
        self.answer = answer
        self.asked: list[str] = []
        self.released = threading.Event()

    def __call__(self, model: str) -> T:
        self.asked.append(model)
        self.released.wait(30)
        return self.answer


def test_the_first_request_never_waits_for_the_server_and_later_ones_use_what_it_said() -> None:
    held = Held(VLLM_SAYS)
    window = ContextWindow(FakeAdapter("m"), catalogue=Catalogue(ask=held, look=answering(None)))
    system, task = Message("system", "you run code"), Message("user", "hello")

    window.fit(system, [task])  # returns while the server has not answered
    assert window.window == Window(8_192, ASSUMED)
    held.released.set()
    window.fit(system, [task])

    assert window.window == Window(1_400, "vLLM /v1/models")
    assert held.asked == ["m"]  # asked once


def test_prices_genai_prices_knows_are_given_while_the_server_has_not_answered_then_its_own() -> None:
    held = Held(ROUTER_SAYS)
    catalogue = Catalogue(ask=held, look=answering(LISTED))

    assert catalogue.prices("m") == Priced(Prices(0.27, 1.1, 0.07), "genai-prices")  # returns, the server still held
    assert held.asked == ["m"] and not held.released.is_set()
    held.released.set()
    catalogue.settle("m")
    assert catalogue.prices("m") == Priced(Prices(3.0, 15.0), "OpenRouter /models")


def test_a_window_the_server_named_in_a_refusal_still_wins_for_the_session() -> None:
    window = ContextWindow(FakeAdapter("m"), catalogue=settled(Catalogue(ask=answering(VLLM_SAYS))))

    window.refused([Message("user", "x" * 40_000)], named=1_000)

    assert window.window == Window(1_000, REFUSAL)


def test_a_source_that_fails_is_logged_and_left_out(caplog: pytest.LogCaptureFixture) -> None:
    def broken(model: str) -> Report:
        raise RuntimeError("the server sent nonsense")

    with caplog.at_level(logging.WARNING):
        catalogue = settled(Catalogue(ask=broken, look=answering(LISTED)))

    assert catalogue.window("m") == Window(64_000, "genai-prices")
    assert "asking the server about m failed: RuntimeError: the server sent nonsense" in caplog.text


# ---- [models."NAME"] in the settings file -------------------------------------------------------------------------

MODELS_FILE = """
[models."qwen3-coder:30b"]
context_window = 32768
input_price = 0
output_price = 0

[models."gpt-4o"]
input_price = 2.5
output_price = 10
cached_input_price = 1.25

[profiles.local]
api_base = "http://localhost:11434/v1"

[profiles.local.models."qwen3-coder:30b"]
context_window = 16384
"""


def test_model_tables_come_from_the_file_and_a_profiles_own_replace_them_model_by_model(private_home: Path) -> None:
    write_settings(private_home, MODELS_FILE)

    top = effective(Flags()).settings.models
    local = effective(Flags(profile="local")).settings.models

    assert top == {
        "qwen3-coder:30b": ModelTable(32_768, 0.0, 0.0),
        "gpt-4o": ModelTable(None, 2.5, 10.0, 1.25),
    }
    assert local == {"qwen3-coder:30b": ModelTable(16_384), "gpt-4o": ModelTable(None, 2.5, 10.0, 1.25)}


@pytest.mark.parametrize(
    ("table", "says"),
    [
        ('[models."m"]\ncontext_window = 0\n', "setting 'context_window' for model 'm' in "),
        ('[models."m"]\ncontext_window = 8000.5\n', "must be a whole number of tokens, at least 1, not 8000.5"),
        ('[models."m"]\ninput_price = -1\n', "must be a price in USD per million tokens, 0 or more, not -1"),
        ('[models."m"]\noutput_price = "cheap"\n', "not 'cheap'"),
        ('[models."m"]\noutput_price = inf\n', "not inf"),
        ('[models."m"]\nmax_price = 3\n', "unknown setting 'max_price' for model 'm'"),
        ("models = 3\n", "'models' in "),
        ('[profiles.p.models."m"]\ninput_price = true\n', "for model 'm' in profile 'p' of "),
    ],
)
def test_a_bad_model_table_is_one_clear_error(private_home: Path, table: str, says: str) -> None:
    write_settings(private_home, table)

    with pytest.raises(ConfigError) as caught:
        effective(Flags())

    assert says in str(caught.value) and "\n" not in str(caught.value)


def test_a_bad_model_table_stops_the_command_with_one_line_and_exit_2(run_cli: Run, private_home: Path) -> None:
    write_settings(private_home, '[models."gpt-4o"]\ninput_price = -2.5\n')

    result = run_cli("-c", "hi")

    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    (line,) = [line for line in result.stderr.splitlines() if line.strip()]
    assert "input_price" in line and "'gpt-4o'" in line and "0 or more" in line


# ---- whole program ------------------------------------------------------------------------------------------------

OUTPUT_OVER_THE_WINDOW = "x = 6*7; print('HEAD' + 'z' * 60_000 + 'TAIL')"


def test_a_window_in_the_settings_beats_the_one_the_server_reports(
    run_cli: Run, server: FakeServer, private_home: Path
) -> None:
    write_settings(private_home, '[models."gpt-4o"]\ncontext_window = 3000\n')
    server.routes.update(reports(VLLM, "gpt-4o", 1_400))
    server.responder = script(VLLM, [Turn(code=(OUTPUT_OVER_THE_WINDOW,)), *TWO_STEPS[1:]])

    result = run_cli("-c", TASK, "-y")

    finished(result)
    assert "to fit gpt-4o's 3,000-token window" in result.stdout + result.stderr
    assert max(prompt_tokens(request) for request in chats(server)) > 1_400  # the server's word was not taken


CALLS_THE_TOOL = Reply(calls=(ScriptedCall("execute", '{"language": "python", "code": "print(1)"}'),))


@pytest.mark.parametrize(
    ("model", "settings", "reported", "row"),
    [
        pytest.param(
            "gpt-4o",
            '[models."gpt-4o"]\ncontext_window = 3000\n',
            1_400,
            '3,000 tokens ([models."gpt-4o"] in your settings); $2.5 / $10 per million tokens in / out (genai-prices)',
            id="settings",
        ),
        pytest.param(
            "gpt-4o",
            "",
            1_400,
            "1,400 tokens (vLLM /v1/models); $2.5 / $10 per million tokens in / out (genai-prices)",
            id="server",
        ),
        pytest.param("gpt-4.1", "", None, "1,000,000 tokens (genai-prices)", id="genai-prices"),
        pytest.param("llama3.3:70b", "", None, "128,000 tokens (known from its name)", id="name"),
        pytest.param("my-local-model", "", None, "8,192 tokens (assumed for an unknown model)", id="unknown"),
    ],
)
def test_doctor_shows_the_window_and_where_it_came_from(
    run_cli: Run,
    server: FakeServer,
    private_home: Path,
    *,
    model: str,
    settings: str,
    reported: int | None,
    row: str,
) -> None:
    write_settings(private_home, settings)
    if reported is not None:
        server.routes.update(reports(VLLM, model, reported))
    server.enqueue(CALLS_THE_TOOL)

    result = run_cli("-m", model, "doctor")

    line = next(line for line in result.stdout.splitlines() if line.startswith("context window"))
    assert line.split(None, 3)[3].startswith(row), line


def test_the_version_imports_no_price_list() -> None:
    result = subprocess.run(
        [sys.executable, "-X", "importtime", "-m", "interpreter", "--version"],
        capture_output=True,
        text=True,
        check=True,
    )

    assert result.stdout.strip()
    imported = [line.rsplit("|", 1)[-1].strip() for line in result.stderr.splitlines()]
    assert "interpreter" in imported  # the import times were written
    assert not [name for name in imported if name.startswith(("genai_prices", "interpreter.model.price_list"))]


def test_config_lists_the_model_tables_in_effect(interpreter_command: list[str], private_home: Path) -> None:
    write_settings(private_home, MODELS_FILE)

    result = subprocess.run(
        [*interpreter_command, "config", "--profile", "local"], capture_output=True, text=True, check=False
    )

    assert result.returncode == 0, result.stderr
    rows = [" ".join(line.split()) for line in result.stdout.splitlines() if line.startswith("models.")]
    assert rows == [
        'models."gpt-4o" input_price = 2.5, output_price = 10, cached_input_price = 1.25 profile local',
        'models."qwen3-coder:30b" context_window = 16384 profile local',
    ]
