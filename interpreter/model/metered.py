"""MeteredModel: a ChatModel that keeps a model's requests within the cost cap and prices what each one used."""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator, Sequence
from typing import Any, Protocol

from interpreter.errors import ApiError
from interpreter.messages import Message, Reply, StreamItem, Usage
from interpreter.model.context import Named
from interpreter.model.llm import ChatModel
from interpreter.model.spending import Spending
from interpreter.resilience.limiter import CHARS_PER_TOKEN

# The prompt's tokens as the next request would carry them (the limiter's estimate, learned from usage).
Estimate = Callable[[Sequence[Message], Sequence[dict[str, Any]]], int]


class NamedChat(ChatModel, Named, Protocol):
    """A ChatModel that knows its model's name (the API adapter; `%model` changes it)."""


class MeteredModel:
    """Wraps one model's adapter: each request is checked against the cap before it is sent, and its usage (the
    server's report, else an estimate) comes out priced, once, just before the Reply."""

    def __init__(self, inner: NamedChat, spending: Spending, estimate: Estimate) -> None:
        self._inner = inner
        self._spending = spending
        self._estimate = estimate

    def stream(self, messages: Sequence[Message], tools: Sequence[dict[str, Any]]) -> Iterator[StreamItem]:
        """Stream `inner`'s reply; CostCapReached instead of sending a request the cap does not allow."""
        model = self._inner.model
        prompt = self._estimate(messages, tools)
        self._spending.check(model, prompt)
        reported: Usage | None = None
        try:
            for item in self._inner.stream(messages, tools):
                if isinstance(item, Usage):
                    reported = item
                    continue
                if isinstance(item, Reply):
                    yield self._spending.spend(model, reported or _estimated(prompt, item.message))
                yield item
        except ApiError:
            self._spending.unanswered()  # sent and failed: a request all the same, as the traffic summary counts it
            raise


def _estimated(prompt: int, answer: Message) -> Usage:
    """The usage of a request whose server reported none: the prompt as estimated, the answer by its characters."""
    written = len(answer.content) + sum(len(call.arguments) for call in answer.tool_calls)
    return Usage(prompt, math.ceil(written / CHARS_PER_TOKEN), estimated=True)
