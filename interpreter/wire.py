"""A conversation in the form one server is sent: each server's own fields back to it alone, ids every server takes.

Servers put fields of their own on a reply and some require them back: Gemini 3 a thought signature on each tool
call (`extra_content`), DeepSeek's thinking mode the `reasoning_content` of a message with tool calls. Others refuse
those very fields (Groq, Mistral: `reasoning_content`), and a signature means nothing to another server. So they are
sent only to the api_base that produced them. The model does not count: a signature belongs to the provider.

A call's arguments go as a JSON object, whatever the model wrote: Ollama (and vLLM) refuse a history holding any other
(PROVIDERS.md #17); arguments that are not one are sent inside one, as text, so the model still reads what it wrote.

Tool-call ids another server made are sent as 9 letters and digits: Mistral (and Mistral models behind
vLLM) refuse any other form, and every other server treats ids as opaque. Mapping every foreign id needs no guess at
which server this is: a host name misses Mistral models served elsewhere, and a refusal costs a failed request.
"""

from __future__ import annotations

import hashlib
import json
import re
import string
from collections.abc import Sequence
from typing import Any, Final

from interpreter.messages import Message, ToolCall

_PORTABLE_ID: Final = re.compile("[A-Za-z0-9]{9}")
_ALPHABET: Final = string.ascii_letters + string.digits


def wire(messages: Sequence[Message], server: str) -> list[dict[str, Any]]:
    """The wire form of `messages` as sent to the api_base `server`."""
    sent_ids: dict[str, str] = {}  # the ids of the calls the tool messages now answer -> the ids sent for them
    sent = []
    for message in messages:
        data = message.to_dict()
        if message.tool_calls:
            sent_ids = {}  # answers follow their calls: ids repeat across replies (Gemini counts anew in each)
            data["tool_calls"] = [_call(call, message.origin, server, sent_ids) for call in message.tool_calls]
        if message.origin == server:
            data = {**message.extras, **data}  # the server's own fields never replace the message's
        if message.tool_call_id is not None:
            data["tool_call_id"] = sent_ids.get(message.tool_call_id, message.tool_call_id)
        sent.append(data)
    return sent


def _call(call: ToolCall, origin: str | None, server: str, sent_ids: dict[str, str]) -> dict[str, Any]:
    """One call's wire form: with its extras for the server that made it, under a portable id for another."""
    data = call.to_dict()
    data["function"]["arguments"] = _object_arguments(call.arguments)
    if origin == server:
        return {**call.extras, **data}
    if origin is None:  # made by a Python API caller, or saved before origins were kept: its id as it was made
        return data
    sent_ids[call.id] = data["id"] = portable_id(call.id)
    return data


def _object_arguments(arguments: str) -> str:
    """`arguments` if they are a JSON object, else an object holding them as text."""
    try:
        if isinstance(json.loads(arguments), dict):
            return arguments
    except ValueError:
        pass
    return json.dumps({"unparsed_arguments": arguments})


def portable_id(call_id: str) -> str:
    """`call_id` if it is 9 letters and digits, else 9 made from its hash: the same id always gives the same ones."""
    if _PORTABLE_ID.fullmatch(call_id):
        return call_id
    number = int.from_bytes(hashlib.sha256(call_id.encode("utf-8", "surrogatepass")).digest()[:8])
    return "".join(_ALPHABET[(number // len(_ALPHABET) ** place) % len(_ALPHABET)] for place in range(9))
