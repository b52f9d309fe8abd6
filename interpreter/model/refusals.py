"""What a server's refusal says about the API and the reasoning effort: the model needs the Responses API, it does
not take the effort asked for, or the server has no Responses API at all.

OpenAI and Azure say these in words only (the `code` is null, the `param` names the field), so the words are read,
each wording with the issue thread that quotes it (shared/PROVIDERS.md, "OpenAI in late 2026").
"""

from __future__ import annotations

import re
from enum import Enum
from http import HTTPStatus

from interpreter.errors import ApiStatusError
from interpreter.resilience.bodies import parse_body


class Needs(Enum):
    """Why Chat Completions refused: the model lives on the Responses API, or takes tools with reasoning there only."""

    MODEL = "model"
    TOOLS = "tools"


# "This model is only supported in v1/responses and not in v1/chat/completions." (openai/codex#1306,
# alvinunreal/tmuxai#82); Azure: "The chatCompletion operation does not work with the specified model, X."
_MODEL_ELSEWHERE = re.compile(
    r"only supported in v1/responses|The chatCompletion operation does not work with the specified model"
)
# "Function tools with reasoning_effort are not supported for gpt-5.4 in /v1/chat/completions. Please use
# /v1/responses instead." (pipecat-ai/pipecat#4043), and for gpt-5.6 "... Please use /v1/responses or set
# reasoning_effort to 'none'." (langflow-ai/langflow#14361)
_TOOLS_ELSEWHERE = re.compile(r"Function tools with reasoning_effort are not supported")
# "Unsupported value: 'reasoning_effort' does not support 'minimal' with this model. Supported values are: 'none',
# 'low', 'medium', and 'high'." (immersive-translate#3529); the Responses API names the field 'reasoning.effort'.
_EFFORT_REFUSED = re.compile(
    r"'reasoning(?:_effort|\.effort)' does not support '[^']*' with this model\.\s*Supported values are:\s*([^\n]*)"
)
_QUOTED = re.compile(r"'([^']+)'")


def words(error: ApiStatusError) -> str:
    """The server's message in a refusal, else the error's own line."""
    return parse_body(error.body).message or str(error)


def needs_responses(said: str) -> Needs | None:
    """Whether Chat Completions refused, in words `said`, because the model or tools with its reasoning need the
    Responses API."""
    if _MODEL_ELSEWHERE.search(said):
        return Needs.MODEL
    if _TOOLS_ELSEWHERE.search(said):
        return Needs.TOOLS
    return None


def accepted_efforts(said: str) -> tuple[str, ...] | None:
    """The reasoning efforts the model takes, when the words `said` refuse the one sent; None for any other refusal."""
    found = _EFFORT_REFUSED.search(said)
    return tuple(_QUOTED.findall(found[1])) if found else None


def lacks_responses(status: int | None, code: str | None) -> bool:
    """Whether a Responses request was refused for its path: the server has no `/responses` (a 404 not about a model,
    like the fake's "Unknown path" or vLLM's `{"detail": "Not Found"}`)."""
    return status == HTTPStatus.NOT_FOUND and code != "model_not_found"


def lacks_responses_api(error: ApiStatusError) -> bool:
    """`lacks_responses` for a refused request."""
    return lacks_responses(error.status, error.code or parse_body(error.body).code)
