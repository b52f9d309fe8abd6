"""Which API a model is asked on, Chat Completions or Responses, and the switch from one to the other.

The `api` setting decides: `chat` or `responses` always; `auto` the Responses API on OpenAI's own endpoint for its
reasoning models, Chat Completions everywhere else, and on any server a refusal saying the model (or its tools with
reasoning) needs `/v1/responses` switches that (server, model) to it at once, once: one Notice, the same request
resent there, the switch remembered (`remembered.py`). A refused reasoning effort is one final line; so is a server
with no Responses API. `ApiChoice` sits below the resilience layer, so a switch is never a retry.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any, NoReturn, Protocol
from urllib.parse import urlsplit

from interpreter.errors import ApiStatusError, EffortRefused, WireRefused
from interpreter.messages import Message, Notice, StreamItem
from interpreter.model.refusals import Needs, accepted_efforts, lacks_responses_api, needs_responses, words
from interpreter.model.remembered import RememberedSwitches
from interpreter.model.responses import reasoning_model
from interpreter.resilience.diagnostics import LOGGER_NAME
from interpreter.settings.config import AUTO, CHAT, RESPONSES
from interpreter.trust.redaction import redact_url

_log = logging.getLogger(f"{LOGGER_NAME}.api")
OPENAI_HOST = "api.openai.com"
WIRE_NAMES = {CHAT: "Chat Completions", RESPONSES: "Responses API"}


class Adapter(Protocol):
    """A ChatModel on one wire that knows its model's name and whether it sends figures as pictures."""

    model: str

    @property
    def sends_images(self) -> bool:
        """Whether requests carry the figures as pictures."""
        ...

    def stream(self, messages: Sequence[Message], tools: Sequence[dict[str, Any]]) -> Iterator[StreamItem]:
        """Stream the answer to `messages`."""
        ...


@dataclass(frozen=True)
class Choice:
    """The wire a request goes on, and why: "set by api", "auto: ...", or "remembered: ..."."""

    wire: str
    why: str

    def describe(self) -> str:
        """`Responses API (auto: OpenAI's reasoning model)`: what `%model` and doctor show."""
        return f"{WIRE_NAMES[self.wire]} ({self.why})"


def choose(api: str, api_base: str, model: str, remembered: RememberedSwitches) -> Choice:
    """The wire `model` on `api_base` is asked on: as the setting says, remembered, or by the auto rule."""
    if api == AUTO and (api_base, model) in remembered:
        return Choice(RESPONSES, "remembered: Chat Completions refused it")
    return rule(api, api_base, model)


def shown(choice: Choice, effort: str | None) -> str:
    """What `%model` says of the API and the effort: `Responses API (api = responses), reasoning effort high`."""
    return f"{choice.describe()}, reasoning effort {effort or 'as the model decides'}"


def rule(api: str, api_base: str, model: str) -> Choice:
    """The wire the setting and the auto rule pick, before any server has refused anything."""
    if api != AUTO:
        return Choice(api, f"api = {api}")
    if urlsplit(api_base).hostname == OPENAI_HOST and reasoning_model(model):
        return Choice(RESPONSES, "auto: an OpenAI reasoning model")
    return Choice(CHAT, "auto")


class ApiChoice:
    """A ChatModel that sends each request on the wire chosen for its model, switching to Responses when refused."""

    def __init__(
        self,
        chat: Adapter,
        responses: Adapter,
        *,
        api: str,
        api_base: str,
        effort: str | None,
        remembered: RememberedSwitches,
    ) -> None:
        self._chat = chat
        self._responses = responses
        self._api = api
        self._api_base = api_base
        self._effort = effort
        self._remembered = remembered

    @property
    def model(self) -> str:
        """The model asked; setting it (`%model`) names another on both wires."""
        return self._chat.model

    @model.setter
    def model(self, name: str) -> None:
        self._chat.model = name
        self._responses.model = name

    @property
    def sends_images(self) -> bool:
        """Whether the wire in use sends the figures as pictures."""
        return self._on(self.choice().wire).sends_images

    def choice(self) -> Choice:
        """The wire the next request goes on, and why."""
        return choose(self._api, self._api_base, self.model, self._remembered)

    def stream(self, messages: Sequence[Message], tools: Sequence[dict[str, Any]]) -> Iterator[StreamItem]:
        """Stream the answer on the chosen wire; a refusal that names the Responses API moves there (with `auto`)."""
        wire = self.choice().wire
        try:
            yield from self._on(wire).stream(messages, tools)
        except ApiStatusError as error:
            needs = needs_responses(words(error)) if wire == CHAT else None
            if needs is None:
                self._raise_final(error, wire)
            if self._api == CHAT:
                raise WireRefused(f"{self._why(needs)}: use --api responses, or --api auto") from error
            _log.warning("Chat Completions refused %s; resending on the Responses API: %s", self.model, error)
            yield Notice(f"{self._why(needs)}: using it")
            yield from self._on_responses(messages, tools, after=needs)

    def _on_responses(
        self, messages: Sequence[Message], tools: Sequence[dict[str, Any]], *, after: Needs
    ) -> Iterator[StreamItem]:
        """The request resent on the Responses API after Chat Completions refused it for `after`; the switch is
        remembered unless the server turns out to have no Responses API either."""
        lacking = False
        try:
            yield from self._responses.stream(messages, tools)
        except ApiStatusError as error:
            if lacking := lacks_responses_api(error):
                raise WireRefused(f"{self._why(after)}, and {self._no_responses(error)}") from error
            self._raise_final(error, RESPONSES)
        finally:
            if not lacking:
                self._remembered.remember(self._api_base, self.model)

    def _raise_final(self, error: ApiStatusError, wire: str) -> NoReturn:
        """Raise `error` on `wire` as one line for a refused effort or a missing Responses API, else as it is."""
        if self._effort is not None and (takes := accepted_efforts(words(error))) is not None:
            offered = ", ".join(takes)
            line = f"{self.model} does not take --reasoning-effort {self._effort}; it takes {offered}"
            raise EffortRefused(line) from error
        if wire == RESPONSES and lacks_responses_api(error):
            raise WireRefused(f"{self._no_responses(error)}: use --api chat") from error
        raise error

    def _on(self, wire: str) -> Adapter:
        """The adapter speaking `wire`."""
        return self._responses if wire == RESPONSES else self._chat

    def _why(self, needs: Needs) -> str:
        """The refusal in a person's words, naming the model."""
        if needs is Needs.MODEL:
            return f"{self.model} answers only on the Responses API"
        return f"{self.model} takes tools with reasoning only on the Responses API"

    def _no_responses(self, error: ApiStatusError) -> str:
        """That this server has no Responses API, naming it redacted."""
        return f"{redact_url(self._api_base)} has no Responses API (HTTP {error.status} on /responses)"
