"""Imitations of the OpenAI-compatible servers people use, each streaming a reply exactly as that server does.

    server.responder = script(GEMINI, [Turn(code=("x = 6*7",)), Turn(code=("print(x)",)), Turn("x is 42.")])

A `Flavour` turns one scripted `Turn` (text, or `execute` calls running Python) into the raw SSE frames its server
sends, and may first refuse a request for its shape, in that server's words. Each behaviour names its source beside
it, as /work/shared/PROVIDERS.md does: [src] the server's own code or docs, [3p] a report in another project's issue,
[inferred] read from the source without an observed report. Transcripts marked A1-A10 are that file's. `reports`
gives the paths where each server reports the window it runs with, answered as it answers them.
"""

from __future__ import annotations

import json
import re
import uuid
from collections import deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from fake_server import Answer, Exchange, RecordedRequest, StatusFault, prompt_tokens

Frames = list[str]
DONE = "data: [DONE]\n\n"


@dataclass(frozen=True)
class Turn:
    """One reply to script: its text, then one `execute` call per piece of Python code."""

    text: str = ""
    code: tuple[str, ...] = ()
    thought: str = ""  # reasoning streamed before the answer, in the server's own way
    arguments: tuple[str, ...] = ()  # further calls' arguments as written, JSON objects or not (a small model's)

    def reasoning(self, field: str) -> list[dict[str, Any]]:
        """The reasoning as deltas of `field` (`reasoning` or `reasoning_content`), a few words each."""
        return [{field: piece} for piece in re.findall(r"\s*\S+\s*\S*|\s+", self.thought)]

    def calls(self) -> list[tuple[str, str]]:
        """(name, arguments JSON) of each call."""
        made = [json.dumps({"language": "python", "code": code}) for code in self.code]
        return [("execute", arguments) for arguments in [*made, *self.arguments]]

    @property
    def finish(self) -> str:
        """The finish reason OpenAI itself would send."""
        return "tool_calls" if self.calls() else "stop"


@dataclass(frozen=True)
class Flavour:
    """One server's way of streaming (`frames`) and of refusing a request's shape (`refuse`)."""

    name: str
    frames: Callable[[Turn, RecordedRequest], Frames]
    refuse: Callable[[RecordedRequest], StatusFault | None] = lambda request: None
    parallel: bool = True  # whether the server makes several calls in one reply


@dataclass(frozen=True)
class Streamed:
    """One reply, streamed frame by frame as `flavour` sends it."""

    flavour: Flavour
    turn: Turn

    def answer(self, exchange: Exchange) -> None:
        """Send the frames, one HTTP chunk each."""
        exchange.start_stream()
        for frame in self.flavour.frames(self.turn, exchange.request):
            exchange.send_raw(frame)
        exchange.finish()


@dataclass
class Script:
    """A responder playing `turns` in order as `flavour`; a request it refuses does not use up a turn."""

    flavour: Flavour
    turns: deque[Turn] = field(default_factory=deque)

    def __call__(self, request: RecordedRequest) -> Answer:
        refusal = self.flavour.refuse(request)
        if refusal is not None:
            return refusal
        return Streamed(self.flavour, self.turns.popleft() if self.turns else Turn("(no more turns scripted)"))


def script(flavour: Flavour, turns: Iterable[Turn]) -> Script:
    """A Script of `turns`."""
    return Script(flavour, deque(turns))


# ---- building blocks ----------------------------------------------------------------------------------


def data(payload: object) -> str:
    """One SSE `data:` event."""
    return f"data: {json.dumps(payload)}\n\n"


def comment(text: str) -> str:
    """One SSE comment line, which carries no event (keep-alives)."""
    return f": {text}\n\n"


def _wants_usage(request: RecordedRequest) -> bool:
    options = (request.body or {}).get("stream_options")
    return isinstance(options, dict) and options.get("include_usage") is True


def _usage(request: RecordedRequest) -> dict[str, int]:
    """The usage a server reports: the prompt as the fake counts it (the client calibrates its estimate on it)."""
    prompt = prompt_tokens(request)
    return {"prompt_tokens": prompt, "completion_tokens": 30, "total_tokens": prompt + 30}


