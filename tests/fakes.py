"""Fakes for unit tests: a scripted chat model, a code runner, an approver. No mocks."""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

from interpreter.errors import ApiStatusError, LanguageUnavailable, UnknownLanguage
from interpreter.messages import (
    CodeCell,
    Decision,
    Message,
    OutputChunk,
    Reply,
    RunResult,
    StreamItem,
    TextDelta,
    ToolCall,
)


def text_reply(text: str) -> Message:
    """An assistant answer without code."""
    return Message("assistant", text)


def call_reply(*cells: tuple[str, str], text: str = "", raw: str | None = None) -> Message:
    """An assistant answer calling `execute` once per (language, code); `raw` replaces the arguments JSON."""
    calls = tuple(
        ToolCall(f"call_{i}", "execute", raw if raw is not None else json.dumps({"language": lang, "code": code}))
        for i, (lang, code) in enumerate(cells)
    )
    return Message("assistant", text, tool_calls=calls)


def rate_limited_for(seconds: float) -> ApiStatusError:
    """OpenAI's TPM 429 naming its wait in `retry-after`, as the adapter raises it."""
    body = {"error": {"message": "Rate limit reached for gpt-4 on tokens per min (TPM)", "type": "tokens"}}
    return ApiStatusError(
        "HTTP 429", status=429, code="rate_limit_exceeded", headers={"retry-after": f"{seconds:g}"}, body=body
    )


@dataclass
class FakeChatModel:
    """Streams scripted replies word by word and records what it was asked."""

    replies: list[Message | BaseException | list[StreamItem | BaseException]] = field(default_factory=list)
    requests: list[tuple[list[Message], list[dict[str, Any]]]] = field(default_factory=list)

    def enqueue(self, *replies: Message | BaseException | list[StreamItem | BaseException]) -> None:
        self.replies.extend(replies)

    def stream(self, messages: Sequence[Message], tools: Sequence[dict[str, Any]]) -> Iterator[StreamItem]:
        self.requests.append((list(messages), list(tools)))
        reply = self.replies.pop(0)
        if isinstance(reply, BaseException):
            raise reply
        if isinstance(reply, list):  # a scripted stream, item by item; an exception in it is raised there
            for item in reply:
                if isinstance(item, BaseException):
                    raise item
                yield item
            return
        for word in reply.content.split(" "):
            yield TextDelta(word + " ")
        yield Reply(reply, "tool_calls" if reply.tool_calls else "stop")


@dataclass
class FakeRunner:
    """Runs nothing: echoes the code back as output; `python` and `shell` exist, `javascript` is not installed."""

    ran: list[CodeCell] = field(default_factory=list)
    exit_status: int = 0
    interrupt_on: str | None = None
    restarts: int = 0  # how often restart() ended the (pretend) language processes

    def languages(self) -> list[str]:
        return ["python", "shell"]

    def check(self, language: str) -> str:
        if language == "javascript":
            raise LanguageUnavailable("javascript is not available here: node is not installed")
        if language not in ("python", "shell"):
            raise UnknownLanguage(f"unknown language {language!r}; known: python, shell, javascript")
        return language

    def interrupt(self) -> bool:
        return False

    def restart(self) -> None:
        self.restarts += 1

    @property
    def sandboxed(self) -> bool:
        return False

    def set_sandboxed(self, on: bool) -> None:
        self.restart()

    def run(self, language: str, code: str, timeout: float | None = None) -> Iterator[OutputChunk | RunResult]:
        self.ran.append(CodeCell(language, code))
        yield OutputChunk(f"ran {code}\n")
        if code == self.interrupt_on:
            raise KeyboardInterrupt
        yield RunResult(output=f"ran {code}\n", exit_status=self.exit_status)


def always(run: bool) -> Callable[[CodeCell], Decision]:
    """An approver that always says yes (or always no)."""
    return lambda cell: Decision(run=run, cell=cell if run else None)


class FakeClock:
    """A monotonic clock that moves only when the code under test sleeps or the test advances it."""

    def __init__(self, start: float = 1000.0) -> None:
        self.now = start
        self.sleeps: list[float] = []
        self.ctrl_c = False  # the next sleep is interrupted, as Ctrl-C interrupts a real one

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        if self.ctrl_c:
            self.ctrl_c = False
            raise KeyboardInterrupt
        self.now += seconds

    def advance(self, seconds: float) -> None:
        self.now += seconds


@dataclass
class FakeAdapter:
    """Holds the model's name, as the API adapter does (`%model` changes it; the context window reads it)."""

    model: str = "test-model"


class Ticking:
    """A clock that moves `step` seconds each time it is read: each chunk of a stream comes that long after the last,
    so a long quiet stream is tested without waiting."""

    def __init__(self, step: float) -> None:
        self.now = 0.0
        self.step = step

    def __call__(self) -> float:
        self.now += self.step
        return self.now


# The line a session ends with once it sent requests: what they cost ("2 requests · 1,180 tokens · $0.0008").
TOTAL = re.compile(r"[\d,]+ requests? · ≈?[\d,]+ tokens · .+")


def without_total(lines: list[str]) -> list[str]:
    """The lines a run wrote on stdout, its last (the total of what its requests cost) checked and left out."""
    assert lines and TOTAL.fullmatch(lines[-1]), lines
    return lines[:-1]
