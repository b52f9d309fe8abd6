"""Which API a model is asked on, the switch to the Responses API, the remembered switches and reading refusals.

Both wires are fake ChatModels here, raising the errors the adapters raise for OpenAI's refusals (the words of
tests/openai_today.py); the whole program against the fake server is tests/test_api_choice_cli.py.
"""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from fake_server import RecordedRequest
from fakes import FakeChatModel, rate_limited_for, text_reply
from openai_today import chat_refusal

from interpreter.errors import ApiStatusError, AttemptFailed, ConfigError, EffortRefused, WireRefused
from interpreter.messages import Message, Notice, Reply, StreamItem
from interpreter.model.api_choice import ApiChoice, Choice, choose, rule, shown
from interpreter.model.refusals import Needs, accepted_efforts, lacks_responses, needs_responses
from interpreter.model.remembered import FILE, RememberedSwitches
from interpreter.resilience.model import ResilientModel
from interpreter.resilience.policy import RetrySettings
from interpreter.settings import config
from interpreter.settings.settings_table import UNSET_EFFORT, settings_table

BASE = "http://127.0.0.1:8000/v1"
OPENAI = "https://api.openai.com/v1"
TASK = [Message("user", "compute 6*7")]
ONLY_RESPONSES = "This model is only supported in v1/responses and not in v1/chat/completions."
AZURE_WORDS = "The chatCompletion operation does not work with the specified model, {model}. Please choose different"
TOOLS_WITH_EFFORT = (
    "Function tools with reasoning_effort are not supported for {model} in /v1/chat/completions. "
    "Please use /v1/responses instead."
)
TOOLS_WITH_DEFAULT = (
    "Function tools with reasoning_effort are not supported for {model} in /v1/chat/completions. "
    "Please use /v1/responses or set reasoning_effort to 'none'."
)
EFFORT_REFUSED = (
    "Unsupported value: 'reasoning_effort' does not support 'minimal' with this model. Supported values are: 'none', "
    "'low', 'medium', and 'high'."
)


def refusal(words: str, status: int = 400, code: str | None = None) -> ApiStatusError:
    """An OpenAI refusal as the adapters raise it."""
    body = {"message": words, "type": "invalid_request_error", "param": None, "code": code}
    return ApiStatusError(f"HTTP {status}: {words}", status=status, code=code, body=body)


@dataclass
class FakeWire(FakeChatModel):
    """A scripted ChatModel on one wire, with the model name and picture flag an adapter has."""

    model: str = "gpt-5.1-codex"
    sends_images: bool = False


@dataclass
class Wires:
    """Both fake wires and the ApiChoice over them."""

    chat: FakeWire
    responses: FakeWire
    choice: ApiChoice
    remembered: RememberedSwitches = field(repr=False)


def wires(
    model: str = "gpt-5.1-codex", *, api: str = "auto", effort: str | None = None, home: Path | None = None
) -> Wires:
    chat, responses = FakeWire(model=model), FakeWire(model=model)
    remembered = RememberedSwitches(home / FILE if home else None)
    choice = ApiChoice(chat, responses, api=api, api_base=BASE, effort=effort, remembered=remembered)
    return Wires(chat, responses, choice, remembered)


def never_sleeps(seconds: float) -> None:
    pytest.fail(f"slept {seconds}s: a refusal that is final or a switch is never waited on")


def items(stream: Iterator[StreamItem]) -> list[StreamItem]:
    return list(stream)


def notices(got: Sequence[StreamItem]) -> list[str]:
    return [item.text for item in got if isinstance(item, Notice)]


def replies(got: Sequence[StreamItem]) -> list[str]:
    return [item.message.content.strip() for item in got if isinstance(item, Reply)]


# ---- the rule before any refusal -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("api", "base", "model", "wire"),
    [
        ("auto", OPENAI, "gpt-5.1-codex", "responses"),
        ("auto", OPENAI, "o3-pro", "responses"),
        ("auto", OPENAI, "gpt-5.4", "responses"),
        ("auto", OPENAI, "gpt-4o", "chat"),
        ("auto", BASE, "gpt-5.1-codex", "chat"),  # another server: Chat Completions until it refuses
        ("auto", "https://my-resource.openai.azure.com/openai/v1", "gpt-5.1", "chat"),
        ("chat", OPENAI, "gpt-5.1-codex", "chat"),
        ("responses", BASE, "llama3", "responses"),
    ],
)
def test_the_setting_and_the_auto_rule_pick_the_wire(api: str, base: str, model: str, wire: str) -> None:
    assert rule(api, base, model).wire == wire


