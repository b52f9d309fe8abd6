"""Pure values: conversation messages, and the events a session yields while it works. No I/O here."""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any, Literal

Role = Literal["system", "user", "assistant", "tool"]
# What a message is, where its role alone does not say: "output" is code output sent back to the model as a user
# message (--no-tools, where there are no tool messages); everything else is "text" (a task, an answer, a note).
Kind = Literal["text", "output"]
# Lone surrogates: undecodable bytes as Python keeps them (surrogateescape), or bad JSON escapes like "\ud800".
_LONE_SURROGATE = re.compile("[\ud800-\udfff]")


@dataclass(frozen=True)
class ToolCall:
    """One function call the model asked for; `arguments` is the raw JSON text the model wrote.

    `extras` holds the fields the server put on the call that this program does not read (Gemini's `extra_content`
    with its thought signature), kept to be sent back to that server alone (see `replay`).
    """

    id: str
    name: str
    arguments: str
    extras: Mapping[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        """The OpenAI wire form of this call."""
        return {
            "id": self.id,
            "type": "function",
            "function": {"name": self.name, "arguments": self.arguments},
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ToolCall:
        """Read a call back from its wire form."""
        function = data["function"]
        return cls(id=data["id"], name=function["name"], arguments=function["arguments"])


@dataclass(frozen=True)
class Picture:
    """A picture the person attached to a task: its path and the SHA-256 of its bytes (the bytes are never kept:
    each request reads the file, and sends it only while it holds those bytes)."""

    path: str
    sha256: str


@dataclass(frozen=True)
class Message:
    """One message of a conversation, in the shape the chat API takes."""

    role: Role
    content: str
    tool_calls: tuple[ToolCall, ...] = ()
    tool_call_id: str | None = None
    kind: Kind = "text"
    # What the server put on a message with tool calls beside its text that must go back to it alone (DeepSeek's
    # `reasoning_content`), and that server: the api_base that made the calls, redacted (None: not known, or no calls).
    extras: Mapping[str, Any] = field(default_factory=dict)
    origin: str | None = None
    model: str | None = None  # the model that wrote an answer (a fallback's name when one stood in); ours, never sent
    # The figures a code output names, by path (stored so): a model that takes images is sent the pictures (`wire`).
    figures: tuple[str, ...] = ()
    pictures: tuple[Picture, ...] = ()  # attached to a task by the person (`-i FILE`, `%image FILE`)
    # The Responses API's reasoning items that came before this answer, as the server sent them (`type: "reasoning"`,
    # its `encrypted_content` included): sent back to `origin` alone, on that API alone; never shown.
    reasoning: tuple[Mapping[str, Any], ...] = ()

    @cached_property
    def size(self) -> int:
        """Characters a request carries of this message as the token estimate counts them: its text, its tool calls
        and the server's extras (which may be long). Counted once: a message never changes."""
        return len(self.content) + len(str(self.tool_calls)) + (len(str(self.extras)) if self.extras else 0)

    @property
    def is_output(self) -> bool:
        """Whether this message carries code output back to the model: a tool message, or an output user message."""
        return self.role == "tool" or self.kind == "output"

    @property
    def is_task(self) -> bool:
        """Whether this message is a task the person typed."""
        return self.role == "user" and self.kind != "output"

    def to_dict(self) -> dict[str, Any]:
        """The OpenAI wire form of this message (the kind is ours: servers refuse fields they do not know)."""
        data: dict[str, Any] = {"role": self.role, "content": self.content}
        if self.tool_calls:
            data["tool_calls"] = [call.to_dict() for call in self.tool_calls]
        if self.tool_call_id is not None:
            data["tool_call_id"] = self.tool_call_id
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Message:
        """Read a message from its wire form (the Python API's way in; files are read by `storage`)."""
        return cls(
            role=data["role"],
            content=data.get("content") or "",
            tool_calls=tuple(ToolCall.from_dict(call) for call in data.get("tool_calls") or ()),
            tool_call_id=data.get("tool_call_id"),
        ).valid()

    def valid(self) -> Message:
        """This message with any undecodable character replaced by U+FFFD, so it can be sent and saved as UTF-8."""
        calls = tuple(dataclasses.replace(call, arguments=valid_text(call.arguments)) for call in self.tool_calls)
        return dataclasses.replace(self, content=valid_text(self.content), tool_calls=calls)


def valid_text(text: str) -> str:
    """`text` with each lone surrogate (a byte that was not UTF-8, kept by surrogateescape) replaced by U+FFFD."""
    return _LONE_SURROGATE.sub("\ufffd", text)


# ---- what the model adapter streams -------------------------------------------------------------------


@dataclass(frozen=True)
class TextDelta:
    """A piece of the model's answer text, as it arrives."""

    text: str


@dataclass(frozen=True)
class Thinking:
    """A piece of the model's reasoning, as it arrives: shown as thinking, never as the answer.

    Only the reasoning of a message with tool calls is kept, in its `extras`, for the server that asks for it back.
    """

    text: str


@dataclass(frozen=True)
class ToolCallDraft:
    """A piece of a tool call streaming in: the call's name so far and the raw JSON arguments that just arrived."""

    index: int
    name: str
    fragment: str
    first: bool = False  # the call's first piece in this reply: a retried reply sends its calls again from the start


@dataclass(frozen=True)
class ResponseHeaders:
    """The HTTP headers of the model's response, as soon as it starts (rate-limit headers live here)."""

    headers: dict[str, str]


@dataclass(frozen=True)
class Usage:
    """Tokens one request used, as its server reported them, and (once priced) what the request cost.

    `cached_tokens` are the part of the prompt the server had cached, `reasoning_tokens` the part of the completion
    spent reasoning (both already counted in the two totals). The server's own report carries no `model` and no
    `cost`; the session's event names the model that answered and its cost in USD (None: the price is unknown).
    `estimated` when the server reported nothing and the tokens were estimated from the characters.
    """

    prompt_tokens: int
    completion_tokens: int
    cached_tokens: int = 0
    reasoning_tokens: int = 0
    model: str = ""
    cost: float | None = None
    estimated: bool = False

    @property
    def tokens(self) -> int:
        """Prompt and completion tokens together."""
        return self.prompt_tokens + self.completion_tokens


@dataclass(frozen=True)
class Waiting:
    """The next request waits: why (`rate limited (TPM)`), until when (a monotonic deadline), which attempt follows."""

    reason: str
    until: float
    attempt: int
    attempts: int
    named: bool = False  # the server named this wait or the rate limits predict it (not a backoff guess)

    @property
    def verb(self) -> str:
        """What happens when the wait ends: "retrying" a failed request, or "sending" one held back."""
        return "retrying" if self.attempt > 1 else "sending"

    @property
    def attempt_label(self) -> str:
        """The attempt that follows, like "attempt 2/6", for a retry; empty for a first attempt."""
        return f"attempt {self.attempt}/{self.attempts}" if self.attempt > 1 else ""

    def describe(self, remaining: float) -> str:
        """The plain words for this wait: "rate limited (TPM), retrying in 3.7s (attempt 2/6)"."""
        after = f" ({self.attempt_label})" if self.attempt_label else ""
        return f"{self.reason}, {self.verb} in {remaining:.1f}s{after}"


@dataclass(frozen=True)
class ModelSwitched:
    """Requests go to `model` now instead of `previous`: a fallback stands in, or the model asked for is back.

    `reason` is why `previous` was left ("rate limited (TPM)"), `seconds` how long it stays busy (None: for good);
    `back` when `model` is one whose wait has passed.
    """

    previous: str
    model: str
    reason: str = ""
    seconds: float | None = None
    back: bool = False


@dataclass(frozen=True)
class StreamBroken:
    """The reply broke off after `partial` was shown; it is kept, and the answer is asked for again."""

    partial: str
    reason: str

    def message(self) -> Message:
        """The partial answer as it is kept in the conversation (and sent with the next attempt)."""
        return Message("assistant", f"{self.partial}\n\n[this answer broke off here: {self.reason}]")


@dataclass(frozen=True)
class Reply:
    """The model's whole answer, assembled once its stream has ended."""

    message: Message
    finish_reason: str | None = None


# ---- what running code streams ------------------------------------------------------------------------


@dataclass(frozen=True)
class OutputChunk:
    """Some output of running code: stdout and stderr merged, in the order they were written."""

    text: str


@dataclass(frozen=True)
class Runtime:
    """The program that ran a cell: its path, and its version where known ("3.12.1" for Python)."""

    path: str
    version: str = ""


@dataclass(frozen=True)
class Figure:
    """A picture a cell drew, saved as `path` (figure `number` of its conversation), `width` x `height` pixels."""

    number: int
    path: str
    width: int
    height: int
    format: str = "png"

    @property
    def line(self) -> str:
        """How the output names it: `[figure 1: /home/ada/.../figure-1.png]`."""
        return f"[figure {self.number}: {self.path}]"


@dataclass(frozen=True)
class RunResult:
    """How a run ended.

    `output` is what the model gets: the head and tail of everything printed, with a note of the cut between them.
    `tail` is the part after the cut, which the screen had not shown yet; `cut_chars` how many characters were left out.
    `exit_status` is None when the code was interrupted; `restarted` when its process had to be killed, losing state;
    `sandboxed` when it ran in the sandbox (`--sandbox`).
    """

    output: str
    exit_status: int | None
    cut_chars: int = 0
    tail: str = ""
    elapsed: float = 0.0
    interrupted: bool = False
    restarted: bool = False
    sandboxed: bool = False
    runtime: Runtime | None = None  # None: not started (a run stopped before its process was)


# ---- what a session yields ----------------------------------------------------------------------------


@dataclass(frozen=True)
class CodeCell:
    """Code the model wants to run."""

    language: str
    code: str


@dataclass(frozen=True)
class RequestStarted:
    """A request to the model is about to be sent (the screen may say "thinking…")."""

    step: int


@dataclass(frozen=True)
class CodeProposed:
    """The model proposed a cell; `in_text` when it was already shown as a fenced block of the answer; `edited` when
    the person changed it at the question (it is asked again)."""

    cell: CodeCell
    in_text: bool = False
    edited: bool = False


@dataclass(frozen=True)
class CodeDraft:
    """The end of a cell the model is still writing, its last `tool.DRAFT_TAIL` characters (shown while it grows)."""

    language: str
    code: str


@dataclass(frozen=True)
class CodeStarted:
    """A cell was approved and started running; `edited` when the person changed it first."""

    cell: CodeCell
    edited: bool = False


@dataclass(frozen=True)
class CodeFinished:
    """A cell finished running."""

    cell: CodeCell
    result: RunResult


@dataclass(frozen=True)
class CodeDeclined:
    """The person declined to run a cell."""

    cell: CodeCell


@dataclass(frozen=True)
class Notice:
    """Something the person should know that is not the model's text (a bad tool call, a missing language).

    `quiet` for what is only said in passing (the files the model is told at the start): dim, not a warning.
    """

    text: str
    quiet: bool = False


@dataclass(frozen=True)
class TurnEnded:
    """The session stopped working on the task: `done` (an answer without code) or `max_steps`."""

    reason: Literal["done", "max_steps"]
    steps: int = 0


@dataclass(frozen=True)
class Decision:
    """The person's answer to `Run this code?`: run (possibly edited code) or not."""

    run: bool
    cell: CodeCell | None = None


Event = (
    RequestStarted
    | Waiting
    | ModelSwitched
    | Thinking
    | TextDelta
    | CodeDraft
    | CodeProposed
    | CodeStarted
    | OutputChunk
    | Figure
    | CodeFinished
    | CodeDeclined
    | Notice
    | Usage
    | TurnEnded
)
RunItem = OutputChunk | Notice | Figure | RunResult  # what running a cell yields, its RunResult last
StreamItem = (
    ResponseHeaders
    | Waiting
    | ModelSwitched
    | Notice  # e.g. the model moved to the Responses API
    | StreamBroken
    | Thinking
    | TextDelta
    | ToolCallDraft
    | Usage
    | Reply
)