def _chunk(delta: dict[str, Any], finish: str | None = None, **extra: Any) -> dict[str, Any]:
    """An OpenAI-shaped chunk with one choice."""
    envelope = {"id": "chatcmpl-flavour", "object": "chat.completion.chunk", "created": 1750000000, "model": "m"}
    return {**envelope, "choices": [{"index": 0, "delta": delta, "finish_reason": finish}], **extra}


def _pieces(text: str, size: int = 8) -> list[str]:
    return [text[start : start + size] for start in range(0, len(text), size)] or [""]


def _incremental(turn: Turn, ids: Callable[[int], str], *, first_arguments: bool = True) -> list[dict[str, Any]]:
    """OpenAI's way (A1): a call's id and name first, then its arguments in pieces, each piece keyed by `index`."""
    deltas: list[dict[str, Any]] = [{"content": word} for word in re.findall(r"\s*\S+|\s+", turn.text)]
    for index, (name, arguments) in enumerate(turn.calls()):
        function: dict[str, Any] = {"name": name, **({"arguments": ""} if first_arguments else {})}
        deltas.append({"tool_calls": [{"index": index, "id": ids(index), "type": "function", "function": function}]})
        deltas += [{"tool_calls": [{"index": index, "function": {"arguments": p}}]} for p in _pieces(arguments)]
    return deltas


def _usage_chunk(request: RecordedRequest) -> Frames:
    """The usage chunk (empty `choices`) servers send last when asked with `stream_options.include_usage`."""
    return [data({**_chunk({}), "choices": [], "usage": _usage(request)})] if _wants_usage(request) else []


# ---- the servers --------------------------------------------------------------------------------------


def _gemini(turn: Turn, request: RecordedRequest) -> Frames:
    # A2 [3p] OpenMAIC#1556, python-genai#2868: each call whole in one chunk, no `index`, `extra_content` with a
    # thought signature; "stop" although calls were made. Ids like `function-call-1` (issue 11's table); that they
    # are counted anew in each reply is UNCONFIRMED, modelled so because it is the harder case (ids repeat).
    role = {"role": "assistant"}
    frames = [data(_gemini_chunk({**role, "content": turn.text}))] if turn.text else []
    for number, (name, arguments) in enumerate(turn.calls(), start=1):
        call = {
            "extra_content": {"google": {"thought_signature": SIGNATURE}},
            "function": {"arguments": arguments, "name": name},
            "id": f"function-call-{number}",
            "type": "function",
        }
        frames.append(data(_gemini_chunk({**role, "tool_calls": [call]})))
    return [*frames, data(_gemini_chunk({}, "stop")), DONE]


def _gemini_chunk(delta: dict[str, Any], finish: str | None = None) -> dict[str, Any]:
    choice = {"delta": delta, "index": 0, **({"finish_reason": finish} if finish else {})}
    return {"choices": [choice], "model": "gemini-3-flash", "object": "chat.completion.chunk"}


SIGNATURE = "c2lnbmF0dXJl"  # what the Gemini flavour signs every call with


def _gemini_refuse(request: RecordedRequest) -> StatusFault | None:
    # Gemini refuses an assistant tool-call message whose `content` is null or absent (langchain#30803, PROVIDERS
    # #16); its error bodies are a JSON array (A2, page-assist#406). The message wording here is UNCONFIRMED.
    for position, message in enumerate(_messages(request)):
        if message.get("role") == "assistant" and not isinstance(message.get("content"), str):
            return _gemini_error(
                f"* GenerateContentRequest.contents[{position}].parts: contents.parts must not be empty."
            )
    return _gemini_unsigned(request)