def test_each_choice_says_why() -> None:
    assert rule("auto", OPENAI, "gpt-5.1").describe() == "Responses API (auto: an OpenAI reasoning model)"
    assert rule("auto", BASE, "gpt-5.1").describe() == "Chat Completions (auto)"
    assert rule("chat", OPENAI, "gpt-5.1").describe() == "Chat Completions (api = chat)"
    remembered = RememberedSwitches(None)
    remembered.remember(BASE, "gpt-5.1-codex")
    assert choose("auto", BASE, "gpt-5.1-codex", remembered).describe() == (
        "Responses API (remembered: Chat Completions refused it)"
    )
    assert choose("chat", BASE, "gpt-5.1-codex", remembered).wire == "chat"  # the setting is obeyed
    assert shown(Choice("responses", "api = responses"), "high") == (
        "Responses API (api = responses), reasoning effort high"
    )
    assert shown(Choice("chat", "auto"), None) == "Chat Completions (auto), reasoning effort as the model decides"


# ---- the switch ---------------------------------------------------------------------------------------


def test_a_model_chat_refuses_moves_to_responses_at_once_with_one_line_and_the_same_request() -> None:
    w = wires()
    w.chat.enqueue(refusal(ONLY_RESPONSES, 404))
    w.responses.enqueue(text_reply("42"), text_reply("again"))

    first = items(w.choice.stream(TASK, [{"tool": 1}]))
    second = items(w.choice.stream(TASK, []))

    assert notices(first) == ["gpt-5.1-codex answers only on the Responses API: using it"]
    assert replies(first) == ["42"]
    assert notices(second) == [] and replies(second) == ["again"]
    assert len(w.chat.requests) == 1  # refused once, never asked again
    assert w.responses.requests[0] == (TASK, [{"tool": 1}])  # the very request Chat Completions refused


@pytest.mark.parametrize(
    ("words", "status", "line"),
    [
        (AZURE_WORDS.format(model="gpt-5.1-codex"), 400, "gpt-5.1-codex answers only on the Responses API: using it"),
        (
            TOOLS_WITH_EFFORT.format(model="gpt-5.1-codex"),
            400,
            "gpt-5.1-codex takes tools with reasoning only on the Responses API: using it",
        ),
        (
            TOOLS_WITH_DEFAULT.format(model="gpt-5.1-codex"),
            400,
            "gpt-5.1-codex takes tools with reasoning only on the Responses API: using it",
        ),
    ],
)
def test_every_wording_of_the_refusal_switches(words: str, status: int, line: str) -> None:
    w = wires()
    w.chat.enqueue(refusal(words, status))
    w.responses.enqueue(text_reply("42"))

    got = items(w.choice.stream(TASK, []))

    assert notices(got) == [line]
    assert replies(got) == ["42"]


def test_the_switch_below_the_resilience_layer_is_no_retry() -> None:
    w = wires()
    w.chat.enqueue(refusal(ONLY_RESPONSES, 404))
    w.responses.enqueue(text_reply("42"))
    resilient = ResilientModel(w.choice, settings=RetrySettings(max_attempts=1), sleep=never_sleeps)

    got = items(resilient.stream(TASK, []))

    assert replies(got) == ["42"]  # with no retry allowed at all, the switch still happens
    assert resilient.traffic.requests == 1


def test_with_api_chat_the_refusal_is_one_final_line_and_responses_is_never_asked(tmp_path: Path) -> None:
    w = wires(api="chat", home=tmp_path)
    w.chat.enqueue(refusal(ONLY_RESPONSES, 404))

    with pytest.raises(WireRefused) as raised:
        items(w.choice.stream(TASK, []))

    assert str(raised.value) == "gpt-5.1-codex answers only on the Responses API: use --api responses, or --api auto"
    assert w.responses.requests == []
    assert not (tmp_path / FILE).exists()


