"""One task on the Responses API against the same task on Chat Completions, as a ratio measured in one run.

    python bench/wires.py [--runs N] [--cells N]

The task is `--cells` python cells then an answer (the fake server's `cells` responder, the same script on both
APIs), driven through each model adapter (OpenAIChatModel, OpenAIResponsesModel) over the real SDK and loopback
HTTP: every request sent, every stream read and assembled, the tool output added, until the answer. The code is not
run (its output is made up): what differs between the two is the wire alone. Target: Responses within 1.05x of Chat.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))

from fake_server import FakeServer, cells  # the fake lives with the tests
from measure import median_seconds, report

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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=15)
    parser.add_argument("--cells", type=int, default=3)
    options = parser.parse_args()
    with FakeServer(responder=cells(options.cells)) as server:
        chat = OpenAIChatModel(model="gpt-5", api_base=server.url, api_key="x")
        responses = OpenAIResponsesModel(model="gpt-5", api_base=server.url, api_key="x")
        # Alternating runs, so a slower moment of the machine falls on both alike.
        chat_time = median_seconds(lambda: task(chat), options.runs)
        responses_time = median_seconds(lambda: task(responses), options.runs)
        chat_again = median_seconds(lambda: task(chat), options.runs)
    baseline = min(chat_time, chat_again)
    label = f"{options.cells} cells on Responses"
    report(label, responses_time, "on Chat Completions", baseline, 1.05, ms=True)


if __name__ == "__main__":
    main()
