"""The context window: the tokens a model takes, and trimming what is sent to fit it, oldest code outputs first.

Only what is sent is trimmed; the stored conversation keeps everything. The system message and the last exchange
(the latest task and everything after it) are never touched, and an answer with tool calls is only ever dropped
together with the tool messages that answer it, so the API never sees an orphaned tool message.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Final, Protocol

from interpreter.messages import Message
from interpreter.resilience.limiter import TokenEstimator, characters
from interpreter.words import counted

# Context windows of well-known models, matched as prefixes of the lower-case name without any "provider/" part;
# the first match wins, so a more specific prefix comes before a shorter one.
KNOWN_WINDOWS: Final[tuple[tuple[str, int], ...]] = (
    ("gpt-4.1", 1_047_576),
    ("gpt-4o", 128_000),
    ("chatgpt-4o", 128_000),
    ("gpt-4.5", 128_000),
    ("gpt-4-turbo", 128_000),
    ("gpt-4-1106", 128_000),
    ("gpt-4-0125", 128_000),
    ("gpt-4-32k", 32_768),
    ("gpt-4", 8_192),
    ("gpt-3.5-turbo", 16_385),
    ("gpt-5", 400_000),
    ("o1-mini", 128_000),
    ("o1-preview", 128_000),
    ("o1", 200_000),
    ("o3", 200_000),
    ("o4", 200_000),
    ("llama3.1", 128_000),
    ("llama3.2", 128_000),
    ("llama3.3", 128_000),
    ("llama-3.1", 128_000),
    ("llama-3.2", 128_000),
    ("llama-3.3", 128_000),
    ("llama3", 8_192),
    ("mistral-large", 128_000),
    ("mistral", 32_768),
    ("mixtral", 32_768),
    ("qwen2.5", 32_768),
    ("claude", 200_000),
    ("gemini", 1_000_000),
)
FALLBACK_WINDOW: Final = 8_192  # an unknown model: small, as local servers often are
REPLY_ROOM: Final = 4_096  # tokens left free for the reply (at most a quarter of the window)
_KEPT: Final = 200  # characters a shortened output keeps
_SHORTEST: Final = 400  # outputs shorter than this are not worth shortening


def window_for(model: str) -> int:
    """The context window of a well-known model, by name; FALLBACK_WINDOW for any other."""
    name = model.lower().rsplit("/", 1)[-1]
    return next((tokens for prefix, tokens in KNOWN_WINDOWS if name.startswith(prefix)), FALLBACK_WINDOW)


def last_task(messages: Sequence[Message]) -> int | None:
    """The index of the latest task, where the last exchange begins; None when there is none."""
    return next((index for index in reversed(range(len(messages))) if messages[index].is_task), None)


class Named(Protocol):
    """Whatever knows the model's name (the API adapter: `%model` changes it there)."""

    model: str


@dataclass(frozen=True)
class Trim:
    """What is sent, and how much of the older conversation had to be shortened or left out for it."""

    messages: list[Message]
    shortened: int = 0
    dropped: int = 0

    @property
    def changes(self) -> tuple[int, int]:
        """(outputs shortened, exchanges left out)."""
        return self.shortened, self.dropped

    def describe(self) -> str:
        """`3 older code outputs shortened, 1 earlier exchange left out`."""
        parts = []
        if self.shortened:
            parts.append(f"{counted(self.shortened, 'older code output')} shortened")
        if self.dropped:
            parts.append(f"{counted(self.dropped, 'earlier exchange')} left out")
        return ", ".join(parts) or "nothing trimmed"


class ContextWindow:
    """How much a request may carry for the current model, and the trimming that keeps it there."""

    def __init__(self, chat: Named, *, configured: int | None = None, estimator: TokenEstimator | None = None) -> None:
        self._chat = chat
        self._configured = configured
        self._estimator = estimator or TokenEstimator()
        self._refused: tuple[str, int] | None = None  # (model, budget) after the server said a request was too long

    @property
    def model(self) -> str:
        """The model requests go to now."""
        return self._chat.model

    @property
    def tokens(self) -> int:
        """The model's context window: as configured, else known from its name."""
        return self._configured or window_for(self.model)

    @property
    def budget(self) -> int:
        """Tokens a request may carry: the window less room for the reply, lower once the server refused one."""
        budget = self.tokens - min(REPLY_ROOM, self.tokens // 4)
        if self._refused is not None and self._refused[0] == self.model:
            budget = min(budget, self._refused[1])
        return budget

    def estimate(self, messages: Sequence[Message], tools: Sequence[dict[str, Any]] = ()) -> int:
        """Estimated tokens of a request carrying `messages` and offering `tools`."""
        return self._estimator.estimate(characters(messages, tools))

    def refused(self, sent: Sequence[Message], tools: Sequence[dict[str, Any]] = ()) -> int:
        """The server said `sent` was too long: from now on this model gets half of it. Returns the new budget."""
        self._refused = (self.model, self.estimate(sent, tools) // 2)
        return self.budget

    def fit(self, system: Message, messages: Sequence[Message], tools: Sequence[dict[str, Any]] = ()) -> Trim:
        """`messages` trimmed so that they, `system` and `tools` fit the budget, as far as the older part allows."""
        over = self.estimate([system, *messages], tools) - self.budget
        if over <= 0:
            return Trim(list(messages))
        start = last_task(messages) or 0
        older = list(messages[:start])
        shortened, over = self._shorten(older, over)
        dropped = self._drop(older, over)
        return Trim([*older, *messages[start:]], shortened, dropped)

    def _shorten(self, older: list[Message], over: int) -> tuple[int, int]:
        """Shorten code outputs in `older`, oldest first, until `over` tokens are saved; (how many, still over)."""
        count = 0
        for index, message in enumerate(older):
            if over <= 0:
                break
            if message.is_output and len(message.content) >= _SHORTEST:
                short = _shortened(message)
                over -= self._size(message) - self._size(short)
                older[index] = short
                count += 1
        return count, over

    def _drop(self, older: list[Message], over: int) -> int:
        """Leave out whole exchanges of `older`, oldest first, until `over` tokens are saved; how many."""
        count = 0
        while over > 0 and older:
            end = next((index for index in range(1, len(older)) if older[index].is_task), len(older))
            over -= sum(self._size(message) for message in older[:end])
            del older[:end]
            count += 1
        return count

    def _size(self, message: Message) -> int:
        """Estimated tokens of one message."""
        return self.estimate([message])


def _shortened(message: Message) -> Message:
    """`message` with only the start of its output, and a note of how much was left out."""
    cut = len(message.content) - _KEPT
    note = f"\n[{cut:,} more characters of this output were left out to fit the context window]"
    return dataclasses.replace(message, content=message.content[:_KEPT] + note)