def test_through_the_resilience_layer_the_api_chat_refusal_is_not_retried() -> None:
    w = wires(api="chat")
    w.chat.enqueue(refusal(ONLY_RESPONSES, 404), text_reply("never"))
    resilient = ResilientModel(w.choice, settings=RetrySettings(max_attempts=6), sleep=never_sleeps)

    with pytest.raises(AttemptFailed) as raised:
        items(resilient.stream(TASK, []))

    assert isinstance(raised.value.error, WireRefused)
    assert str(raised.value) == "gpt-5.1-codex answers only on the Responses API: use --api responses, or --api auto"
    assert len(w.chat.requests) == 1


def test_a_server_without_responses_after_the_switch_is_one_line_and_no_loop(tmp_path: Path) -> None:
    w = wires(home=tmp_path)
    w.chat.enqueue(refusal(ONLY_RESPONSES, 404))
    w.responses.enqueue(refusal("Unknown path /v1/responses", 404))

    with pytest.raises(WireRefused) as raised:
        items(w.choice.stream(TASK, []))

    assert str(raised.value) == (
        "gpt-5.1-codex answers only on the Responses API, and http://127.0.0.1:8000/v1 has no Responses API "
        "(HTTP 404 on /responses)"
    )
    assert (len(w.chat.requests), len(w.responses.requests)) == (1, 1)
    assert not (tmp_path / FILE).exists()  # nothing learnt: the next session asks Chat Completions again


def test_api_responses_on_a_server_without_it_says_to_use_api_chat() -> None:
    w = wires("llama3", api="responses")
    w.responses.enqueue(ApiStatusError("HTTP 404: Not Found", status=404, body={"detail": "Not Found"}))

    with pytest.raises(WireRefused) as raised:
        items(w.choice.stream(TASK, []))

    assert str(raised.value) == "http://127.0.0.1:8000/v1 has no Responses API (HTTP 404 on /responses): use --api chat"
    assert w.chat.requests == []


def test_a_model_not_found_on_responses_stays_a_model_not_found() -> None:
    w = wires("gpt-9", api="responses")
    missing = refusal("The model `gpt-9` does not exist or you do not have access to it.", 404, "model_not_found")
    w.responses.enqueue(missing)

    with pytest.raises(ApiStatusError) as raised:
        items(w.choice.stream(TASK, []))

    assert raised.value is missing


def test_any_other_failure_goes_up_unchanged_for_the_resilience_layer() -> None:
    w = wires()
    limited = rate_limited_for(3)
    w.chat.enqueue(limited)

    with pytest.raises(ApiStatusError) as raised:
        items(w.choice.stream(TASK, []))

    assert raised.value is limited
    assert w.responses.requests == []


def test_a_switch_after_a_rate_limit_on_responses_is_remembered_all_the_same(tmp_path: Path) -> None:
    w = wires(home=tmp_path)
    w.chat.enqueue(refusal(ONLY_RESPONSES, 404))
    w.responses.enqueue(rate_limited_for(3), text_reply("42"))
    resilient = ResilientModel(w.choice, settings=RetrySettings(max_attempts=2), sleep=lambda _: None)

    got = items(resilient.stream(TASK, []))

    assert replies(got) == ["42"]
    assert (len(w.chat.requests), len(w.responses.requests)) == (1, 2)  # the retry went straight to Responses


# ---- a refused effort ---------------------------------------------------------------------------------


def test_a_refused_effort_on_chat_is_one_line_naming_what_the_model_takes() -> None:
    w = wires("gpt-5.1", effort="minimal")
    w.chat.enqueue(refusal(EFFORT_REFUSED, code="unsupported_value"), text_reply("never"))
    resilient = ResilientModel(w.choice, settings=RetrySettings(max_attempts=6), sleep=never_sleeps)

    with pytest.raises(EffortRefused) as raised:
        items(resilient.stream(TASK, []))

    assert str(raised.value) == "gpt-5.1 does not take --reasoning-effort minimal; it takes none, low, medium, high"
    assert isinstance(raised.value, ConfigError)  # exit 2
    assert (len(w.chat.requests), len(w.responses.requests)) == (1, 0)


