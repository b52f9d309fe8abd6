"""What requests cost, piece by piece: usage under every server's names, the totals, the cap, the meter, the file."""

from __future__ import annotations

import io
import json
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import pytest
from fake_server import FakeServer
from fakes import FakeAdapter, FakeRunner, always
from flavours import DONE, Flavour, Turn, data, script

from interpreter.conversation.storage import Conversation, ConversationStore
from interpreter.errors import ConfigError, CostCapReached, StorageError
from interpreter.messages import Message, Reply, StreamItem, TextDelta, ToolCall, Usage
from interpreter.model.context import ContextWindow
from interpreter.model.llm import OpenAIChatModel
from interpreter.model.metered import MeteredModel
from interpreter.model.prices import Prices
from interpreter.model.responses_stream import read_events
from interpreter.model.spending import EXPECTED_COMPLETION, Spending, Total
from interpreter.resilience.model import ResilientModel
from interpreter.session import Session
from interpreter.ui.jsonl import JsonLinesRenderer
from interpreter.ui.labels import spent
from interpreter.ui.words import dollars

GPT_4O = Prices(2.50, 10.00, 1.25)  # USD per million tokens: input, output, cached input (OpenAI's pricing page)
PRICES = {"gpt-4o": GPT_4O, "gpt-4o-mini": Prices(0.15, 0.60, 0.075)}


def spending(cap: float | None = None) -> Spending:
    return Spending(PRICES.get, cap=cap)


# ---- usage under every server's names (through the SDK, from a loopback server) --------------------------------------


def usage_of(server: FakeServer, usage: dict[str, Any], *, where: str = "usage") -> Usage:
    """The Usage read from one reply whose last chunk carries `usage` (at `where`: "usage", or Groq's "x_groq")."""
    chunk = {"object": "chat.completion.chunk", "choices": [{"index": 0, "delta": {"content": "hi"}}]}
    last: dict[str, Any] = {
        "object": "chat.completion.chunk",
        "choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}],
    }
    last |= {"x_groq": {"id": "req_1", "usage": usage}} if where == "x_groq" else {"usage": usage}
    server.responder = script(Flavour("raw", lambda turn, request: [data(chunk), data(last), DONE]), [Turn()])
    model = OpenAIChatModel(model="m", api_base=server.url, api_key="x")
    (found,) = [item for item in model.stream([Message("user", "hi")], []) if isinstance(item, Usage)]
    return found


def test_openai_reports_cached_input_and_reasoning_in_its_details(server: FakeServer) -> None:
    # platform.openai.com/docs/api-reference/chat/object: usage.prompt_tokens_details / completion_tokens_details
    usage = {
        "prompt_tokens": 1_000,
        "completion_tokens": 300,
        "prompt_tokens_details": {"cached_tokens": 200, "audio_tokens": 0},
        "completion_tokens_details": {"reasoning_tokens": 120},
    }
    assert usage_of(server, usage) == Usage(1_000, 300, cached_tokens=200, reasoning_tokens=120)


def test_deepseek_reports_its_cache_hits_beside_the_prompt(server: FakeServer) -> None:
    # api-docs.deepseek.com/api/create-chat-completion: prompt_cache_hit_tokens + prompt_cache_miss_tokens
    usage = {
        "prompt_tokens": 900,
        "completion_tokens": 40,
        "prompt_cache_hit_tokens": 640,
        "prompt_cache_miss_tokens": 260,
    }
    assert usage_of(server, usage) == Usage(900, 40, cached_tokens=640)


def test_groq_reports_usage_under_x_groq(server: FakeServer) -> None:
    assert usage_of(server, {"prompt_tokens": 50, "completion_tokens": 7}, where="x_groq") == Usage(50, 7)


def test_counts_that_are_not_whole_numbers_count_as_none(server: FakeServer) -> None:
    usage = {"prompt_tokens": -5, "completion_tokens": "7", "prompt_cache_hit_tokens": 2.5}
    assert usage_of(server, usage) == Usage(0, 0)


