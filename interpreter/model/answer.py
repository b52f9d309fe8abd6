"""What one plain HTTP request to a server got (status, headers, body), read the same way by doctor and by the
catalogue's questions to a server: its JSON objects, and the error it carries whatever the body's shape."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from interpreter.resilience.bodies import ErrorBody, parse_body
from interpreter.trust.redaction import redact_text


@dataclass(frozen=True)
class Answer:
    """What one request got: the HTTP status, headers and body, or no status and the `failure` that stopped it."""

    status: int | None = None
    headers: Mapping[str, str] = field(default_factory=dict)
    body: object = None
    failure: str = ""
    timed_out: bool = False  # the server took the request but sent no answer in time: slow or stuck, not absent
    streamed: bool = False  # the body is the list of a stream's events

    @property
    def ok(self) -> bool:
        """Whether the server answered with a success status, and no error came inside the stream."""
        return self.status is not None and 200 <= self.status < 300 and self._streamed_error is None

    @property
    def chunks(self) -> list[Mapping[str, Any]]:
        """The JSON objects of the answer: the body itself, or each event of a stream."""
        items = self.body if isinstance(self.body, list) and self.streamed else [self.body]
        return [item for item in items if isinstance(item, Mapping)]

    @property
    def fault(self) -> ErrorBody:
        """The error's fields, whatever the body's shape (OpenAI, Gemini's array, flat, LiteLLM's wrapping)."""
        return parse_body(self._streamed_error or self.body)

    @property
    def _streamed_error(self) -> Mapping[str, Any] | None:
        """The `{"error": ...}` event a server sent inside a stream after HTTP 200 (vLLM, LiteLLM, OpenRouter)."""
        if not self.streamed:
            return None
        return next((error for chunk in self.chunks if (error := _error_of(chunk))), None)

    @property
    def code(self) -> str:
        """The error's `code` field as text, or ""."""
        return self.fault.code or ""

    @property
    def words(self) -> str:
        """The server's own words about a failure: the error message, else the start of the body; redacted, for a
        server may quote the URL it was sent (`Invalid URL (POST /v1/?api-key=KEY...)`)."""
        return redact_text(" ".join(self.fault.message.split())[:200])


def _error_of(chunk: Mapping[str, Any]) -> Mapping[str, Any] | None:
    """The error a stream's event carries: `{"error": ...}` (Chat Completions servers), or the Responses API's
    `error` event and `response.failed` (its `response.error`)."""
    if chunk.get("type") == "error":
        return {"error": chunk}
    failed = chunk.get("response") if chunk.get("type") == "response.failed" else None
    if isinstance(failed, Mapping) and failed.get("error"):
        return {"error": failed["error"]}
    return chunk if chunk.get("error") else None