def _gemini_unsigned(request: RecordedRequest) -> StatusFault | None:
    # Gemini 3 refuses a call of the current turn (after the last user message) sent back without the signature it
    # came with; older turns are not checked ([src] ai.google.dev/gemini-api/docs/thought-signatures). Wording
    # verbatim from [3p] manthanabc/paws#103 and openai/openai-python#2758.
    messages = _messages(request)
    turn = max((position for position, message in enumerate(messages) if message.get("role") == "user"), default=0)
    for position, message in enumerate(messages[turn:], start=turn):
        for call in message.get("tool_calls") or ():
            if (call.get("extra_content") or {}).get("google", {}).get("thought_signature") != SIGNATURE:
                name = call.get("function", {}).get("name")
                return _gemini_error(
                    "Function call is missing a thought_signature in functionCall parts. This is required for tools"
                    " to work correctly, and missing thought_signature may lead to degraded model performance."
                    f" Additional data, function call `default_api:{name}` , position {position}. Please refer to"
                    " https://ai.google.dev/gemini-api/docs/thought-signatures for more details."
                )
    return None


def _gemini_error(text: str) -> StatusFault:
    return StatusFault(400, json.dumps([{"error": {"code": 400, "message": text, "status": "INVALID_ARGUMENT"}}]))


def _messages(request: RecordedRequest) -> list[dict[str, Any]]:
    return list((request.body or {}).get("messages") or ())


def _carrying(*fields: str) -> Callable[[RecordedRequest], tuple[int, str] | None]:
    """A finder of the first assistant message carrying one of `fields`: (its position, the field)."""

    def find(request: RecordedRequest) -> tuple[int, str] | None:
        for position, message in enumerate(_messages(request)):
            found = [name for name in fields if name in message and message.get("role") == "assistant"]
            if found:
                return position, found[0]
        return None

    return find


_REASONING_FIELD = _carrying("reasoning_content", "reasoning")


def _first(
    *refusers: Callable[[RecordedRequest], StatusFault | None],
) -> Callable[[RecordedRequest], StatusFault | None]:
    """A refuser answering with the first refusal of `refusers`."""
    return lambda request: next((fault for refuse in refusers if (fault := refuse(request)) is not None), None)


def _ollama_old(turn: Turn, request: RecordedRequest) -> Frames:
    # A3 [src] ollama openai/openai.go, older releases: every call of the reply whole in one chunk; no `index`
    # (v0.4.6, ollama#7881); "stop" although calls were made (before v0.5.12); `role` on every chunk (before v0.32.6).
    base = {"role": "assistant", "content": ""}
    calls = [
        {"id": f"call_{uuid.uuid4().hex[:8]}", "type": "function", "function": {"name": name, "arguments": arguments}}
        for name, arguments in turn.calls()
    ]
    frames = [data(_chunk({**base, "content": turn.text}, system_fingerprint="fp_ollama"))] if turn.text else []
    if calls:
        frames.append(data(_chunk({**base, "tool_calls": calls}, system_fingerprint="fp_ollama")))
    return [*frames, data(_chunk(base, "stop", system_fingerprint="fp_ollama")), DONE]


def _ollama_refuse_arguments(request: RecordedRequest) -> StatusFault | None:
    # [src] ollama openai/openai.go FromCompletionToolCall (HEAD; older releases alike [inferred]): a history call's
    # `arguments` string is unmarshalled into a map; anything but a JSON object is a 400 with NewError's body (type
    # from the status, code null).
    for message in _messages(request):
        for call in message.get("tool_calls") or ():
            if not _is_object(call.get("function", {}).get("arguments")):
                error = {"message": "invalid tool call arguments", "type": "invalid_request_error", "param": None}
                return StatusFault(400, {"error": {**error, "code": None}})
    return None


def _is_object(arguments: object) -> bool:
    try:
        return isinstance(arguments, str) and isinstance(json.loads(arguments), dict)
    except ValueError:
        return False


def _ollama_new(turn: Turn, request: RecordedRequest) -> Frames:
    # A3 [src] ollama openai/openai.go at HEAD: the whole calls in the first chunk, with `index`; then the finish;
    # the usage chunk when asked; reasoning as `delta.reasoning` before them (PROVIDERS #30).
    calls = [
        {
            "id": f"call_{uuid.uuid4().hex[:8]}",
            "index": index,
            "type": "function",
            "function": {"name": n, "arguments": a},
        }
        for index, (n, a) in enumerate(turn.calls())
    ]
    first = {"role": "assistant", "content": turn.text, **({"tool_calls": calls} if calls else {})}
    frames = [data(_chunk(delta, system_fingerprint="fp_ollama")) for delta in turn.reasoning("reasoning")]
    frames += [data(_chunk(first, system_fingerprint="fp_ollama")), data(_chunk({}, turn.finish))]
    return [*frames, *_usage_chunk(request), DONE]