def test_the_responses_api_reports_cached_input_and_reasoning_in_its_own_details() -> None:
    # platform.openai.com/docs/api-reference/responses/object: usage.input_tokens_details / output_tokens_details
    usage = {
        "input_tokens": 2_000,
        "input_tokens_details": {"cached_tokens": 1_536},
        "output_tokens": 400,
        "output_tokens_details": {"reasoning_tokens": 320},
        "total_tokens": 2_400,
    }
    completed = {"type": "response.completed", "response": {"status": "completed", "usage": usage}}
    items = list(read_events(iter([completed]), origin="https://api.openai.com/v1", cap=1_000))
    assert [item for item in items if isinstance(item, Usage)] == [Usage(2_000, 400, 1_536, 320)]


# ---- the totals and the cap ------------------------------------------------------------------------------------------


def test_a_request_costs_its_usage_at_the_model_s_prices_cached_input_at_its_own() -> None:
    priced = spending().spend("gpt-4o", Usage(1_000, 300, cached_tokens=200))
    assert priced.cost == 0.00525  # (800 x 2.50 + 200 x 1.25 + 300 x 10.00) / 1,000,000
    assert (priced.model, priced.prompt_tokens, priced.cached_tokens) == ("gpt-4o", 1_000, 200)


def test_the_total_line_counts_requests_tokens_and_dollars() -> None:
    total = Total()
    for _ in range(6):
        total.add(Usage(8_000, 35, model="gpt-4o", cost=0.0217))
    assert total.line() == "6 requests · 48,210 tokens · $0.13"


def test_estimated_tokens_and_models_without_a_price_are_said() -> None:
    money = spending()
    money.spend("gpt-4o", Usage(400, 10))
    money.spend("llama3", Usage(1_000, 20, estimated=True))
    assert money.session.line() == "2 requests · ≈1,430 tokens · $0.0011 · no price known for llama3"
    alone = Spending(PRICES.get)
    alone.spend("llama3", Usage(1_000, 20))
    assert alone.session.line() == "1 request · 1,020 tokens · no price known for llama3"


@pytest.mark.parametrize(
    ("usd", "shown"),
    [
        (0.0, "$0.00"),
        (0.13, "$0.13"),
        (1234.5, "$1,234.50"),
        (0.0042, "$0.0042"),
        (0.006, "$0.006"),
        (3e-6, "<$0.0001"),
    ],
)
def test_dollars_are_shown_so_that_small_sums_do_not_read_as_nothing(usd: float, shown: str) -> None:
    assert dollars(usd) == shown


def test_the_cap_stops_a_request_whose_expected_cost_would_pass_it() -> None:
    money = spending(cap=0.006)
    money.check("gpt-4o", 1_000)  # 1,000 x 2.50 + 256 x 10.00 per million: $0.00506 of $0.006
    money.spend("gpt-4o", Usage(1_000, 20))  # $0.0027 spent; the longest completion is now 20 tokens
    money.check("gpt-4o", 1_200)  # $0.0027 + $0.0032 = $0.0059
    with pytest.raises(CostCapReached) as stop:
        money.check("gpt-4o", 1_320)  # $0.0027 + $0.0035 = $0.0062
    assert str(stop.value) == (
        "stopped at --max-cost $0.006: this task has spent $0.0027, and the next request would cost about $0.0035 "
        "(not sent)"
    )


def test_before_any_reply_the_completion_is_expected_to_be_a_short_one() -> None:
    money = spending(cap=EXPECTED_COMPLETION * 10.00 / 1_000_000)  # room for that completion, and no prompt
    money.check("gpt-4o", 0)
    with pytest.raises(CostCapReached):
        money.check("gpt-4o", 1)