def test_a_refused_effort_on_responses_reads_reasoning_effort() -> None:
    w = wires("gpt-5", api="responses", effort="none")
    words = EFFORT_REFUSED.replace("'reasoning_effort'", "'reasoning.effort'").replace("'none', ", "'minimal', ")
    w.responses.enqueue(refusal(words, code="unsupported_value"))

    with pytest.raises(EffortRefused) as raised:
        items(w.choice.stream(TASK, []))

    assert str(raised.value) == "gpt-5 does not take --reasoning-effort none; it takes minimal, low, medium, high"


def test_the_same_words_without_an_effort_set_stay_the_servers() -> None:
    w = wires("gpt-5.1")
    refused = refusal(EFFORT_REFUSED, code="unsupported_value")
    w.chat.enqueue(refused)

    with pytest.raises(ApiStatusError) as raised:
        items(w.choice.stream(TASK, []))

    assert raised.value is refused


# ---- %model, fallbacks: the model's name on both wires ------------------------------------------------


def test_naming_another_model_names_it_on_both_wires() -> None:
    w = wires()
    w.choice.model = "gpt-5.4"
    assert (w.chat.model, w.responses.model, w.choice.model) == ("gpt-5.4", "gpt-5.4", "gpt-5.4")


def test_pictures_follow_the_wire_in_use() -> None:
    w = wires()
    w.responses.sends_images = True
    assert w.choice.sends_images is False
    w.remembered.remember(BASE, "gpt-5.1-codex")
    assert w.choice.sends_images is True


# ---- remembered in the home ----------------------------------------------------------------------------


def test_the_next_session_goes_straight_to_responses(tmp_path: Path) -> None:
    first = wires(home=tmp_path)
    first.chat.enqueue(refusal(ONLY_RESPONSES, 404))
    first.responses.enqueue(text_reply("42"))
    items(first.choice.stream(TASK, []))

    later = wires(home=tmp_path)
    later.responses.enqueue(text_reply("again"))
    got = items(later.choice.stream(TASK, []))

    assert replies(got) == ["again"]
    assert later.chat.requests == []  # no refused request paid again
    assert (tmp_path / FILE).stat().st_mode & 0o777 == 0o600


def test_the_file_names_the_server_redacted_and_keeps_other_sessions_entries(tmp_path: Path) -> None:
    other = RememberedSwitches(tmp_path / FILE)
    mine = RememberedSwitches(tmp_path / FILE)
    assert ("https://x.example/v1", "a") not in mine  # read now, before the other session writes
    other.remember("https://user:secret@x.example/v1", "gpt-5.1-codex")
    mine.remember("https://x.example/v1", "o3-pro")

    saved = json.loads((tmp_path / FILE).read_text())

    assert "secret" not in (tmp_path / FILE).read_text()
    assert saved["version"] == 1
    assert {entry["model"] for entry in saved["responses"]} == {"gpt-5.1-codex", "o3-pro"}
    assert ("https://user:secret@x.example/v1", "gpt-5.1-codex") in RememberedSwitches(tmp_path / FILE)


@pytest.mark.parametrize("content", ["{not json", '["a list"]', '{"version": 1, "responses": 7}', '{"version": 1}'])
def test_a_corrupt_file_is_ignored_and_logged(tmp_path: Path, content: str, caplog: pytest.LogCaptureFixture) -> None:
    (tmp_path / FILE).write_text(content)
    remembered = RememberedSwitches(tmp_path / FILE)

    with caplog.at_level(logging.WARNING):
        assert (BASE, "gpt-5.1-codex") not in remembered

    assert len([r for r in caplog.records if "ignoring" in r.getMessage()]) == 1
    remembered.remember(BASE, "gpt-5.1-codex")  # and replaced by a good one
    assert (BASE, "gpt-5.1-codex") in RememberedSwitches(tmp_path / FILE)


def test_a_fifo_in_its_place_is_ignored_without_blocking(tmp_path: Path) -> None:
    os.mkfifo(tmp_path / FILE)
    assert (BASE, "m") not in RememberedSwitches(tmp_path / FILE)


def test_a_home_that_cannot_be_written_keeps_the_switch_for_the_session(tmp_path: Path) -> None:
    home = tmp_path / "gone"  # no such folder: the write fails
    remembered = RememberedSwitches(home / FILE)
    remembered.remember(BASE, "gpt-5.1-codex")
    assert (BASE, "gpt-5.1-codex") in remembered


