"""The ChatModel adapter for the Responses API (`POST {api_base}/responses`), and which models reason.

The request (OpenAI's API reference, "Create a model response"): `model`, `instructions`, `input` items
(responses_input), flat function `tools`, `store: false` so no state is kept on the server, and for a model that
reasons (or when an effort is asked) `reasoning: {"summary": "auto", "effort"}` with
`include: ["reasoning.encrypted_content"]`, so its reasoning can go back with the next request, as Codex sends it.
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Iterator, Sequence
from functools import partial
from typing import Any, Final

from interpreter.errors import ApiStatusError
from interpreter.messages import Message, StreamItem
from interpreter.model.openai_client import OpenAIAdapter, streamed
from interpreter.model.responses_input import carries_images, flat_tools, responses_input
from interpreter.model.responses_stream import read_events
from interpreter.resilience.bodies import refuses_images
from interpreter.resilience.diagnostics import LOGGER_NAME

_log = logging.getLogger(f"{LOGGER_NAME}.api")

# OpenAI's reasoning models, matched at the start of the lower-case name without any "provider/" part: gpt-5 and
# later, the o-series, and every codex model (codex-mini-latest, gpt-5.1-codex).
_REASONING: Final = re.compile(r"gpt-5|o[134](?![0-9])|.*codex")
ENCRYPTED_REASONING: Final = "reasoning.encrypted_content"


def reasoning_model(name: str) -> bool:
    """Whether `name` is one of OpenAI's reasoning models (gpt-5*, o1/o3/o4*, *codex*)."""
    return _REASONING.match(name.lower().rsplit("/", 1)[-1]) is not None


class OpenAIResponsesModel(OpenAIAdapter):
    """A ChatModel on a server's Responses API.

    A server that refuses the encrypted reasoning, the reasoning summary or the pictures (the model or the
    organisation has none of them) is asked again at once without it, and never with it again.
    """

    @property
    def _reasons(self) -> bool:
        """Whether the model reasons (or an effort was asked): its summary and encrypted reasoning are asked for."""
        return self.effort is not None or reasoning_model(self.model)

    def _request(self, messages: Sequence[Message], tools: Sequence[dict[str, Any]]) -> dict[str, Any]:
        """The body of one streamed request, with what this server has not refused."""
        images = self._figures if self.sends_images else None
        instructions, items = responses_input(messages, self._api_base, images=images, kept=self._kept)
        request: dict[str, Any] = {"model": self.model, "input": items, "stream": True, "store": False}
        if instructions:
            request["instructions"] = instructions
        if tools:
            request["tools"] = flat_tools(tools)
        reasoning = self._reasoning()
        if reasoning:
            request["reasoning"] = reasoning
        if self._reasons and "include" not in self._refused:
            request["include"] = [ENCRYPTED_REASONING]
        return request

    def _reasoning(self) -> dict[str, str]:
        """The `reasoning` field: a summary streamed as thinking, for a model that reasons; the effort when asked."""
        reasoning = {"summary": "auto"} if self._reasons and "summary" not in self._refused else {}
        return reasoning | ({"effort": self.effort} if self.effort is not None else {})

    def _adapted(self, error: ApiStatusError, request: dict[str, Any]) -> bool:
        """Leave out what `error` refuses in `request`, if it was sent, for this session; whether anything was."""
        refused = _refusal(error, request)
        if refused is None:
            return False
        self._refused.add(refused)
        _log.warning("the server refused %s; sending without it: %s", refused, error)
        return True

    def _send(self, request: dict[str, Any]) -> Iterator[StreamItem]:
        """One streamed request."""
        read = partial(read_events, origin=self._shown_base)
        yield from streamed(
            self._openai(), "/responses", self._body.encode(request, "input"), read, api_base=self._api_base
        )


def _refusal(error: ApiStatusError, request: dict[str, Any]) -> str | None:
    """What of `request` a 400 refuses and can be left out: "include", "summary" or "images"; None for the rest.

    OpenAI's words: a model without encrypted reasoning "Encrypted content is not supported with this model."
    (OpenHands/OpenHands#11406); an unverified organisation "Your organization must be verified to generate reasoning
    summaries." (`param: reasoning.summary`); other servers name the parameter. A refused effort is not left out:
    the person asked for it, and is told.
    """
    words = f"{error} {json.dumps(error.body, default=str)}".lower()
    if error.status in (400, 422):
        if "include" in request and ("encrypted content" in words or '"include"' in words or "'include'" in words):
            return "include"
        summary = "summary" in request.get("reasoning", {})
        if summary and ("reasoning.summary" in words or "reasoning summaries" in words):
            return "summary"
    images = carries_images(request["input"]) and refuses_images(error.status, error.body, str(error))
    return "images" if images else None