def test_each_task_counts_from_nothing_and_the_session_keeps_counting() -> None:
    money = spending(cap=0.003)
    money.spend("gpt-4o", Usage(1_000, 10))
    with pytest.raises(CostCapReached):
        money.check("gpt-4o", 1_000)
    money.begin_task()
    money.check("gpt-4o", 1_000)
    assert (money.task.cost, money.session.cost) == (0.0, 0.0026)


def test_a_fallback_counts_at_its_own_prices() -> None:
    money = spending(cap=0.001)
    money.spend("gpt-4o-mini", Usage(1_000, 10))
    assert money.task.cost == pytest.approx(0.000156)
    money.check("gpt-4o-mini", 4_000)  # 4,000 x 0.15 + 10 x 0.60 per million: well within
    with pytest.raises(CostCapReached):
        money.check("gpt-4o", 4_000)  # the same request to gpt-4o: $0.0126


def test_a_cap_with_no_price_to_keep_it_by_is_a_setting_error() -> None:
    with pytest.raises(ConfigError, match=r"^--max-cost cannot be kept: no price is known for llama3; "):
        spending(cap=1.0).enforceable("llama3")
    spending().enforceable("llama3")  # no cap: nothing to keep


# ---- the meter around a model --------------------------------------------------------------------------------------


class Answering:
    """A named ChatModel streaming `items` to each request, counting the requests."""

    def __init__(self, *items: StreamItem, model: str = "gpt-4o") -> None:
        self.model = model
        self.items = items
        self.sent = 0

    def stream(self, messages: Sequence[Message], tools: Sequence[dict[str, Any]]) -> Iterator[StreamItem]:
        self.sent += 1
        yield from self.items


def prompt_of(messages: Sequence[Message], tools: Sequence[dict[str, Any]]) -> int:
    return 1_000  # the estimate of every request's prompt, in tokens


def test_the_meter_prices_the_server_s_usage_once_just_before_the_reply() -> None:
    reply = Reply(Message("assistant", "hi"), "stop")
    inner = Answering(TextDelta("hi"), Usage(1_200, 30, cached_tokens=1_000), reply)
    money = spending()
    items = list(MeteredModel(inner, money, prompt_of).stream([Message("user", "hi")], []))
    assert items == [TextDelta("hi"), Usage(1_200, 30, 1_000, model="gpt-4o", cost=0.00205), reply]
    assert money.session.requests == 1


def test_a_reply_without_usage_is_counted_at_estimated_tokens() -> None:
    call = ToolCall("c1", "execute", '{"language": "python", "code": "print(42)"}')  # 43 characters
    reply = Reply(Message("assistant", "Let me see.", tool_calls=(call,)), "tool_calls")  # and 11: 54 / 4 → 14 tokens
    (usage,) = [
        item for item in MeteredModel(Answering(reply), spending(), prompt_of).stream([], []) if isinstance(item, Usage)
    ]
    assert usage == Usage(1_000, 14, model="gpt-4o", cost=0.00264, estimated=True)


def test_the_meter_sends_nothing_past_the_cap() -> None:
    inner = Answering(Reply(Message("assistant", "hi"), "stop"))
    with pytest.raises(CostCapReached):
        list(MeteredModel(inner, spending(cap=0.001), prompt_of).stream([Message("user", "hi")], []))
    assert inner.sent == 0


def test_the_meter_prices_the_model_named_at_each_request() -> None:
    inner = Answering(Usage(1_000, 0), Reply(Message("assistant", "hi"), "stop"), model="gpt-4o-mini")
    meter = MeteredModel(inner, spending(), prompt_of)
    list(meter.stream([], []))
    inner.model = "gpt-4o"  # %model
    costs = [item.cost for item in meter.stream([], []) if isinstance(item, Usage)]
    assert costs == [0.0025]


