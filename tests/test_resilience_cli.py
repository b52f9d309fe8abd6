"""The resilience layer as a person meets it: the installed `interpreter` command against the loopback fake server.

These waits are real (the program's own clock): about 12 s for each of the two 3 x "try again in 3.708s" runs and
up to 15 s of full-jitter backoff for the five connection failures. Spacing is checked on the server's recorded
arrival times, never by timing the test.
"""

from __future__ import annotations

import itertools
import re
import subprocess
from collections.abc import Callable

from fake_server import FakeServer, Fault, RateLimit, RecordedRequest
from fake_server import Reply as Scripted
from terminal import Terminal

Run = Callable[..., subprocess.CompletedProcess[str]]
TASK = "compute 6*7 in python"
REQUEST_ID = r"request id req_[0-9a-f]{32}"
# The hint is 3.708 s plus up to 10% jitter (at most 4.08 s); the line is written a moment after the wait starts.
WAIT_LINE = r"rate limited \(TPM\), retrying in (\d+\.\d)s \(attempt {attempt}/6\)"
SUMMARY = r"5 requests, 3 rate limited \(429\), (1[1-3]\.\d)s spent waiting"


def chat_requests(server: FakeServer) -> list[RecordedRequest]:
    return [r for r in server.requests if r.path.endswith("/chat/completions")]


def script_three_429s_then_the_task(server: FakeServer) -> None:
    server.enqueue(
        *Fault.times(3, RateLimit.tokens()),  # "Please try again in 3.708s." in the body, nowhere else
        Scripted.tool_call("python", "print(6*7)"),
        Scripted.text("The answer is 42."),
    )


def assert_spaced_by_the_hint(server: FakeServer) -> None:
    requests = chat_requests(server)
    assert len(requests) == 5
    gaps = [later.at - earlier.at for earlier, later in itertools.pairwise(requests[:4])]
    assert all(gap >= 3.708 for gap in gaps), gaps
    assert requests[4].body is not None and requests[4].body["messages"][-1]["role"] == "tool"


def test_three_429s_then_success_waits_the_hint_with_one_plain_line_per_wait(run_cli: Run, server: FakeServer) -> None:
    script_three_429s_then_the_task(server)

    result = run_cli("-c", TASK, "-y", timeout=60)

    output = result.stdout + result.stderr
    assert result.returncode == 0, output
    assert "Traceback" not in output
    assert_spaced_by_the_hint(server)
    lines = result.stdout.splitlines()
    waits = [line for line in lines if "retrying in" in line]
    assert len(waits) == 3, result.stdout
    for attempt, line in zip((2, 3, 4), waits, strict=True):
        match = re.fullmatch(WAIT_LINE.format(attempt=attempt), line)
        assert match and float(match[1]) <= 4.1, line
    assert "The answer is 42." in result.stdout
    assert re.fullmatch(SUMMARY, lines[-1]), result.stdout


def test_on_a_terminal_the_countdown_changes_in_place_and_leaves_no_line_behind(
    interpreter_command: list[str], server: FakeServer
) -> None:
    script_three_429s_then_the_task(server)
    args = ["--api-base", server.url, "--api-key", "sk-test", "-c", TASK, "-y"]
    terminal = Terminal(interpreter_command[0], args, rows=24, cols=80, env={})
    try:
        terminal.wait_for("attempt 2/6 · Ctrl-C to cancel")
        assert re.search(
            r"rate limited \(TPM\) · retrying in \d+\.\ds · attempt 2/6 · Ctrl-C to cancel", terminal.text()
        )
        ticks = terminal.watch(r"retrying in (\d+\.\d)s", until="attempt 3/6 · Ctrl-C to cancel")
        assert terminal.text().count("retrying in") <= 1  # one status line, redrawn: not a line per wait
        terminal.wait_for("The answer is 42.")
        status = terminal.exit_status(timeout=60)
    finally:
        terminal.close()

    assert status == 0, terminal.text()
    assert len(ticks) >= 2, ticks  # it counted down, redrawing the one line
    assert ticks == sorted(ticks, key=float, reverse=True), ticks
    assert_spaced_by_the_hint(server)
    final = terminal.text()
    assert "retrying in" not in final and "Ctrl-C to cancel" not in final, final
    assert "Traceback" not in final
    assert re.search(SUMMARY, final), final


def test_insufficient_quota_sends_one_request_and_exits_1_with_the_billing_line(
    run_cli: Run, server: FakeServer
) -> None:
    server.enqueue(RateLimit.insufficient_quota(), Scripted.text("never sent"))

    result = run_cli("-c", TASK, "-y", timeout=60)

    output = result.stdout + result.stderr
    assert result.returncode == 1, output
    assert "Traceback" not in output
    assert len(chat_requests(server)) == 1
    errors = [line for line in output.splitlines() if line.startswith("error:")]
    assert len(errors) == 1, output
    assert re.fullmatch(
        rf"error: the account has no credit left \(insufficient_quota\): check plan and billing: "
        rf"You exceeded your current quota, .* \(HTTP 429, {REQUEST_ID}\)",
        errors[0],
    ), errors[0]
    assert "retrying in" not in output


def test_five_connection_failures_open_the_breaker_and_the_sixth_request_never_leaves(
    run_cli: Run, server: FakeServer
) -> None:
    server.enqueue(*Fault.times(6, Fault.reset()))

    result = run_cli("-c", TASK, "-y", timeout=60)

    output = result.stdout + result.stderr
    assert result.returncode == 1, output
    assert "Traceback" not in output
    assert len(chat_requests(server)) == 5
    assert server.pending == 1
    errors = [line for line in output.splitlines() if line.startswith("error:")]
    assert len(errors) == 1, output
    assert re.fullmatch(
        r"error: connection failed: the API looks down, next try in 30s \(5 attempts, waited (\d+\.\d|\d+)s\); "
        rf"cannot reach the API at {re.escape(server.url)}: check --api-base and your connection",
        errors[0],
    ), errors[0]
    waits = [line for line in result.stdout.splitlines() if "retrying in" in line]
    assert [re.sub(r"in \d+\.\ds", "in Xs", line) for line in waits] == [
        f"connection failed, retrying in Xs (attempt {attempt}/6)" for attempt in (2, 3, 4, 5)
    ]