def _vllm(turn: Turn, request: RecordedRequest) -> Frames:
    # A4 [src] vllm serving_chat.py, hermes_tool_parser.py: the first call delta has no `arguments` key; the last
    # piece of arguments rides on the finish chunk; ids `chatcmpl-tool-<uuid>`; `stop_reason` beside `finish_reason`.
    # Reasoning as `delta.reasoning` (v0.11 on; PROVIDERS #30).
    deltas = _incremental(turn, lambda index: f"chatcmpl-tool-{uuid.uuid4().hex}", first_arguments=False)
    deltas = [*turn.reasoning("reasoning"), *deltas]
    frames = [data(_chunk({"role": "assistant", "content": ""}))]
    frames += [data(_chunk(delta)) for delta in deltas[:-1]]
    last = _chunk(deltas[-1] if deltas else {}, turn.finish)
    last["choices"][0]["stop_reason"] = None
    return [*frames, data(last), *_usage_chunk(request), DONE]


def _llamacpp(turn: Turn, request: RecordedRequest) -> Frames:
    # A5 [src] llama.cpp common/chat.cpp, server-task.cpp: `content: null` in the first chunk; ids of 32
    # alphanumerics without `call_`; `timings` and (before 2025-08) `usage` on the finish chunk; reasoning as
    # `delta.reasoning_content` (PROVIDERS #30).
    frames = [data(_chunk({"role": "assistant", "content": None}))]
    frames += [data(_chunk(delta)) for delta in turn.reasoning("reasoning_content")]
    frames += [data(_chunk(delta)) for delta in _incremental(turn, lambda index: uuid.uuid4().hex)]
    finish = _chunk({}, turn.finish, timings={"prompt_n": 120, "predicted_n": 30}, usage=_usage(request))
    return [*frames, data(finish), DONE]


def _lmstudio(turn: Turn, request: RecordedRequest) -> Frames:
    # A6 [3p] lmstudio-bug-tracker#649: `"name": ""` and `type` repeated on every argument chunk; numeric ids.
    # Reasoning as a `<think>` block opening the content (PROVIDERS #30), here cut into 5-character pieces so the
    # tags themselves arrive split.
    thought = f"<think>{turn.thought}</think>\n\n" if turn.thought else ""
    frames = [data(_chunk({"content": piece})) for piece in _pieces(thought, 5)] if thought else []
    frames += [data(_chunk({"role": "assistant", "content": turn.text}))] if turn.text else []
    for index, (name, arguments) in enumerate(turn.calls()):
        start = {"index": index, "id": str(365174485 + index), "type": "function", "function": {"name": name}}
        frames.append(data(_chunk({"tool_calls": [{**start, "function": {"name": name, "arguments": ""}}]})))
        for piece in _pieces(arguments):
            fragment = {"index": index, "type": "function", "function": {"name": "", "arguments": piece}}
            frames.append(data(_chunk({"tool_calls": [fragment]})))
    return [*frames, data(_chunk({}, turn.finish)), DONE]


def _groq(turn: Turn, request: RecordedRequest) -> Frames:
    # A10 [3p] Portkey-AI/gateway#1072: usage only under `x_groq.usage`, on the finish chunk.
    frames = [data(_chunk({"role": "assistant", "content": ""}))]
    frames += [data(_chunk(delta)) for delta in _incremental(turn, lambda index: f"call_{uuid.uuid4().hex[:24]}")]
    finish = _chunk({}, turn.finish, x_groq={"id": "req_01jt0xby4ffanamrs6m40mv0fy", "usage": _usage(request)})
    return [*frames, data(finish), DONE]