def test_the_resilience_layer_passes_the_priced_usage_on_and_learns_only_from_the_server_s() -> None:
    reported = Answering(Usage(1_200, 30), Reply(Message("assistant", "hi"), "stop"))
    estimated = Answering(Reply(Message("assistant", "hi"), "stop"))
    for inner, counted in ((reported, 1_200), (estimated, 0)):
        resilient = ResilientModel(MeteredModel(inner, spending(), prompt_of))
        (usage,) = [item for item in resilient.stream([Message("user", "hi")], []) if isinstance(item, Usage)]
        assert usage.model == "gpt-4o" and usage.cost is not None
        assert resilient.traffic.prompt_tokens == counted  # %tokens' "server's count" holds no estimate of ours


def test_the_session_shows_each_request_s_usage_keeps_the_cost_and_caps_each_task_from_nothing() -> None:
    answer = Answering(Usage(1_000, 10), Reply(Message("assistant", "done"), "stop"))  # $0.0026 a request
    money = spending(cap=0.0051)  # room for one such request a task ($0.00506 expected before any), not two
    saved: list[float] = []
    session = Session(
        model=MeteredModel(answer, money, prompt_of),
        runner=FakeRunner(),
        confirm=always(True),
        conversation=Conversation.new("gpt-4o"),
        save=lambda conversation: saved.append(conversation.cost),
        system="SYSTEM",
        window=ContextWindow(FakeAdapter()),
        spending=money,
    )
    for task in ("first", "second"):
        events = list(session.send(task))
        assert [event.cost for event in events if isinstance(event, Usage)] == [0.0026]
    assert session.conversation.cost == saved[-1] == 0.0052  # saved with the reply each cost came with
    assert money.task.cost == 0.0026 and money.session.requests == 2


# ---- how it is shown and kept ----------------------------------------------------------------------------------------


def test_json_writes_one_usage_object_per_request() -> None:
    usage = Usage(1_000, 300, cached_tokens=200, reasoning_tokens=120, model="gpt-4o", cost=0.00525)
    assert JsonLinesRenderer(io.StringIO()).record(usage) == {
        "type": "usage",
        "model": "gpt-4o",
        "input_tokens": 1_000,
        "cached_tokens": 200,
        "output_tokens": 300,
        "reasoning_tokens": 120,
        "cost": 0.00525,
        "estimated": False,
    }


def test_a_request_s_cost_in_words() -> None:
    assert spent(Usage(1_234, 56, cached_tokens=1_024, model="gpt-4o", cost=0.0037)) == (
        "gpt-4o: 1,234 + 56 tokens (1,024 cached), $0.0037"
    )
    assert spent(Usage(10, 5, model="llama3", estimated=True)) == "llama3: ≈10 + 5 tokens, price unknown"


def test_a_conversation_keeps_its_cost_and_older_files_load_at_none(tmp_path: Path) -> None:
    store = ConversationStore(tmp_path)
    conversation = Conversation.new("gpt-4o")
    conversation.cost = 0.0123
    store.save(conversation)
    assert store.load(conversation.id).cost == 0.0123
    path = tmp_path / f"{conversation.id}.jsonl"
    header, *rest = path.read_text().splitlines(keepends=True)
    record = json.loads(header)
    del record["cost"]
    path.write_text(json.dumps(record) + "\n" + "".join(rest))
    assert store.load(conversation.id).cost == 0.0


@pytest.mark.parametrize("cost", ["12", -1, True, "NaN"])
def test_a_cost_that_is_not_a_sum_of_dollars_is_refused(tmp_path: Path, cost: object) -> None:
    store = ConversationStore(tmp_path)
    conversation = Conversation.new("gpt-4o")
    store.save(conversation)
    path = tmp_path / f"{conversation.id}.jsonl"
    text = path.read_text().replace('"cost": 0.0', f'"cost": {json.dumps(cost) if cost != "NaN" else "NaN"}')
    path.write_text(text)
    with pytest.raises(StorageError, match="'cost' that is not a sum of dollars"):
        store.load(conversation.id)
