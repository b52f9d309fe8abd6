"""Error bodies of every OpenAI-compatible server, read once into the fields the rest of the program asks about.

Shapes met (shared/PROVIDERS.md, quirk 21): OpenAI `{"error": {...}}` (the SDK hands over the inner object);
Gemini's array `[{"error": {"code", "message", "status", "details"}}]`; flat `{"object": "error", "message"}` (vLLM
before v0.10.1, Mistral); `message` as an object (Mistral 422's `{"detail": [...]}`); FastAPI `{"detail": ...}`;
`code` a string, a number or the status as a string; `type` missing; LiteLLM's wrapping of the upstream's words.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass

from interpreter.resilience.durations import parse_duration

# "litellm.RateLimitError: RateLimitError: OpenAIException - " before the upstream's words (the proxy's own naming).
_LITELLM_PREFIX = re.compile(r"^litellm\.\w+: (?:(?:litellm\.)?\w+Error: )*(?:\w+Exception - )?")
# What LiteLLM appends after them: which model group failed, and whether it fell back or retried.
_LITELLM_SUFFIX = re.compile(r"\s*(?:LiteLLM: model group|Received Model Group=|LiteLLM Retried:).*$", re.DOTALL)
# The window a context overflow names: vLLM/OpenAI "maximum context length is 4096 tokens", llama.cpp "the available
# context size (4096 tokens)", Gemini "the maximum number of tokens allowed (1048576)", LM Studio "n_ctx: 4096".
_WINDOW = re.compile(
    r"maximum context length is ([\d,]+) tokens|available context size \(([\d,]+) tokens\)"
    r"|maximum number of tokens allowed \(([\d,]+)\)|n_ctx: ([\d,]+)"
)
_RETRY_INFO = "type.googleapis.com/google.rpc.RetryInfo"
_QUOTA_FAILURE = "type.googleapis.com/google.rpc.QuotaFailure"


@dataclass(frozen=True)
class ErrorBody:
    """What an error body says: the server's own words and the fields servers use to name the failure."""

    message: str = ""
    code: str | None = None  # always text: 429, "429" and "rate_limit_exceeded" all arrive as codes
    type: str | None = None  # OpenAI's `type`, else Gemini's `status`
    quota_ids: tuple[str, ...] = ()  # Gemini QuotaFailure violations, e.g. "GenerateRequestsPerDayPerProjectPerModel"
    retry_delay: float | None = None  # Gemini RetryInfo.retryDelay, in seconds
    context_size: int | None = None  # the window the server runs with: llama.cpp's n_ctx, or named in the message
    proxied: bool = False  # a proxy (LiteLLM) relays the words of the server behind it: the failure happened there


def parse_body(body: object) -> ErrorBody:
    """The fields of an error body of any shape; an unknown shape keeps only its text, never raises."""
    fields = _error_object(body)
    if fields is None:  # plain text; also what the SDK hands over of LM Studio's `{"error": "..."}`
        text = _text(body) or ""
        return ErrorBody(message=text, context_size=_named_window(text))
    details = fields.get("details")
    words = _words(fields)
    message = _unwrapped(words)
    return ErrorBody(
        message=message,
        code=_scalar(fields.get("code")),
        type=_text(fields.get("type")) or _text(fields.get("status")),
        quota_ids=tuple(_quota_ids(details)),
        retry_delay=_retry_delay(details),
        context_size=_integer(fields.get("n_ctx")) or _named_window(message),
        proxied=words.startswith("litellm."),
    )


def _error_object(body: object) -> Mapping[str, object] | None:
    """The mapping that holds the error's fields: inside a list (Gemini) and under "error" when it is an object."""
    if isinstance(body, list) and body:
        return _error_object(body[0])
    if not isinstance(body, Mapping):
        return None
    inner = body.get("error")
    return inner if isinstance(inner, Mapping) else body


