"""What a server says of a model it serves: the context window it runs with, and (OpenRouter, LiteLLM) its prices.

Only servers `identity.py` recognises from their `GET /models` are asked more, each where it reports its window
(shared/PROVIDERS.md, "Where servers report the window they run with"):
vLLM, the model card's `max_model_len` in that same list [src] vllm/entrypoints/openai/protocol.py ModelCard;
llama.cpp, `GET /props` at the server's root, `default_generation_settings.n_ctx` (a slot's window) [src]
tools/server/README.md; Ollama, `POST /api/show` `{"model"}`, the `num_ctx` line of `parameters` where the model sets
one, else `model_info["<general.architecture>.context_length"]` [src] ollama docs/api.md "Show Model Information";
LM Studio, `GET /api/v0/models`, the model's `loaded_context_length` [inferred], else `max_context_length` [src]
lmstudio docs "REST API v0"; OpenRouter, the model's `top_provider.context_length`, else `context_length`, and
`pricing.prompt` / `.completion` / `.input_cache_read` in USD per token, as strings, in that same list [src]
openrouter.ai/docs/api-reference/list-available-models; the LiteLLM proxy, `GET /model/info`, the deployment's
`model_info.max_input_tokens`, `input_cost_per_token`, `output_cost_per_token`, `cache_read_input_token_cost`
(observed, LiteLLM 1.110.2). A server that does not answer, or answers oddly, reports nothing: `ask` returns None.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Final

from interpreter.model.answer import Answer
from interpreter.model.identity import identify, listed
from interpreter.model.prices import PER, Prices

if TYPE_CHECKING:
    import httpx2

TIMEOUT: Final = 5.0  # seconds: a server on this machine answers at once, a remote one within this
USER_AGENT: Final = "steady-interpreter (model catalogue)"  # tells these questions apart in a server's log


@dataclass(frozen=True)
class Report:
    """What the server reported of a model: its window and its prices, each None where it said nothing."""

    window: int | None
    prices: Prices | None
    source: str  # where it said it: `vLLM /v1/models`


@dataclass(frozen=True)
class Asking:
    """One server, asked about one model over `http`."""

    http: httpx2.Client
    api_base: str
    api_key: str
    model: str

    @property
    def root(self) -> str:
        """The server's root, where llama.cpp, Ollama and LM Studio serve their own APIs: the base without `/v1`."""
        return self.api_base.rstrip("/").removesuffix("/v1")

    def send(self, method: str, url: str, body: object = None) -> Answer:
        """One request; its answer, or an Answer with no status when none came."""
        import httpx2  # noqa: PLC0415 - the SDK's transport, imported by then

        headers = {"user-agent": USER_AGENT, **({"authorization": f"Bearer {self.api_key}"} if self.api_key else {})}
        try:
            response = self.http.request(method, url, headers=headers, json=body)
            return Answer(response.status_code, dict(response.headers), response.json())
        except (httpx2.HTTPError, ValueError) as exc:  # no answer, or one that is not JSON
            return Answer(failure=type(exc).__name__)


def ask(api_base: str, api_key: str, model: str) -> Report | None:
    """What the server at `api_base` reports of `model`, if it is one that reports it."""
    import httpx2  # noqa: PLC0415 - the SDK's transport, imported by then

    with httpx2.Client(timeout=TIMEOUT) as http:
        asking = Asking(http, api_base.rstrip("/"), api_key, model)
        models = asking.send("GET", f"{asking.api_base}/models")
        identity = identify([models])
        sighting = identity.proxy or identity.server
        reader = _READERS.get(sighting.name) if sighting else None
        return reader(asking, models) if reader else None


def _vllm(asking: Asking, models: Answer) -> Report | None:
    card = _entry(listed(models), "id", asking.model)
    return _report(_tokens(card.get("max_model_len")), None, "vLLM /v1/models")


def _llamacpp(asking: Asking, models: Answer) -> Report | None:
    props = _object(asking.send("GET", f"{asking.root}/props"))
    return _report(_tokens(_object_at(props, "default_generation_settings").get("n_ctx")), None, "llama.cpp /props")