def _groq_refuse(request: RecordedRequest) -> StatusFault | None:
    # [3p] vercel/ai#1578 (2024): Groq refused `stream_options` with a 400 naming the property.
    if "stream_options" not in (request.body or {}):
        return None
    error = {
        "message": "property 'stream_options' is unsupported, did you mean 'stream'?",
        "type": "invalid_request_error",
    }
    return StatusFault(400, {"error": error})


def _groq_refuse_reasoning(request: RecordedRequest) -> StatusFault | None:
    # [3p] janhq/jan#8136, tashfeenahmed/freellmapi#1070, verbatim: an assistant message carrying
    # `reasoning_content` is refused; `reasoning` likewise ([3p] musistudio/claude-code-router#1204).
    found = _REASONING_FIELD(request)
    if found is None:
        return None
    where = f"'messages.{found[0]}'"
    refused = f"({where} : property '{found[1]}' is unsupported)"
    text = f"{where} : for 'role:assistant' the following must be satisfied[{refused}]"
    return StatusFault(400, {"error": {"message": text, "type": "invalid_request_error"}})


def _azure(turn: Turn, request: RecordedRequest) -> Frames:
    # A7 [3p] mentat#429, verbatim: the first chunk has empty `choices` and the prompt's filter results.
    safe = {"filtered": False, "severity": "safe"}
    filters = {"hate": safe, "self_harm": safe, "sexual": safe, "violence": safe}
    first = {"id": "", "choices": [], "created": 0, "model": "", "object": "", "system_fingerprint": None}
    frames = [data({**first, "prompt_filter_results": [{"prompt_index": 0, "content_filter_results": filters}]})]
    frames.append(data(_chunk({"role": "assistant", "content": ""})))
    frames += [data(_chunk(delta)) for delta in _incremental(turn, lambda index: f"call_{uuid.uuid4().hex[:24]}")]
    return [*frames, data(_chunk({}, turn.finish)), *_usage_chunk(request), DONE]


def _mistral(turn: Turn, request: RecordedRequest) -> Frames:
    # Ids of exactly 9 alphanumerics (PROVIDERS #13, mistral-common); usage sent unasked on the last chunk
    # ([3p] dnakov/anon-kode#53: "Usage data is included by default"). Whole calls per chunk: [inferred].
    frames = [data(_chunk({"role": "assistant", "content": turn.text}))]
    for index, (name, arguments) in enumerate(turn.calls()):
        call = {"id": uuid.uuid4().hex[:9], "index": index, "function": {"name": name, "arguments": arguments}}
        frames.append(data(_chunk({"tool_calls": [call]})))
    return [*frames, data(_chunk({}, turn.finish, usage=_usage(request))), DONE]


def _mistral_refuse(request: RecordedRequest) -> StatusFault | None:
    # [3p] dnakov/anon-kode#53 (2025), verbatim: 422, the validation detail inside `message`.
    if "stream_options" not in (request.body or {}):
        return None
    detail = {
        "type": "extra_forbidden",
        "loc": ["body", "stream_options", "include_usage"],
        "msg": "Extra inputs are not permitted",
        "input": True,
        "url": "https://errors.pydantic.dev/2.10/v/extra_forbidden",
    }
    body = {
        "object": "error",
        "message": {"detail": [detail]},
        "type": "invalid_request_error",
        "param": None,
        "code": None,
    }
    return StatusFault(422, body)


def _mistral_refuse_reasoning(request: RecordedRequest) -> StatusFault | None:
    # [inferred] from the 422 above: Mistral forbids fields it does not know, `reasoning_content` on an assistant
    # message among them (issue 11; PROVIDERS #10, #15). The `loc` path is modelled on pydantic's, UNCONFIRMED.
    found = _REASONING_FIELD(request)
    if found is None:
        return None
    detail = {"type": "extra_forbidden", "loc": ["body", "messages", found[0], "assistant", found[1]]}
    body = {"object": "error", "message": {"detail": [{**detail, "msg": "Extra inputs are not permitted"}]}}
    return StatusFault(422, {**body, "type": "invalid_request_error", "param": None, "code": None})


