"""What a task costs, as a person meets it: the installed `interpreter` against the loopback fake server.

gpt-4o is priced as OpenAI publishes it: $2.50 per million input tokens, $10.00 per million output tokens ($1.25 for
cached input). The fake server reports a prompt's tokens as its characters / 4 and a reply's as its written
characters / 4, so each request's cost is known from what the server saw.
"""

from __future__ import annotations

import json
import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from fake_server import FakeServer, RateLimit, RecordedRequest, Reply, cells, prompt_tokens
from fakes import without_total
from flavours import DONE, Flavour, Turn, data, script
from stored import conversation_files, stored_header

from interpreter import Interpreter
from interpreter.errors import CostCapReached
from interpreter.messages import Usage

Run = Callable[..., subprocess.CompletedProcess[str]]
INPUT, OUTPUT = 2.50, 10.00  # gpt-4o, USD per million tokens
EIGHT_STEPS = "print the numbers 1 to 8, one python cell each"


def records(result: subprocess.CompletedProcess[str]) -> list[dict[str, Any]]:
    return [json.loads(line) for line in result.stdout.splitlines()]


def usages(result: subprocess.CompletedProcess[str]) -> list[dict[str, Any]]:
    return [record for record in records(result) if record["type"] == "usage"]


def chats(server: FakeServer) -> list[RecordedRequest]:
    return [request for request in server.requests if request.path.endswith("/chat/completions")]


def test_json_carries_one_usage_event_per_request_costed_at_the_model_s_prices(
    run_cli: Run, server: FakeServer
) -> None:
    server.responder = cells(2)

    result = run_cli("-c", "print 1 then 2", "-y", "--json", "-m", "gpt-4o")

    assert result.returncode == 0, result.stderr
    sent = chats(server)
    events = usages(result)
    assert len(sent) == len(events) == 3
    for request, event in zip(sent, events, strict=True):
        assert event["model"] == "gpt-4o"
        assert event["input_tokens"] == prompt_tokens(request)  # the server's own count, not our estimate
        assert (event["cached_tokens"], event["reasoning_tokens"]) == (0, 0)
        cost = (event["input_tokens"] * INPUT + event["output_tokens"] * OUTPUT) / 1_000_000
        assert event["cost"] == pytest.approx(cost, rel=1e-12)
    assert [event["output_tokens"] for event in events] == [11, 11, 4]  # the two cells' calls, then "All 2 cells ran."
    total = sum(event["input_tokens"] + event["output_tokens"] for event in events)
    (line,) = [record["text"] for record in records(result) if record["type"] == "info"]
    assert line.startswith(f"3 requests · {total:,} tokens · $0.00")