def _ollama(asking: Asking, models: Answer) -> Report | None:
    shown = _object(asking.send("POST", f"{asking.root}/api/show", {"model": asking.model}))
    info = _object_at(shown, "model_info")
    trained = _tokens(info.get(f"{info.get('general.architecture')}.context_length"))
    return _report(_num_ctx(shown.get("parameters")) or trained, None, "Ollama /api/show")


def _lmstudio(asking: Asking, models: Answer) -> Report | None:
    entry = _entry(listed(asking.send("GET", f"{asking.root}/api/v0/models")), "id", asking.model)
    window = _tokens(entry.get("loaded_context_length")) or _tokens(entry.get("max_context_length"))
    return _report(window, None, "LM Studio /api/v0/models")


def _openrouter(asking: Asking, models: Answer) -> Report | None:
    entry = _entry(listed(models), "id", asking.model)
    window = _tokens(_object_at(entry, "top_provider").get("context_length")) or _tokens(entry.get("context_length"))
    pricing = _object_at(entry, "pricing")
    rates = [_per_token(pricing.get(name)) for name in ("prompt", "completion", "input_cache_read")]
    return _report(window, _prices(*rates), "OpenRouter /models")


def _litellm(asking: Asking, models: Answer) -> Report | None:
    deployment = _entry(listed(asking.send("GET", f"{asking.api_base}/model/info")), "model_name", asking.model)
    info = _object_at(deployment, "model_info")
    names = ("input_cost_per_token", "output_cost_per_token", "cache_read_input_token_cost")
    rates = [_per_token(info.get(name)) for name in names]
    return _report(_tokens(info.get("max_input_tokens")), _prices(*rates), "LiteLLM /model/info")


_READERS: dict[str, Callable[[Asking, Answer], Report | None]] = {
    "vLLM": _vllm,
    "llama.cpp": _llamacpp,
    "Ollama": _ollama,
    "LM Studio": _lmstudio,
    "OpenRouter": _openrouter,
    "LiteLLM proxy": _litellm,
}


def _report(window: int | None, prices: Prices | None, source: str) -> Report | None:
    """A report, unless it says nothing."""
    return None if window is None and prices is None else Report(window, prices, source)


def _object(answer: Answer) -> Mapping[str, Any]:
    """The JSON object of a successful answer; empty otherwise."""
    return answer.body if answer.ok and isinstance(answer.body, Mapping) else {}


def _object_at(parent: Mapping[str, Any], name: str) -> Mapping[str, Any]:
    """The object under `name`; empty when there is none."""
    found = parent.get(name)
    return found if isinstance(found, Mapping) else {}


def _entry(entries: list[Mapping[str, Any]], key: str, model: str) -> Mapping[str, Any]:
    """The entry whose `key` names `model`; empty when none does."""
    return next((entry for entry in entries if entry.get(key) == model), {})


def _tokens(value: object) -> int | None:
    """A window in tokens: a positive whole number, else None."""
    return value if isinstance(value, int) and not isinstance(value, bool) and value > 0 else None


def _num_ctx(parameters: object) -> int | None:
    """The `num_ctx` of Ollama's `parameters` text (one `name value` a line)."""
    lines = parameters.splitlines() if isinstance(parameters, str) else []
    values = [line.split()[1] for line in lines if len(line.split()) == 2 and line.split()[0] == "num_ctx"]
    return _tokens(int(values[0])) if values and values[0].isdigit() else None


def _per_token(value: object) -> float | None:
    """USD per million tokens from USD per token (a number, or OpenRouter's string); None unless one, not negative."""
    try:
        rate = float(value) if isinstance(value, int | float | str) and not isinstance(value, bool) else -1.0
    except ValueError:
        return None
    return rate * PER if 0 <= rate < float("inf") else None


def _prices(input_rate: float | None, output_rate: float | None, cached: float | None) -> Prices | None:
    """Prices when both the input and the output price are known."""
    return None if input_rate is None or output_rate is None else Prices(input_rate, output_rate, cached)