_MISTRAL_ID = re.compile("[a-zA-Z0-9]{9}")


def _mistral_refuse_ids(request: RecordedRequest) -> StatusFault | None:
    # [3p] editor-code-assistant/eca#233, mistralai/mistral-vibe#1075, verbatim: a tool-call id (of a call or of a
    # tool message's answer) that is not 9 letters and digits (mistral-common's check, PROVIDERS #13).
    for message in _messages(request):
        ids = [call.get("id") for call in message.get("tool_calls") or ()] + [message.get("tool_call_id")]
        for call_id in ids:
            if call_id is not None and not _MISTRAL_ID.fullmatch(str(call_id)):
                text = f"Tool call id was {call_id} but must be a-z, A-Z, 0-9, with a length of 9."
                body = {"object": "error", "message": text, "type": "invalid_function_call", "param": None}
                return StatusFault(400, {**body, "code": "3280"})
    return None


def _deepseek(turn: Turn, request: RecordedRequest) -> Frames:
    # A9 [src] DeepSeek's rate-limit doc: `: keep-alive` comments while the request waits under load; then
    # `delta.reasoning_content` before the answer: thinking mode, on by default, reasons before every answer
    # ([src] api-docs.deepseek.com/guides/thinking_mode).
    thinking = turn if turn.thought else Turn(turn.text, turn.code, thought=DEEPSEEK_THOUGHT)
    thought = [data(_chunk(delta)) for delta in thinking.reasoning("reasoning_content")]
    return [comment("keep-alive"), comment("keep-alive"), *thought, *_openai(turn, request)]


DEEPSEEK_THOUGHT = "The task needs code; I will run it."


def _deepseek_refuse(request: RecordedRequest) -> StatusFault | None:
    # [src] api-docs.deepseek.com/guides/thinking_mode: the `reasoning_content` of an assistant message that made
    # tool calls must be passed back in all later requests, else 400; wording verbatim from issue 11 ([3p]
    # anomalyco/opencode#24722 reports the same rule). The body shape is OpenAI's (PROVIDERS A11: UNCONFIRMED).
    for message in _messages(request):
        if message.get("tool_calls") and not message.get("reasoning_content"):
            text = "The `reasoning_content` in the thinking mode must be passed back to the API."
            return StatusFault(400, {"error": {"message": text, "type": "invalid_request_error", "param": None}})
    return None


def _openrouter(turn: Turn, request: RecordedRequest) -> Frames:
    # A8 [src] OpenRouter docs: `: OPENROUTER PROCESSING` comments; `provider` on chunks; usage in the finish chunk
    # (PROVIDERS #8); the finish chunk sent twice (PROVIDERS #6): tools must still run once.
    frames = [data({**_chunk(delta), "provider": "openai"}) for delta in _openai_deltas(turn)]
    finish = data({**_chunk({}, turn.finish), "provider": "openai", "usage": _usage(request)})
    return [comment("OPENROUTER PROCESSING"), comment("OPENROUTER PROCESSING"), *frames, finish, finish, DONE]


def _openai_deltas(turn: Turn) -> list[dict[str, Any]]:
    return [{"role": "assistant", "content": ""}, *_incremental(turn, lambda index: f"call_{uuid.uuid4().hex[:24]}")]


def _openai(turn: Turn, request: RecordedRequest) -> Frames:
    # A1 [3p] BerriAI/litellm#5231: OpenAI's own stream, the reference the others differ from.
    frames = [data(_chunk(delta)) for delta in _openai_deltas(turn)]
    return [*frames, data(_chunk({}, turn.finish)), *_usage_chunk(request), DONE]


def _litellm(turn: Turn, request: RecordedRequest) -> Frames:
    # A LiteLLM proxy in front of OpenAI passes on the upstream's chunks in OpenAI's shape [inferred] (PROVIDERS.md,
    # LiteLLM section: what differs is in its errors and headers, which tests/provider_errors.py holds).
    return _openai(turn, request)