# ---- reading refusals ---------------------------------------------------------------------------------


def test_the_refusals_are_read_from_the_servers_words() -> None:
    assert needs_responses(ONLY_RESPONSES) is Needs.MODEL
    assert needs_responses(AZURE_WORDS.format(model="gpt-5.1-codex-mini")) is Needs.MODEL
    assert needs_responses(TOOLS_WITH_EFFORT.format(model="gpt-5.4")) is Needs.TOOLS
    assert needs_responses(TOOLS_WITH_DEFAULT.format(model="gpt-5.6")) is Needs.TOOLS
    assert needs_responses("The model `gpt-9` does not exist or you do not have access to it.") is None
    assert accepted_efforts(EFFORT_REFUSED) == ("none", "low", "medium", "high")
    assert accepted_efforts("Unsupported parameter: 'max_tokens' is not supported with this model.") is None
    assert lacks_responses(404, None) and lacks_responses(404, "")
    assert not lacks_responses(404, "model_not_found") and not lacks_responses(400, None)


def test_the_imitation_refuses_as_openai_does() -> None:
    def request(model: str, **body: Any) -> RecordedRequest:
        return RecordedRequest("POST", "/v1/chat/completions", {}, {"model": model, **body}, 0.0)

    tools = [{"type": "function"}]
    assert chat_refusal(request("gpt-5.1-codex")) is not None
    assert chat_refusal(request("gpt-5.4", tools=tools)) is None  # no effort sent: no refusal
    assert chat_refusal(request("gpt-5.4", tools=tools, reasoning_effort="high")) is not None
    assert chat_refusal(request("gpt-5.6", tools=tools)) is not None
    assert chat_refusal(request("gpt-5.6", tools=tools, reasoning_effort="none")) is None
    assert chat_refusal(request("gpt-4o", tools=tools)) is None


# ---- the settings --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("flags", "line"),
    [
        (config.Flags(api="completions"), "api must be one of auto, chat, responses, not 'completions' (set by --api)"),
        (
            config.Flags(reasoning_effort="max"),
            "reasoning_effort must be one of none, minimal, low, medium, high, xhigh, not 'max' "
            "(set by --reasoning-effort)",
        ),
    ],
)
def test_a_bad_value_names_the_accepted_ones(flags: config.Flags, line: str) -> None:
    with pytest.raises(ConfigError) as raised:
        config.effective(flags, env={"INTERPRETER_HOME": "/nonexistent-home"})
    assert str(raised.value) == line


def test_the_settings_file_and_a_profile_set_both(private_home: Path) -> None:
    private_home.mkdir()
    path = private_home / "config.toml"
    path.write_text('api = "chat"\nreasoning_effort = "low"\n[profiles.o]\napi = "responses"\n')
    path.chmod(0o600)
    env = {"INTERPRETER_HOME": str(private_home)}

    plain = config.effective(config.Flags(), env)
    profiled = config.effective(config.Flags(profile="o", reasoning_effort="high"), env)

    assert (plain.settings.api, plain.settings.reasoning_effort) == ("chat", "low")
    assert (profiled.settings.api, profiled.settings.reasoning_effort) == ("responses", "high")
    assert (profiled.source("api"), profiled.source("reasoning_effort")) == ("profile o", "flag")


def test_the_settings_table_shows_the_api_and_an_unset_effort_apart_from_none(private_home: Path) -> None:
    env = {"INTERPRETER_HOME": str(private_home)}

    unset = settings_table(config.effective(config.Flags(), env))
    chosen = settings_table(config.effective(config.Flags(api="responses", reasoning_effort="none"), env))

    def rows(table: str) -> dict[str, list[str]]:
        return {line.split()[0]: line.split()[1:] for line in table.splitlines() if line.strip()}

    assert rows(unset)["api"] == ["auto", "default"]
    assert rows(unset)["reasoning_effort"] == [*UNSET_EFFORT.split(), "default"]
    assert rows(chosen)["api"] == ["responses", "flag"]
    assert rows(chosen)["reasoning_effort"] == ["none", "flag"]
