"""The context window: the tokens a model takes, and trimming what is sent to fit it, oldest code outputs first.

Only what is sent is trimmed; the stored conversation keeps everything. The system message and the person's tasks are
never cut, and an answer with tool calls is only ever dropped together with the tool messages that answer it, so the
API never sees an orphaned tool message. The last exchange (the latest task and everything after it) is never left
out; its code outputs, which the model has not read yet, are cut to their head and tail only as far as needed.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Final, Protocol

from interpreter.messages import Message
from interpreter.model.catalogue import Catalogue, Window
from interpreter.model.kept import Kept
from interpreter.model.vision import takes_images
from interpreter.resilience.limiter import CHARS_PER_TOKEN, TokenEstimator, characters
from interpreter.ui.words import counted

REFUSAL: Final = "named by the server when it refused a request"
REPLY_ROOM: Final = 4_096  # tokens left free for the reply (at most a quarter of the window)
_KEPT: Final = 200  # characters a shortened output keeps
_SHORTEST: Final = 400  # outputs shorter than this are not worth shortening
_LEAST: Final = 600  # characters of this exchange's output always kept: its start and its end (where errors are)
_NOTE_ROOM: Final = 120  # characters a cut's note takes, at most
# The window a server names when it refuses a request: OpenAI, vLLM and LiteLLM ("maximum context length is 4096
# tokens"), llama.cpp ("exceeds the available context size (4096 tokens)").


def last_task(messages: Sequence[Message]) -> int | None:
    """The index of the latest task, where the last exchange begins; None when there is none."""
    return next((index for index in reversed(range(len(messages))) if messages[index].is_task), None)


class Named(Protocol):
    """Whatever knows the model's name (the API adapter: `%model` changes it there)."""

    model: str


@dataclass(frozen=True)
class Trim:
    """What is sent, and how much of the conversation had to be shortened or left out for it."""

    messages: list[Message]
    shortened: int = 0
    dropped: int = 0
    cut: int = 0  # code outputs of the last exchange cut to their head and tail

    @property
    def changes(self) -> tuple[int, int, int]:
        """(older outputs shortened, exchanges left out, outputs of the last exchange cut)."""
        return self.shortened, self.dropped, self.cut

    def describe(self) -> str:
        """`3 older code outputs shortened, 1 earlier exchange left out, 1 code output of this task cut`."""
        parts = []
        if self.shortened:
            parts.append(f"{counted(self.shortened, 'older code output')} shortened")
        if self.dropped:
            parts.append(f"{counted(self.dropped, 'earlier exchange')} left out")
        if self.cut:
            parts.append(f"{counted(self.cut, 'code output')} of this task cut to its start and end")
        return ", ".join(parts) or "nothing trimmed"