GEMINI = Flavour("gemini", _gemini, _gemini_refuse)
OLLAMA_OLD = Flavour("ollama-0.4.6", _ollama_old, _ollama_refuse_arguments)
OLLAMA = Flavour("ollama", _ollama_new, _ollama_refuse_arguments)
VLLM = Flavour("vllm", _vllm)
LLAMACPP = Flavour("llama.cpp", _llamacpp, parallel=False)  # parallel_tool_calls is off by default (PROVIDERS #36)
LMSTUDIO = Flavour("lm-studio", _lmstudio)
GROQ = Flavour("groq", _groq, _first(_groq_refuse, _groq_refuse_reasoning))
AZURE = Flavour("azure", _azure)
MISTRAL = Flavour("mistral", _mistral, _first(_mistral_refuse, _mistral_refuse_reasoning, _mistral_refuse_ids))
DEEPSEEK = Flavour("deepseek", _deepseek, _deepseek_refuse)
OPENROUTER = Flavour("openrouter", _openrouter)
LITELLM = Flavour("litellm", _litellm)
FLAVOURS = (GEMINI, OLLAMA_OLD, OLLAMA, VLLM, LLAMACPP, LMSTUDIO, GROQ, AZURE, MISTRAL, DEEPSEEK, OPENROUTER, LITELLM)
THINKERS = (OLLAMA, VLLM, LLAMACPP, LMSTUDIO, DEEPSEEK)  # the flavours that stream reasoning, each its own way


