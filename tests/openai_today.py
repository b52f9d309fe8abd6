"""OpenAI's models as they answer in late 2026, on top of the fake server: what Chat Completions refuses, and with
which words; what reasoning efforts each model takes. Whatever is not refused goes to `answers`.

    server.responder = OpenAIToday(answers=cells(3))  # fake_server.cells: a task of three cells, either API

Every refusal is worded as shared/PROVIDERS.md ("OpenAI in late 2026") quotes the issue threads beside it; the body
shape is OpenAI's (`{"error": {"message", "type", "param", "code"}}`).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

from fake_server import Answer, Fault, RecordedRequest, StatusFault, openai_error

# Responses-only (openai/codex#1306, alvinunreal/tmuxai#82, continuedev/continue#5758, sigoden/aichat#1318).
RESPONSES_ONLY = re.compile(r"codex-mini-latest|gpt-5(\.\d+)?-codex(-mini)?|o[13]-pro|gpt-5(\.\d+)?-pro")
ONLY_RESPONSES = "This model is only supported in v1/responses and not in v1/chat/completions."
# Azure's words for the same (issue 19); its code is its own.
AZURE_WORDS = (
    "The chatCompletion operation does not work with the specified model, {model}. Please choose different model "
    "and try again. You can learn more about which models can be used with each operation here: "
    "https://go.microsoft.com/fwlink/?linkid=2197993."
)
# gpt-5.4 with tools and an effort (pipecat-ai/pipecat#4043, openclaw/openclaw#76727); gpt-5.6 with tools and its
# default effort (langflow-ai/langflow#14361).
TOOLS_WITH_EFFORT = (
    "Function tools with reasoning_effort are not supported for {model} in /v1/chat/completions. "
    "Please use /v1/responses instead."
)
TOOLS_WITH_DEFAULT = (
    "Function tools with reasoning_effort are not supported for {model} in /v1/chat/completions. "
    "Please use /v1/responses or set reasoning_effort to 'none'."
)
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
    """What Chat Completions answers `request` instead of a reply, today; None when it answers."""
    body = request.body or {}
    model, effort, tools = request.model, body.get("reasoning_effort"), bool(body.get("tools"))
    if RESPONSES_ONLY.fullmatch(model):
        if azure:
            words = AZURE_WORDS.format(model=model)
            return Fault.status(400, openai_error(words, "invalid_request_error", "OperationNotSupported"))
        return Fault.status(404, openai_error(ONLY_RESPONSES, "invalid_request_error", None, "model"))
    if (refused := refused_effort(model, effort, "reasoning_effort")) is not None:
        return refused
    family = model_family(model)
    if tools and family == "gpt-5.4" and effort not in (None, "none"):
        return _tools_refused(TOOLS_WITH_EFFORT, model)
    if tools and family == "gpt-5.6" and effort != "none":
        return _tools_refused(TOOLS_WITH_DEFAULT, model)
    return None


def _tools_refused(words: str, model: str) -> StatusFault:
    return Fault.status(400, openai_error(words.format(model=model), "invalid_request_error", None, "reasoning_effort"))


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