class ContextWindow:
    """How much a request may carry for the current model, and the trimming that keeps it there."""

    def __init__(
        self,
        chat: Named,
        *,
        catalogue: Catalogue | None = None,
        estimator: TokenEstimator | None = None,
        images: bool | None = None,
    ) -> None:
        self._chat = chat
        self._catalogue = catalogue or Catalogue()
        self._sent = False  # whether a request was fitted yet: the first never waits for the catalogue's questions
        self._images = images  # the `images` setting: whether figures are sent as pictures, which cost tokens
        self._estimator = estimator or TokenEstimator()
        self._named: dict[str, int] = {}  # model -> the window its server named when it refused a request
        self._refused: tuple[str, int] | None = None  # (model, budget) after the server said a request was too long
        # Each older output as shortened for the last request: the same message again in the next, so that its
        # size and its wire form are not made anew for each request of a long session (see kept.py).
        self._shortened: Kept[Message] = Kept()

    @property
    def model(self) -> str:
        """The model requests go to now."""
        return self._chat.model

    @property
    def window(self) -> Window:
        """The model's context window and its source: as its server named it in a refusal, else the catalogue's."""
        named = self._named.get(self.model)
        return Window(named, REFUSAL) if named else self._catalogue.window(self.model)

    @property
    def tokens(self) -> int:
        """The model's context window in tokens."""
        return self.window.tokens

    @property
    def room(self) -> int:
        """Tokens the window leaves a request: the window less room for the reply."""
        return self.tokens - min(REPLY_ROOM, self.tokens // 4)

    @property
    def budget(self) -> int:
        """Tokens a request may carry: the room, lower once the server refused one without naming its window."""
        if self._refused is not None and self._refused[0] == self.model:
            return min(self.room, self._refused[1])
        return self.room

    def estimate(self, messages: Sequence[Message], tools: Sequence[dict[str, Any]] = ()) -> int:
        """Estimated tokens of a request carrying `messages` and offering `tools`."""
        images = takes_images(self.model, self._images)
        return self._estimator.estimate(characters(messages, tools, images=images))

    def refused(
        self, sent: Sequence[Message], tools: Sequence[dict[str, Any]] = (), *, named: int | None = None
    ) -> int:
        """The server said `sent` was too long: learn the window it `named`, else take half of `sent`; the new budget.

        A named window that does not explain the refusal (`sent` was estimated to fit it) is learned too, and the
        estimate is not trusted: half of `sent` then holds as well.
        """
        if named is not None and named < self.tokens:
            self._named[self.model] = named
        size = self.estimate(sent, tools)
        if named is None or size <= self.room:
            self._refused = (self.model, size // 2)
        return self.budget

    def fit(self, system: Message, messages: Sequence[Message], tools: Sequence[dict[str, Any]] = ()) -> Trim:
        """`messages` trimmed so that they, `system` and `tools` fit the budget, as far as cutting outputs allows.

        Older outputs are shortened first, then a last-exchange output longer than half the budget is cut to that
        (one huge output must not cost every earlier exchange), then older exchanges are left out, and only then are
        the last exchange's outputs cut further, oldest first, to no less than their start and end.
        """
        self._ask_catalogue()
        over = self.estimate([system, *messages], tools) - self.budget
        if over <= 0:
            return Trim(list(messages))
        start = last_task(messages) or 0
        older, last = list(messages[:start]), messages[start:]
        kept = [len(message.content) for message in last]  # characters of each last-exchange message still sent
        shortened, over = self._shorten(older, over)
        self._shortened.request_done()
        over = self._cut(last, kept, over, least=self._characters(self.budget // 2))
        dropped, over = self._drop(older, over)
        self._cut(last, kept, over, least=_LEAST)
        cut = [_head_and_tail(message, keep) for message, keep in zip(last, kept, strict=True)]
        return Trim(
            [*older, *cut], shortened, dropped, sum(new != message for new, message in zip(cut, last, strict=True))
        )

    def _ask_catalogue(self) -> None:
        """Before the first request, start the catalogue's questions; before each later one, let them be answered."""
        if self._sent:
            self._catalogue.settle(self.model)
        else:
            self._catalogue.begin(self.model)
            self._sent = True

    def _shorten(self, older: list[Message], over: int) -> tuple[int, int]:
        """Shorten code outputs in `older`, oldest first, until `over` tokens are saved; (how many, still over)."""
        count = 0
        for index, message in enumerate(older):
            if over <= 0:
                break
            if message.is_output and len(message.content) >= _SHORTEST:
                short = self._shortened.get(message, _KEPT, _shortened)
                over -= self._size(message) - self._size(short)
                older[index] = short
                count += 1
        return count, over

    def _cut(self, last: Sequence[Message], kept: list[int], over: int, *, least: int) -> int:
        """Keep less of the outputs in `last`, oldest first, none under `least` characters, until `over` tokens are
        saved; returns what is still over. `kept` holds the characters each message keeps, and is updated."""
        for index, message in enumerate(last):
            if over <= 0:
                break
            keep = max(least, kept[index] - self._characters(over) - _NOTE_ROOM)
            if message.is_output and keep < kept[index]:
                before, after = _head_and_tail(message, kept[index]), _head_and_tail(message, keep)
                over -= self._size(before) - self._size(after)
                kept[index] = keep
        return over

    def _drop(self, older: list[Message], over: int) -> tuple[int, int]:
        """Leave out whole exchanges of `older`, oldest first, until `over` tokens are saved; (how many, still over)."""
        count = 0
        while over > 0 and older:
            end = next((index for index in range(1, len(older)) if older[index].is_task), len(older))
            over -= sum(self._size(message) for message in older[:end])
            del older[:end]
            count += 1
        return count, over

    def _characters(self, tokens: int) -> int:
        """About how many characters of conversation make `tokens` tokens."""
        return math.ceil(tokens * CHARS_PER_TOKEN / self._estimator.ratio)

    def _size(self, message: Message) -> int:
        """Estimated tokens of one message."""
        return self.estimate([message])


def _shortened(message: Message, keep: int) -> Message:
    """`message` with only the start of its output (`keep` characters), and a note of how much was left out."""
    cut = len(message.content) - keep
    note = f"\n[{cut:,} more characters of this output were left out to fit the context window]"
    return dataclasses.replace(message, content=message.content[:keep] + note)


def _head_and_tail(message: Message, keep: int) -> Message:
    """`message` keeping `keep` characters of its output, its start and its end, with a note of what was cut."""
    cut = len(message.content) - keep
    if cut <= 0:
        return message
    head = keep * 2 // 3  # as the executor caps a cell's output: more of the start, the end for errors
    note = f"\n[... {cut:,} characters of this output were cut here to fit the context window ...]\n"
    return dataclasses.replace(
        message, content=message.content[:head] + note + message.content[len(message.content) - (keep - head) :]
    )