@dataclass(frozen=True)
class Broken:
    """`turn` as `flavour` streams it, broken after HTTP 200: its first half, then `tail` (the server's own error
    frames) and the end of the body; with no tail, the connection is closed there (a cut stream)."""

    flavour: Flavour
    turn: Turn
    tail: tuple[str, ...] = ()

    def answer(self, exchange: Exchange) -> None:
        """Send half the frames, then the tail and the end, or cut the connection."""
        exchange.start_stream()
        frames = self.flavour.frames(self.turn, exchange.request)
        for frame in [*frames[: len(frames) // 2], *self.tail]:
            exchange.send_raw(frame)
        if self.tail:
            exchange.finish()
        else:
            exchange.drop()


# ---- what each server reports of the models it serves -------------------------------------------------

Routes = dict[tuple[str, str], Answer]
CREATED = 1_750_000_000


def _listing(*entries: dict[str, Any]) -> StatusFault:
    """A 200 `GET /v1/models` answer listing `entries`."""
    return StatusFault(200, {"object": "list", "data": list(entries)})


def _vllm_reports(model: str, window: int) -> Routes:
    # [src] vllm/entrypoints/openai/protocol.py ModelCard: `owned_by: str = "vllm"`, `root`, `parent`,
    # `max_model_len` (the window it runs with, --max-model-len), `permission`.
    card = {"id": model, "object": "model", "created": CREATED, "owned_by": "vllm", "root": model, "parent": None}
    return {("GET", "/v1/models"): _listing({**card, "max_model_len": window, "permission": []})}


def _llamacpp_reports(model: str, window: int) -> Routes:
    # [src] llama.cpp tools/server/README.md, `GET /props`: `default_generation_settings` (a slot's settings, its
    # `n_ctx` the window each slot has: -c divided among the slots), `total_slots`, `model_path`, `build_info`;
    # the model list's `owned_by: "llamacpp"` and `meta` [src] tools/server/server.cpp.
    meta = {"n_ctx_train": 40_960, "n_params": 8_190_735_360, "vocab_type": 2}
    props = {
        "default_generation_settings": {"id": 0, "n_ctx": window, "speculative": False, "is_processing": False},
        "total_slots": 1,
        "model_path": f"/models/{model}",
        "build_info": "b6000-0123abcd",
    }
    listing = _listing({"id": model, "object": "model", "created": CREATED, "owned_by": "llamacpp", "meta": meta})
    return {("GET", "/v1/models"): listing, ("GET", "/props"): StatusFault(200, props)}


def _ollama_reports(model: str, window: int) -> Routes:
    # [src] ollama docs/api.md "Show Model Information": `parameters` as text, one `name value` a line (`num_ctx`
    # where the Modelfile sets it), `model_info` keyed `<general.architecture>.context_length` (what it was trained
    # with, larger); the model list's `owned_by` is the namespace, "library" [src] openai/openai.go.
    shown = {
        "modelfile": f"FROM {model}\nPARAMETER num_ctx {window}\n",
        "parameters": f'num_ctx                        {window}\nstop                           "<|im_end|>"',
        "template": "{{ .Prompt }}",
        "details": {"format": "gguf", "family": "qwen3", "parameter_size": "8.2B", "quantization_level": "Q4_K_M"},
        "model_info": {"general.architecture": "qwen3", "qwen3.context_length": 40_960},
    }
    listing = _listing({"id": model, "object": "model", "created": CREATED, "owned_by": "library"})
    return {("GET", "/v1/models"): listing, ("POST", "/api/show"): StatusFault(200, shown)}


def _lmstudio_reports(model: str, window: int) -> Routes:
    # [src] lmstudio docs "REST API v0", `GET /api/v0/models`: `state`, `max_context_length` (what the model
    # takes); `loaded_context_length` (what it was loaded with) [inferred] from LM Studio's load setting.
    entry = {"id": model, "object": "model", "type": "llm", "arch": "qwen3", "state": "loaded"}
    sizes = {"max_context_length": 262_144, "loaded_context_length": window}
    listing = _listing({"id": model, "object": "model", "owned_by": "organization_owner"})
    return {("GET", "/v1/models"): listing, ("GET", "/api/v0/models"): _listing({**entry, **sizes})}


def _openrouter_reports(model: str, window: int) -> Routes:
    # [src] openrouter.ai/docs/api-reference/list-available-models: `context_length`, `top_provider` (its
    # `context_length` the window of the provider requests go to), `pricing` in USD per token, as strings.
    pricing = {"prompt": "0.0000025", "completion": "0.00001", "input_cache_read": "0.00000125", "request": "0"}
    top = {"context_length": window, "max_completion_tokens": 16_384, "is_moderated": True}
    entry = {"id": model, "canonical_slug": model, "name": model, "created": CREATED, "context_length": window}
    return {("GET", "/v1/models"): _listing({**entry, "pricing": pricing, "top_provider": top})}


def _litellm_reports(model: str, window: int) -> Routes:
    # Observed, LiteLLM 1.110.2 in front of the fake (its cost map bundled): `GET /v1/models` lists each model with
    # `mode` and `max_input_tokens`, and none of the proxy's x-litellm-* headers; `GET /v1/model/info` each
    # deployment's `litellm_params` and `model_info` (window and USD per token).
    listed = {"id": model, "object": "model", "created": 1677610602, "owned_by": "openai", "mode": "chat"}
    costs = {"input_cost_per_token": 2.5e-6, "output_cost_per_token": 1e-5, "cache_read_input_token_cost": 1.25e-6}
    info = {"key": model, "max_tokens": 16_384, "max_input_tokens": window, "max_output_tokens": 16_384, **costs}
    deployment = {"model_name": model, "litellm_params": {"model": f"openai/{model}", "num_retries": 0}}
    deployments = _listing({**deployment, "model_info": {**info, "mode": "chat"}})
    listing = _listing({**listed, "max_input_tokens": window, "max_output_tokens": 16_384})
    return {("GET", "/v1/models"): listing, ("GET", "/v1/model/info"): deployments}


REPORTERS: dict[str, Callable[[str, int], Routes]] = {
    VLLM.name: _vllm_reports,
    LLAMACPP.name: _llamacpp_reports,
    OLLAMA.name: _ollama_reports,
    LMSTUDIO.name: _lmstudio_reports,
    OPENROUTER.name: _openrouter_reports,
    LITELLM.name: _litellm_reports,
}


def reports(flavour: Flavour, model: str, window: int) -> Routes:
    """The paths where `flavour`'s server reports `model` running with a `window`-token context, each answered as
    that server does: `server.routes.update(reports(VLLM, "m", 1_400))`."""
    return REPORTERS[flavour.name](model, window)
