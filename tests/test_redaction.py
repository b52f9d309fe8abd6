"""Redacting URLs: credentials hidden, the rest kept readable, and a saved (redacted) origin still its server's."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from interpreter.cli.failures import fail
from interpreter.conversation.storage import Conversation, from_json, to_json
from interpreter.messages import Message, ToolCall
from interpreter.model.wire import wire
from interpreter.resilience.diagnostics import configure, log_to_file
from interpreter.trust.redaction import is_secret_name, redact_text, redact_url


@pytest.mark.parametrize(
    ("url", "shown"),
    [
        ("http://user:PASS@host/v1?api-key=KEY", "http://***@host/v1?api-key=***"),
        ("https://host/v1", "https://host/v1"),
        ("redis://:P@cache:6379/0", "redis://***@cache:6379/0"),
        ("redis://host/0?password=P", "redis://host/0?password=***"),
        ("rediss://ada@cache:6380/2", "rediss://***@cache:6380/2"),  # a token given as the user name
        (
            "https://r.openai.azure.com/openai/deployments/d?api-version=2024-06-01&api-key=K",
            "https://r.openai.azure.com/openai/deployments/d?api-version=2024-06-01&api-key=***",
        ),
        (  # an Azure SAS: only the signature is a secret, the rest says what it grants
            "https://acct.blob.core.windows.net/c?sv=2022-11-02&sp=r&se=2026-12-31&sig=abc%2Bdef",
            "https://acct.blob.core.windows.net/c?sv=2022-11-02&sp=r&se=2026-12-31&sig=***",
        ),
        (
            "http://h/v1?key=A&KEY=B&apikey=C&ApiKey=D&x-api-key=E",
            "http://h/v1?key=***&KEY=***&apikey=***&ApiKey=***&x-api-key=***",
        ),
        (
            "http://h/?token=A&access_token=B&pass=C&secret=D&auth=E",
            "http://h/?token=***&access_token=***&pass=***&secret=***&auth=***",
        ),
        (
            "http://h/?X-Amz-Security-Token=A&client_secret=B&signature=C",
            "http://h/?X-Amz-Security-Token=***&client_secret=***&signature=***",
        ),
        ("http://h/cb#access_token=A&state=s", "http://h/cb#access_token=***&state=s"),
        ("http://u:pa/ss@host/v1", "http://***@host/v1"),  # a password with a slash is not shown in part
        ("http://h/v1?api%2Dkey=A", "http://h/v1?api%2Dkey=***"),
        ("http://h/v1?max_tokens=5&keyword=k&api-version=1", "http://h/v1?max_tokens=5&keyword=k&api-version=1"),
        ("http://h/v1?flag&key=", "http://h/v1?flag&key="),  # nothing to hide
        ("sqlite", "sqlite"),
        ("off", "off"),
    ],
)
def test_a_url_is_shown_without_its_credentials_and_otherwise_as_written(url: str, shown: str) -> None:
    assert redact_url(url) == shown
    assert redact_url(shown) == shown  # redacting twice changes nothing


@pytest.mark.parametrize(
    "name", ["key", "API_KEY", "api-key", "apikey", "x-api-key", "Token", "access_token", "password", "pass", "secret"]
)
def test_the_names_of_credentials_are_known_in_any_case(name: str) -> None:
    assert is_secret_name(name)
    assert is_secret_name(name.upper())


@pytest.mark.parametrize("name", ["sig", "signature", "auth", "subscription-key", "refreshToken", "db_passwd"])
def test_other_spellings_of_credentials_are_known(name: str) -> None:
    assert is_secret_name(name)


@pytest.mark.parametrize("name", ["api-version", "model", "max_tokens", "keyword", "monkey", "passage", "author", "sv"])
def test_ordinary_parameters_are_not_hidden(name: str) -> None:
    assert not is_secret_name(name)


def test_every_url_quoted_in_a_line_is_redacted_and_the_words_around_kept() -> None:
    line = "cannot reach http://u:PASS@a/v1 (redirected to 'https://b/v1?token=T'), nor redis://:P@c/0."

    assert (
        redact_text(line)
        == "cannot reach http://***@a/v1 (redirected to 'https://b/v1?token=***'), nor redis://***@c/0."
    )


def test_a_credential_in_a_url_quoted_in_part_is_redacted_too() -> None:
    line = "Invalid URL (POST /v1/?api-key=KEYchat/completions), or /v1?max_tokens=5&sig=abc&x=1; or ?token=T."

    assert redact_text(line) == "Invalid URL (POST /v1/?api-key=***), or /v1?max_tokens=5&sig=***&x=1; or ?token=***."


def test_the_punctuation_ending_a_sentence_is_kept_after_a_url() -> None:
    line = "cannot reach the API at http://u:P@h/v1?api-key=K: check it (or http://h/v1?token=T), then http://h/v1."

    shown = (
        "cannot reach the API at http://***@h/v1?api-key=***: check it (or http://h/v1?token=***), then http://h/v1."
    )
    assert redact_text(line) == shown
    assert redact_text(shown) == shown


def signed_reply(origin: str) -> list[Message]:
    """A task, then a call made by the server at `origin` with a signature of its own, and the call's answer."""
    call = ToolCall("call_1", "execute", '{"language": "python", "code": "1"}', extras={"extra_content": {"sig": "S"}})
    return [
        Message("user", "go"),
        Message("assistant", "", (call,), extras={"reasoning_content": "R"}, origin=origin),
        Message("tool", "1", tool_call_id="call_1"),
    ]