def test_cached_input_is_charged_at_its_own_price(run_cli: Run, server: FakeServer) -> None:
    usage = {"prompt_tokens": 1_000, "completion_tokens": 300, "prompt_tokens_details": {"cached_tokens": 200}}
    frames = [
        data({"object": "chat.completion.chunk", "choices": [{"index": 0, "delta": {"content": "Done."}}]}),
        data({"object": "chat.completion.chunk", "choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}]}),
        data({"object": "chat.completion.chunk", "choices": [], "usage": usage}),
        DONE,
    ]
    server.responder = script(Flavour("raw", lambda turn, request: frames), [Turn()])

    result = run_cli("-c", "hi", "--json", "-m", "gpt-4o")

    assert result.returncode == 0, result.stderr
    assert usages(result) == [
        {
            "type": "usage",
            "model": "gpt-4o",
            "input_tokens": 1_000,
            "cached_tokens": 200,
            "output_tokens": 300,
            "reasoning_tokens": 0,
            "cost": 0.00525,  # (800 x 2.50 + 200 x 1.25 + 300 x 10.00) / 1,000,000
            "estimated": False,
        }
    ]


def test_a_task_ends_with_what_it_cost(run_cli: Run, server: FakeServer) -> None:
    server.enqueue(Reply.text("Hello there."))

    result = run_cli("-c", "hi", "-m", "gpt-4o")

    assert result.returncode == 0, result.stderr
    (request,) = chats(server)
    tokens = prompt_tokens(request) + 3  # "Hello there." is 12 characters: 3 tokens
    assert without_total(result.stdout.splitlines()) == ["Hello there."]
    cost = (prompt_tokens(request) * INPUT + 3 * OUTPUT) / 1_000_000
    assert result.stdout.splitlines()[-1] == f"1 request · {tokens:,} tokens · ${cost:.4f}".rstrip("0")


def test_the_total_counts_the_requests_the_traffic_line_counts_a_rate_limited_one_too(
    run_cli: Run, server: FakeServer
) -> None:
    server.enqueue(RateLimit.retry_after(0), Reply.text("Hello there."))

    result = run_cli("-c", "hi", "-m", "gpt-4o")

    assert result.returncode == 0, result.stderr
    total, traffic = result.stdout.splitlines()[-2:]
    assert total.startswith("2 requests · ") and traffic.startswith("2 requests, 1 rate limited (429)"), result.stdout
    assert len(chats(server)) == 2


def test_max_cost_stops_an_eight_step_task_before_it_spends_more(run_cli: Run, server: FakeServer) -> None:
    server.responder = cells(8)

    result = run_cli("-c", EIGHT_STEPS, "-y", "--json", "-m", "gpt-4o", "--max-cost", "0.006")

    assert result.returncode == 3, result.stderr
    sent = chats(server)
    events = usages(result)
    assert 1 < len(sent) == len(events) < 9  # some steps ran, and the task was stopped before its end
    assert [event["input_tokens"] for event in events] == [prompt_tokens(request) for request in sent]
    spent = sum(event["cost"] for event in events)
    assert spent <= 0.006
    line = result.stderr.strip()
    assert line.startswith(f"interpreter: stopped at --max-cost $0.006: this task has spent ${spent:.4f}".rstrip("0"))
    assert line.endswith(" (not sent)")
    assert records(result)[-1] == {"type": "exit", "status": 3}


def test_max_cost_counts_a_fallback_at_its_own_prices(run_cli: Run, server: FakeServer) -> None:
    cell = cells(8)
    server.responder = lambda request: RateLimit.retry_after(60) if request.model == "gpt-4o-mini" else cell(request)

    result = run_cli(
        "-c", EIGHT_STEPS, "-y", "--json", "-m", "gpt-4o-mini", "--fallback-model", "gpt-4o", "--max-cost", "0.006"
    )

    assert result.returncode == 3, result.stderr
    models = [request.model for request in chats(server)]
    assert models[0] == "gpt-4o-mini" and set(models[1:]) == {"gpt-4o"}  # at gpt-4o-mini's prices all 9 would go
    assert 2 < len(models) < 10
    events = usages(result)
    assert [event["model"] for event in events] == models[1:]  # the 429 used nothing
    for event in events:
        assert event["cost"] == pytest.approx((event["input_tokens"] * INPUT + event["output_tokens"] * OUTPUT) / 1e6)
    assert sum(event["cost"] for event in events) <= 0.006
    assert "stopped at --max-cost $0.006" in result.stderr


def test_a_cap_from_the_settings_file_stops_the_task_too(run_cli: Run, server: FakeServer, private_home: Path) -> None:
    private_home.mkdir(parents=True, exist_ok=True)
    (private_home / "config.toml").write_text('model = "gpt-4o"\n\n[profiles.frugal]\nmax_cost = 0.004\n')
    (private_home / "config.toml").chmod(0o600)
    server.responder = cells(8)

    result = run_cli("-c", EIGHT_STEPS, "-y", "--profile", "frugal")

    assert result.returncode == 3, result.stdout + result.stderr
    assert "error: stopped at --max-cost $0.004: this task has spent $0.00" in result.stdout
    assert 1 < len(chats(server)) < 9


def test_a_local_model_priced_in_the_settings_file_is_counted_and_capped_at_those_prices(
    run_cli: Run, server: FakeServer, private_home: Path
) -> None:
    private_home.mkdir(parents=True, exist_ok=True)
    table = '[models."my-local-llama"]\ninput_price = 1.00\noutput_price = 4.00\n'
    (private_home / "config.toml").write_text(table)
    (private_home / "config.toml").chmod(0o600)
    server.responder = cells(8)

    result = run_cli("-c", EIGHT_STEPS, "-y", "--json", "-m", "my-local-llama", "--max-cost", "0.002")

    assert result.returncode == 3, result.stderr
    events = usages(result)
    assert 1 < len(events) == len(chats(server)) < 9
    for event in events:
        assert event["cost"] == pytest.approx((event["input_tokens"] * 1.00 + event["output_tokens"] * 4.00) / 1e6)
    assert sum(event["cost"] for event in events) <= 0.002


def test_a_cap_on_a_model_with_no_known_price_is_one_line_and_nothing_is_sent(run_cli: Run, server: FakeServer) -> None:
    result = run_cli("-c", "hi", "-m", "my-local-llama", "--max-cost", "1")

    assert result.returncode == 2
    assert result.stderr == (
        "interpreter: --max-cost cannot be kept: no price is known for my-local-llama; set input_price and "
        'output_price in a [models."my-local-llama"] table of the settings file, or drop --max-cost\n'
    )
    assert chats(server) == []


@pytest.mark.parametrize(
    ("value", "said"),
    [
        ("0", "max_cost must be more than $0, got 0"),
        ("-1", "max_cost must be more than $0, got -1"),
        ("nan", "max_cost must be a finite number, not nan (set by flag)"),
    ],
)
def test_a_cap_that_is_no_sum_of_dollars_is_one_line(run_cli: Run, server: FakeServer, value: str, said: str) -> None:
    result = run_cli("-c", "hi", "--max-cost", value)

    assert result.returncode == 2
    assert result.stderr == f"interpreter: {said}\n"
    assert chats(server) == []


def test_a_cap_that_is_not_a_number_is_a_usage_error(run_cli: Run, server: FakeServer) -> None:
    result = run_cli("-c", "hi", "--max-cost", "five")

    assert result.returncode == 2
    assert "--max-cost" in result.stderr and len(result.stderr.strip().splitlines()) == 1
    assert chats(server) == []


def test_each_conversation_keeps_its_cost_and_the_list_shows_it(
    run_cli: Run, server: FakeServer, private_home: Path
) -> None:
    server.responder = cells(1)

    result = run_cli("-c", "print 1", "-y", "--json", "-m", "gpt-4o")

    assert result.returncode == 0, result.stderr
    spent = sum(event["cost"] for event in usages(result))
    (saved,) = conversation_files(private_home / "conversations")
    assert stored_header(saved)["cost"] == pytest.approx(spent)
    listing = run_cli("conversations")
    (line,) = listing.stdout.splitlines()[1:]
    assert f"  ${spent:.4f}".rstrip("0") + "  print 1" in line


def test_the_python_api_yields_usage_events_and_raises_at_the_cap(server: FakeServer) -> None:
    server.responder = cells(8)
    with Interpreter(model="gpt-4o", api_base=server.url, api_key="sk-test", auto_run=True, max_cost=0.006) as it:
        seen: list[Usage] = []
        with pytest.raises(CostCapReached):
            seen.extend(event for event in it.chat(EIGHT_STEPS) if isinstance(event, Usage))
    assert len(seen) == len(chats(server)) > 1
    assert {usage.model for usage in seen} == {"gpt-4o"}
    assert sum(usage.cost or 0 for usage in seen) <= 0.006
