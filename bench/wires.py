"""One task on the Responses API against the same task on Chat Completions, as a ratio measured in one run.

    python bench/wires.py [--runs N] [--cells N]

The task is `--cells` python cells then an answer (the fake server's `cells` responder, the same script on both
APIs), measured twice: driven through each model adapter (OpenAIChatModel, OpenAIResponsesModel) over the real SDK
and loopback HTTP, the code not run (its output made up), so that what differs is the wire alone; and as a person
runs it, the installed `interpreter -c ... -y --api chat|responses`, cells run. Runs alternate between the two APIs,
so a slower moment of the machine falls on both alike. Target: Responses within 1.05x of Chat Completions.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))

from fake_server import FakeServer, cells  # the fake lives with the tests
from measure import report

from interpreter.messages import Message, Reply
from interpreter.model.llm import ChatModel, OpenAIChatModel
from interpreter.model.responses import OpenAIResponsesModel
from interpreter.model.tool import schema

TOOLS = [schema(["python"])]


def task(model: ChatModel) -> None:
    """Run the task to its answer: one request per cell, then one for the answer."""
    messages = [Message("system", "You run code."), Message("user", "run the cells")]
    while True:
        reply = next(item for item in model.stream(messages, TOOLS) if isinstance(item, Reply))
        messages.append(reply.message)
        if not reply.message.tool_calls:
            return
        messages += [Message("tool", "1\n", tool_call_id=call.id) for call in reply.message.tool_calls]


def alternating(actions: dict[str, Callable[[], object]], runs: int) -> dict[str, float]:
    """The median wall time of each action over `runs` runs, the actions taking turns (after one warm-up each)."""
    times: dict[str, list[float]] = {name: [] for name in actions}
    for index in range(runs + 1):
        for name, action in actions.items():
            start = time.perf_counter()
            action()
            if index:
                times[name].append(time.perf_counter() - start)
    return {name: statistics.median(measured) for name, measured in times.items()}


def command(interpreter: str, url: str, api: str) -> Callable[[], object]:
    """The whole task as a person runs it, on `api`."""
    task = [interpreter, "-c", "run the cells", "-y", "-m", "gpt-5", "--api-base", url, "--api-key", "x", "--api", api]
    return lambda: subprocess.run(task, check=True, capture_output=True, stdin=subprocess.DEVNULL)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=15)
    parser.add_argument("--cells", type=int, default=3)
    options = parser.parse_args()
    interpreter = shutil.which("interpreter")
    if interpreter is None:
        sys.exit("bench: the `interpreter` command is not installed (see README)")
    os.environ["INTERPRETER_HOME"] = tempfile.mkdtemp(prefix="bench-home-")
    with FakeServer(responder=cells(options.cells)) as server:
        chat = OpenAIChatModel(model="gpt-5", api_base=server.url, api_key="x")
        responses = OpenAIResponsesModel(model="gpt-5", api_base=server.url, api_key="x")
        adapters = alternating({"chat": lambda: task(chat), "responses": lambda: task(responses)}, options.runs)
        runs = {api: command(interpreter, server.url, api) for api in ("chat", "responses")}
        whole = alternating(runs, max(3, options.runs // 3))  # a whole run takes ~1 s, not ~20 ms
    label = f"{options.cells} cells, adapters"
    report(label, adapters["responses"], "on Chat Completions", adapters["chat"], 1.05, ms=True)
    label = f"{options.cells} cells, interpreter -c"
    report(label, whole["responses"], "on Chat Completions", whole["chat"], 1.05, ms=True)


if __name__ == "__main__":
    main()