def _words(fields: Mapping[str, object]) -> str:
    """The server's message: `message` as text or as an object, `detail`, or an "error" given as plain text."""
    for key in ("message", "detail", "error"):
        words = _described(fields.get(key))
        if words:
            return words
    return ""


def _described(value: object) -> str:
    """A message field as text: a string as is; FastAPI's detail list as "loc: msg" items; an object by its parts."""
    if isinstance(value, str):
        return value
    if isinstance(value, list):
        return "; ".join(filter(None, map(_described, value)))
    if not isinstance(value, Mapping):
        return ""
    if "msg" in value:  # one FastAPI/pydantic validation error: where, and what
        loc = value.get("loc")
        where = ".".join(map(str, loc)) if isinstance(loc, list) else ""
        return f"{where}: {value['msg']}" if where else str(value["msg"])
    return _words(value)


def _unwrapped(message: str) -> str:
    """The upstream's own words out of a LiteLLM proxy's wrapping; any other message unchanged."""
    if not message.startswith("litellm."):
        return message
    return _LITELLM_SUFFIX.sub("", _LITELLM_PREFIX.sub("", message)).strip() or message


def _details(details: object, kind: str) -> Iterator[Mapping[str, object]]:
    """The entries of a google.rpc `details` list whose "@type" is `kind`."""
    for entry in details if isinstance(details, list) else ():
        if isinstance(entry, Mapping) and entry.get("@type") == kind:
            yield entry


def _quota_ids(details: object) -> Iterator[str]:
    """Every `quotaId` of the QuotaFailure details."""
    for failure in _details(details, _QUOTA_FAILURE):
        violations = failure.get("violations")
        for violation in violations if isinstance(violations, list) else ():
            if isinstance(violation, Mapping) and (quota := _text(violation.get("quotaId"))):
                yield quota


def _retry_delay(details: object) -> float | None:
    """RetryInfo's `retryDelay` ("47s", a protobuf Duration in JSON) in seconds."""
    for info in _details(details, _RETRY_INFO):
        delay = _text(info.get("retryDelay"))
        if delay is not None:
            return parse_duration(delay)
    return None


def _named_window(message: str) -> int | None:
    """The context window a message names, if it names one."""
    match = _WINDOW.search(message)
    named = next((group for group in match.groups() if group), None) if match else None
    return int(named.replace(",", "")) if named else None  # LiteLLM writes "8,192"


def _text(value: object) -> str | None:
    """`value` if it is a non-empty string."""
    return value if isinstance(value, str) and value else None


def _scalar(value: object) -> str | None:
    """A code as text, whether the server wrote it as a string or a number."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        return str(value)
    return _text(value)


def _integer(value: object) -> int | None:
    """`value` if it is a positive whole number."""
    return value if isinstance(value, int) and not isinstance(value, bool) and value > 0 else None


def refuses_stream_options(status: int | None, body: object, words: str = "") -> bool:
    """Whether a 400 or 422 refuses the `stream_options` field: as its `param`, in a validation `loc`, or in words.

    Azure words it "Unrecognized request argument supplied: stream_options", Groq "property 'stream_options' is
    unsupported", Mistral answers 422 with `{"detail": [{"type": "extra_forbidden", "loc": ["body",
    "stream_options"]}]}` inside its `message`: the field's name, wherever it appears, is the common part.
    """
    return status in (400, 422) and "stream_options" in f"{words} {json.dumps(body, default=str)}"


def refuses_images(status: int | None, body: object, words: str = "") -> bool:
    """Whether an answer to a request carrying image parts refuses them: a 400, 422 or 500 that names images.

    OpenAI's text-only models say "Invalid content type. image_url is only supported by certain models."
    (vllm-project/vllm#11629 quotes it), DeepSeek "unknown variant `image_url`, expected `text`"
    (esengine/DeepSeek-Reasonix#7859), llama.cpp without its projector "image input is not supported", as a 500
    (ggml-org/llama.cpp#13566): the word "image" is the common part.
    """
    return status in (400, 422, 500) and "image" in f"{words} {json.dumps(body, default=str)}".lower()
