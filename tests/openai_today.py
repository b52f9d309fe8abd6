"""OpenAI's models as they answer in late 2026, on top of the fake server: which models Chat Completions refuses,
and when; what reasoning efforts each model takes. Whatever is not refused goes to `answers`.

    server.responder = OpenAIToday(answers=cells(3))  # fake_server.cells: a task of three cells, either API

The refusals are the fake server's `Fault` factories, worded as shared/PROVIDERS.md ("OpenAI in late 2026") quotes
the issue threads; a refused effort names the values each model takes (the factory lists gpt-5.1's alone).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

from fake_server import Answer, Fault, RecordedRequest, StatusFault, openai_error

# Responses-only (openai/codex#1306, alvinunreal/tmuxai#82, continuedev/continue#5758, sigoden/aichat#1318).
RESPONSES_ONLY = re.compile(r"codex-mini-latest|gpt-5(\.\d+)?-codex(-mini)?|o[13]-pro|gpt-5(\.\d+)?-pro")
# A refused effort (immersive-translate#3529); the Responses API names the field `reasoning.effort`.
EFFORT_WORDS = (
    "Unsupported value: '{field}' does not support '{effort}' with this model. Supported values are: {takes}."
)
# The efforts each model takes (OpenAI's reasoning guide): gpt-5 has minimal and no none; gpt-5.1 the reverse.
EFFORTS: Mapping[str, tuple[str, ...]] = {
    "gpt-5": ("minimal", "low", "medium", "high"),
    "gpt-5.1": ("none", "low", "medium", "high"),
    "gpt-5.4": ("none", "low", "medium", "high", "xhigh"),
    "gpt-5.6": ("none", "low", "medium", "high", "xhigh"),
}


def model_family(model: str) -> str:
    """`gpt-5.4-mini` -> `gpt-5.4`: the name the efforts table knows."""
    return re.sub(r"-(mini|nano)$", "", model)


def refused_effort(model: str, effort: object, field_name: str) -> StatusFault | None:
    """OpenAI's 400 for an effort `model` does not take; None when it takes it (or the model is not in the table)."""
    takes = EFFORTS.get(model_family(model))
    if takes is None or effort is None or effort in takes:
        return None
    quoted = [f"'{value}'" for value in takes]
    listed = ", ".join(quoted[:-1]) + f", and {quoted[-1]}"
    words = EFFORT_WORDS.format(field=field_name, effort=effort, takes=listed)
    return Fault.status(400, openai_error(words, "invalid_request_error", "unsupported_value", field_name))


def chat_refusal(request: RecordedRequest, *, azure: bool = False) -> StatusFault | None:
    """What Chat Completions answers `request` instead of a reply, today (the fake server's refusals, each with the
    thread that quotes it); None when it answers."""
    body = request.body or {}
    model, effort, tools = request.model, body.get("reasoning_effort"), bool(body.get("tools"))
    if RESPONSES_ONLY.fullmatch(model):
        return Fault.azure_responses_only(model) if azure else Fault.responses_only()
    if (refused := refused_effort(model, effort, "reasoning_effort")) is not None:
        return refused
    family = model_family(model)
    if tools and family == "gpt-5.4" and effort not in (None, "none"):
        return Fault.tools_with_reasoning(model)
    if tools and family == "gpt-5.6" and effort != "none":
        return Fault.tools_with_reasoning(model, default_effort=True)
    return None


@dataclass
class OpenAIToday:
    """A responder: Chat Completions and the Responses API as OpenAI answers them; `answers` answers the rest.

    `azure`: refuse Responses-only models in Azure's words. `responses_api=False`: a server without `/responses`
    (vLLM's 404 `{"detail": "Not Found"}`).
    """

    answers: Callable[[RecordedRequest], Answer]
    azure: bool = False
    responses_api: bool = True
    refused: list[RecordedRequest] = field(default_factory=list)  # every request answered with a refusal

    def __call__(self, request: RecordedRequest) -> Answer:
        refusal = self._refusal(request)
        if refusal is None:
            return self.answers(request)
        self.refused.append(request)
        return refusal

    def _refusal(self, request: RecordedRequest) -> StatusFault | None:
        if request.wire == "chat":
            return chat_refusal(request, azure=self.azure)
        if not self.responses_api:
            return Fault.status(404, {"detail": "Not Found"})
        effort = ((request.body or {}).get("reasoning") or {}).get("effort")
        return refused_effort(request.model, effort, "reasoning.effort")