def test_a_saved_origin_holds_no_credential_and_its_server_still_gets_its_fields_back(tmp_path: Path) -> None:
    server = "http://user:PASS@127.0.0.1:9/v1?api-key=KEY"
    conversation = Conversation.new("gpt-4o")
    conversation.messages.extend(signed_reply(server))

    text = to_json(conversation)
    resumed = from_json(text, tmp_path / "c.json")

    assert "PASS" not in text and "KEY" not in text
    assert resumed.messages[1].origin == "http://***@127.0.0.1:9/v1?api-key=***"
    sent = wire(resumed.messages, server)
    assert sent[1]["reasoning_content"] == "R"
    assert sent[1]["tool_calls"][0]["extra_content"] == {"sig": "S"}
    assert sent[1]["tool_calls"][0]["id"] == "call_1"  # the server's own id, not a portable stand-in


def test_a_conversation_saved_with_a_secret_origin_by_an_older_version_is_read_redacted(tmp_path: Path) -> None:
    old = {
        "version": 2,
        "id": "20260101-000000-abcd",
        "created": "2026-01-01T00:00:00+00:00",
        "model": "gpt-4o",
        "messages": [{"role": "assistant", "content": "hi", "origin": "http://u:PASS@h/v1?api-key=KEY"}],
    }
    loaded = from_json(json.dumps(old), tmp_path / "c.json")

    assert loaded.messages[0].origin == "http://***@h/v1?api-key=***"
    assert "PASS" not in to_json(loaded) and "KEY" not in to_json(loaded)


def test_another_server_does_not_get_the_fields() -> None:
    sent = wire(signed_reply("http://u:P@a/v1"), "http://u:P@b/v1")

    assert "reasoning_content" not in sent[1]
    assert "extra_content" not in sent[1]["tool_calls"][0]


def test_a_log_line_quoting_a_url_is_written_redacted(tmp_path: Path) -> None:
    shown: list[str] = []
    logger = configure(echo=shown.append)
    log_to_file(tmp_path / "logs", say=shown.append)

    logger.getChild("api").warning("the server refused: %s", "no route to http://u:PASS@h/v1?api-key=KEY")
    configure()  # closes the file

    written = (tmp_path / "logs" / "interpreter.log").read_text()
    assert shown == ["[interpreter.api] the server refused: no route to http://***@h/v1?api-key=***"]
    assert written.endswith("the server refused: no route to http://***@h/v1?api-key=***\n")


def test_a_last_line_quoting_a_url_is_printed_redacted(capsys: pytest.CaptureFixture[str]) -> None:
    assert fail(RuntimeError("internal: ConnectError('http://u:PASS@h/v1')"), 1) == 1

    assert capsys.readouterr().err == "interpreter: internal: ConnectError('http://***@h/v1')\n"
