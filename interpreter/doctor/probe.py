"""The requests `interpreter doctor` sends: the model list, and one tiny request offering the tool, on Chat
Completions or the Responses API (whichever a session would use).

The chat request has the shape a session sends (streamed, asking for usage with `stream_options`), so what the
server refuses there, doctor sees. Plain httpx2 (the SDK's transport) with short timeouts and no retries: doctor
wants the server's first answer, status and headers included, not the resilience layer's best effort.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from interpreter.model import tool
from interpreter.model.answer import Answer
from interpreter.trust.redaction import redact_text

if TYPE_CHECKING:
    import httpx2

CONNECT_TIMEOUT = 3.0
READ_TIMEOUT = 10.0
_TEST_TASK = "This is a connection test: call the execute tool with language python and code print(1)."


def client(read_timeout: float = READ_TIMEOUT) -> httpx2.Client:
    """An HTTP client with doctor's short timeouts."""
    import httpx2  # noqa: PLC0415 - lazy: only doctor sends these requests

    return httpx2.Client(timeout=httpx2.Timeout(read_timeout, connect=CONNECT_TIMEOUT))


def list_models(http: httpx2.Client, api_base: str, api_key: str) -> Answer:
    """`GET /models`."""
    return _send(http, "GET", f"{api_base}/models", api_key)


def deployments(http: httpx2.Client, api_base: str, api_key: str) -> Answer:
    """`GET /model/info`: a LiteLLM proxy's deployments, each with its `litellm_params` (num_retries among them)."""
    return _send(http, "GET", f"{api_base}/model/info", api_key)


def chat_test(
    http: httpx2.Client,
    api_base: str,
    api_key: str,
    model: str,
    *,
    tools: bool = True,
    usage: bool = True,
    effort: str | None = None,
) -> Answer:
    """One small streamed chat request asking the model to call the `execute` tool (offered when `tools`).

    With `usage`, it asks for token usage as a session does (`stream_options`); `effort` goes as `reasoning_effort`.
    """
    body: dict[str, Any] = {"model": model, "messages": [{"role": "user", "content": _TEST_TASK}], "stream": True}
    if usage:
        body["stream_options"] = {"include_usage": True}
    if tools:
        body["tools"] = [tool.schema(["python"])]
    if effort is not None:
        body["reasoning_effort"] = effort
    return _send(http, "POST", f"{api_base}/chat/completions", api_key, body)


def responses_test(
    http: httpx2.Client, api_base: str, api_key: str, model: str, *, tools: bool = True, effort: str | None = None
) -> Answer:
    """The same test request on the Responses API (`POST /responses`), stateless as a session sends it."""
    task = [{"role": "user", "content": [{"type": "input_text", "text": _TEST_TASK}]}]
    body: dict[str, Any] = {"model": model, "input": task, "stream": True, "store": False}
    if tools:
        body["tools"] = [{"type": "function", **tool.schema(["python"])["function"]}]  # flat on this API
    if effort is not None:
        body["reasoning"] = {"effort": effort}
    return _send(http, "POST", f"{api_base}/responses", api_key, body)


def model_names(answer: Answer) -> list[str]:
    """The model ids a `GET /models` answer lists (none when it failed or is not a list)."""
    data = answer.body.get("data") if answer.ok and isinstance(answer.body, dict) else None
    items = data if isinstance(data, list) else []
    return [item["id"] for item in items if isinstance(item, dict) and isinstance(item.get("id"), str)]


def called_a_tool(answer: Answer) -> bool:
    """Whether the answer (a completion, or any chunk of a stream, on either API) calls a tool."""
    for chunk in answer.chunks:
        item = chunk.get("item")  # Responses API: response.output_item.added / .done
        if isinstance(item, dict) and item.get("type") == "function_call":
            return True
        choices = chunk.get("choices")
        for choice in choices if isinstance(choices, list) else ():
            said = (choice.get("message") or choice.get("delta")) if isinstance(choice, dict) else None
            if isinstance(said, dict) and said.get("tool_calls"):
                return True
    return False


def _send(http: httpx2.Client, method: str, url: str, api_key: str, body: object = None) -> Answer:
    """Send one request; an answer of any status is an Answer, and so is the lack of one."""
    import httpx2  # noqa: PLC0415 - see client()

    auth = {"authorization": f"Bearer {api_key}"} if api_key else {}
    try:
        response = http.request(method, url, headers=auth, json=body)
    except httpx2.ConnectTimeout:
        return Answer(failure=f"no connection within {CONNECT_TIMEOUT:g}s (timed out)")
    except httpx2.TimeoutException:
        return Answer(failure=f"no answer within {http.timeout.read:g}s (timed out)", timed_out=True)
    except httpx2.ConnectError as exc:
        return Answer(failure=f"cannot connect: {redact_text(str(exc))}")
    except httpx2.HTTPError as exc:  # the connection broke, or the URL cannot be used (httpx may quote it)
        return Answer(failure=f"no usable answer ({type(exc).__name__}: {redact_text(str(exc))})")
    headers = {name.lower(): value for name, value in response.headers.items()}
    if headers.get("content-type", "").startswith("text/event-stream"):
        return Answer(response.status_code, headers, _events(response.text), streamed=True)
    try:
        parsed: object = response.json()
    except ValueError:  # an HTML error page, or nothing
        parsed = response.text
    return Answer(response.status_code, headers, parsed)


def _events(text: str) -> list[object]:
    """The JSON payloads of a stream's `data:` lines; comments, `[DONE]` and broken lines left out."""
    events: list[object] = []
    for line in text.splitlines():
        payload = line.removeprefix("data:").strip() if line.startswith("data:") else ""
        try:
            events.append(json.loads(payload))
        except ValueError:  # "[DONE]", an empty line, a keep-alive comment
            continue
    return events
