"""Every fault scenario of shared/RESILIENCE.md, as the fake server produces it: checked through the real openai
SDK (what the client will see) and, where the SDK hides the bytes, through a raw socket or http.client."""

from __future__ import annotations

import http.client
import json
import socket
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from email.utils import parsedate_to_datetime
from typing import Any

import httpx2
import openai
import pytest
from fake_server import (
    FALLBACK_TEXT,
    CommentsOnly,
    EndlessReply,
    FakeServer,
    Fault,
    RateLimit,
    RawEvent,
    Reply,
    StatusFault,
    closed_port,
    go_duration,
)
from openai.types.chat import ChatCompletionChunk, ChatCompletionMessageParam

MESSAGES: list[ChatCompletionMessageParam] = [{"role": "user", "content": "What is 6*7?"}]
TPM_MESSAGE = (
    "Rate limit reached for gpt-4o in organization org-abc on tokens per min (TPM): Limit 10000, Used 6353, "
    "Requested 4265. Please try again in 3.708s. Visit https://platform.openai.com/account/rate-limits to learn more."
)
QUOTA_MESSAGE = (
    "You exceeded your current quota, please check your plan and billing details. For more information on this "
    "error, read the docs: https://platform.openai.com/docs/guides/error-codes/api-errors."
)
WORDS = Reply.text("one two three four")  # chunks: role, "one", " two", " three", " four", finish, [DONE]


@pytest.fixture
def client(server: FakeServer) -> Iterator[openai.OpenAI]:
    with openai.OpenAI(api_key="x", base_url=server.url, max_retries=0, timeout=5.0) as client:
        yield client


def create(client: openai.OpenAI, *, stream: bool = False) -> Any:
    return client.chat.completions.create(model="gpt-4o", messages=MESSAGES, stream=stream)


def error_of(client: openai.OpenAI, *, stream: bool = False) -> openai.APIStatusError:
    with pytest.raises(openai.APIStatusError) as caught:
        create(client, stream=stream)
    return caught.value


def error_body(error: openai.APIStatusError) -> dict[str, Any]:
    body = error.response.json()
    assert isinstance(body, dict)
    return body


def collect(client: openai.OpenAI, received: list[ChatCompletionChunk]) -> None:
    """Stream into `received`, so what arrived before an exception stays visible."""
    for chunk in create(client, stream=True):
        received.append(chunk)


def text_of(chunks: list[ChatCompletionChunk]) -> str:
    return "".join(chunk.choices[0].delta.content or "" for chunk in chunks if chunk.choices)


def raw_post(port: int, *, stream: bool = True) -> bytes:
    """The HTTP request the SDK would send, as bytes."""
    body = json.dumps({"model": "gpt-4o", "messages": MESSAGES, "stream": stream}).encode()
    head = (
        f"POST /v1/chat/completions HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\ncontent-type: application/json\r\n"
        f"content-length: {len(body)}\r\n\r\n"
    )
    return head.encode() + body


def raw_exchange(port: int, *, stream: bool = True) -> tuple[bytes, BaseException | None]:
    """Send one request over a plain socket; every byte received, and how the reading ended (None: EOF)."""
    received = b""
    with socket.create_connection(("127.0.0.1", port), timeout=5) as connection:
        connection.sendall(raw_post(port, stream=stream))
        try:
            while data := connection.recv(65536):
                received += data
        except OSError as error:
            return received, error
    return received, None


def raw_stream_body(port: int) -> str:
    """The decoded body of a streamed answer that ends properly, via http.client."""
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
    try:
        body = json.dumps({"model": "gpt-4o", "messages": MESSAGES, "stream": True})
        connection.request("POST", "/v1/chat/completions", body, {"content-type": "application/json"})
        return connection.getresponse().read().decode()
    finally:
        connection.close()


# ---- durations --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("seconds", "text"),
    [
        *[(0, "0s"), (0.02, "20ms"), (0.12, "120ms"), (1, "1s"), (3.708, "3.708s"), (62.6, "1m2.6s")],
        *[(360, "6m0s"), (7380, "2h3m0s"), (38.118, "38.118s"), (0.0001, "1ms")],
    ],
)
def test_go_durations_are_written_as_openai_writes_reset_headers(seconds: float, text: str) -> None:
    assert go_duration(seconds) == text


# ---- 429s -------------------------------------------------------------------------------------------


def test_tokens_429_is_openais_exact_body_and_hints_only_in_the_text(server: FakeServer, client: openai.OpenAI) -> None:
    server.enqueue(RateLimit.tokens())

    with pytest.raises(openai.RateLimitError) as caught:
        create(client, stream=True)

    error = caught.value
    assert error_body(error) == {
        "error": {"message": TPM_MESSAGE, "type": "tokens", "param": None, "code": "rate_limit_exceeded"}
    }
    assert (error.code, error.type) == ("rate_limit_exceeded", "tokens")
    headers = error.response.headers
    assert "retry-after" not in headers
    assert "retry-after-ms" not in headers
    # Truthful for the numbers: 10000 - 6353 left; 6353 used refill at 10000/60 a second in 38.118 s.
    assert headers["x-ratelimit-remaining-tokens"] == "3647"
    assert headers["x-ratelimit-limit-tokens"] == "10000"
    assert headers["x-ratelimit-reset-tokens"] == "38.118s"


@pytest.mark.parametrize("hint", ["20ms", "3.708s", "1m2.6s", "6m0s", "2h3m", "~3s"])
def test_every_hint_format_goes_into_the_429_text(server: FakeServer, client: openai.OpenAI, hint: str) -> None:
    server.enqueue(RateLimit.tokens(hint=hint))

    error = error_of(client)

    assert f"Please try again in {hint}. Visit https://platform.openai.com" in error.message
    assert error.status_code == 429


def test_retry_after_ms_is_the_only_hint(server: FakeServer, client: openai.OpenAI) -> None:
    server.enqueue(RateLimit.retry_after_ms(3708))

    error = error_of(client)

    assert error.response.headers["retry-after-ms"] == "3708"
    assert "retry-after" not in error.response.headers
    assert "try again" not in error.message
    assert "Limit 10000, Used 6353, Requested 4265. Visit" in error.message


@pytest.mark.parametrize(
    ("value", "sent"),
    [
        (4, "4"),
        (1.5, "1.5"),
        (3600, "3600"),
        (datetime(2030, 1, 2, 3, 4, 5, tzinfo=UTC), "Wed, 02 Jan 2030 03:04:05 GMT"),
    ],
)
def test_retry_after_goes_out_as_seconds_float_or_http_date(
    server: FakeServer, client: openai.OpenAI, value: int | float | datetime, sent: str
) -> None:
    server.enqueue(RateLimit.retry_after(value))

    error = error_of(client)

    assert error.response.headers["retry-after"] == sent
    assert "retry-after-ms" not in error.response.headers
    assert "try again" not in error.message


def test_retry_after_date_is_dated_when_sent(server: FakeServer, client: openai.OpenAI) -> None:
    server.enqueue(RateLimit.retry_after_date(5))
    before = datetime.now(UTC)

    date = parsedate_to_datetime(error_of(client).response.headers["retry-after"])

    assert before + timedelta(seconds=4) <= date <= datetime.now(UTC) + timedelta(seconds=7)


def test_requests_429_hints_only_by_reset_requests(server: FakeServer, client: openai.OpenAI) -> None:
    server.enqueue(RateLimit.requests())

    error = error_of(client)

    assert error_body(error)["error"] == {
        "message": "Rate limit reached for gpt-4o in organization org-abc on requests per min (RPM): Limit 500, "
        "Used 500, Requested 1. Visit https://platform.openai.com/account/rate-limits to learn more.",
        "type": "requests",
        "param": None,
        "code": "rate_limit_exceeded",
    }
    headers = error.response.headers
    assert headers["x-ratelimit-reset-requests"] == "1m0s"  # until the bucket is full again
    assert headers["x-ratelimit-remaining-requests"] == "0"
    assert "x-ratelimit-reset-tokens" not in headers  # a server default, removed
    assert not {"retry-after", "retry-after-ms"} & set(headers)


def test_insufficient_quota_is_a_429_about_billing(server: FakeServer, client: openai.OpenAI) -> None:
    server.enqueue(RateLimit.insufficient_quota())

    with pytest.raises(openai.RateLimitError) as caught:
        create(client)

    assert error_body(caught.value)["error"] == {
        "message": QUOTA_MESSAGE,
        "type": "insufficient_quota",
        "param": None,
        "code": "insufficient_quota",
    }


def test_a_request_larger_than_the_limit_gets_openais_request_too_large(
    server: FakeServer, client: openai.OpenAI
) -> None:
    server.enqueue(RateLimit.too_large(limit=10_000, requested=12_000))

    error = error_of(client)

    assert error.status_code == 429
    assert error.code == "rate_limit_exceeded"
    assert error.message == (
        "Error code: 429 - Request too large for gpt-4o in organization org-abc on tokens per min (TPM): "
        "Limit 10000, Requested 12000. The input or output tokens must be reduced in order to run successfully. "
        "Visit https://platform.openai.com/account/rate-limits to learn more."
    )


@pytest.mark.parametrize("fault", [Fault.server_error(500), RateLimit.tokens()], ids=["500", "429"])
def test_x_should_retry_false_stops_even_the_sdks_own_retries(server: FakeServer, fault: StatusFault) -> None:
    server.enqueue(Fault.no_retry(fault), Reply.text("never asked for"))
    with (
        openai.OpenAI(api_key="x", base_url=server.url, max_retries=2, timeout=5.0) as retrying,
        pytest.raises(openai.APIStatusError) as caught,
    ):
        create(retrying)

    assert caught.value.response.headers["x-should-retry"] == "false"
    assert len(server.requests) == 1


def test_without_x_should_retry_false_the_sdk_does_retry(server: FakeServer) -> None:
    # The control for the test above: a 1 ms retry-after-ms keeps the SDK's retry fast.
    server.enqueue(Fault.server_error(500).with_headers({"retry-after-ms": "1"}), Reply.text("second time"))
    with openai.OpenAI(api_key="x", base_url=server.url, max_retries=1, timeout=5.0) as retrying:
        assert create(retrying).choices[0].message.content == "second time"

    assert len(server.requests) == 2


def test_repeated_429_then_success_and_alternating_sequences(server: FakeServer, client: openai.OpenAI) -> None:
    server.enqueue(*Fault.times(3, RateLimit.tokens()), Reply.text("finally"))
    server.enqueue(RateLimit.tokens(hint="20ms"), Reply.text("a"), RateLimit.tokens(hint="20ms"), Reply.text("b"))

    outcomes = []
    for _ in range(7):
        try:
            outcomes.append(create(client).choices[0].message.content)
        except openai.RateLimitError:
            outcomes.append(429)

    assert outcomes == [429, 429, 429, "finally", 429, "a", 429]
    assert create(client).choices[0].message.content == "b"


def test_a_persistent_429_answers_every_request(server: FakeServer, client: openai.OpenAI) -> None:
    server.responder = Fault.always(RateLimit.tokens())

    for _ in range(5):
        with pytest.raises(openai.RateLimitError):
            create(client)
    assert len(server.requests) == 5


# ---- other statuses ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("status", "content_type", "text"),
    [
        (500, "application/json", "The server had an error while processing your request. Sorry about that!"),
        (502, "text/html", "<title>502 Bad Gateway</title>"),
        (503, "application/json", "The engine is currently overloaded, please try again later."),
        (504, "text/html", "<center><h1>504 Gateway Time-out</h1></center>"),
    ],
)
def test_server_errors_then_success(
    server: FakeServer, client: openai.OpenAI, status: int, content_type: str, text: str
) -> None:
    server.enqueue(Fault.server_error(status), Reply.text("recovered"))

    with pytest.raises(openai.InternalServerError) as caught:
        create(client, stream=True)

    assert caught.value.status_code == status
    assert caught.value.response.headers["content-type"] == content_type
    assert text in caught.value.response.text
    assert create(client).choices[0].message.content == "recovered"


FINAL_ERRORS: list[tuple[StatusFault, type[openai.APIStatusError], int, str | None, str]] = [
    (
        Fault.context_length_exceeded(),
        openai.BadRequestError,
        400,
        "context_length_exceeded",
        "This model's maximum context length is 128000 tokens. However, your messages resulted in 130532 tokens."
        " Please reduce the length of the messages.",
    ),
    (
        Fault.invalid_api_key(),
        openai.AuthenticationError,
        401,
        "invalid_api_key",
        "Incorrect API key provided: sk-abc***xyz. You can find your API key at "
        "https://platform.openai.com/account/api-keys.",
    ),
    (
        Fault.forbidden(),
        openai.PermissionDeniedError,
        403,
        "unsupported_country_region_territory",
        "Country, region, or territory not supported",
    ),
    (
        Fault.model_not_found("gpt-5-turbo"),
        openai.NotFoundError,
        404,
        "model_not_found",
        "The model `gpt-5-turbo` does not exist or you do not have access to it.",
    ),
    (
        Fault.unprocessable(),
        openai.UnprocessableEntityError,
        422,
        None,
        "The request was well-formed but could not be processed.",
    ),
]


@pytest.mark.parametrize("case", FINAL_ERRORS, ids=["400", "401", "403", "404", "422"])
def test_final_client_errors_arrive_with_openais_code_and_message(
    server: FakeServer,
    client: openai.OpenAI,
    case: tuple[StatusFault, type[openai.APIStatusError], int, str | None, str],
) -> None:
    fault, raised, status, code, message = case
    server.enqueue(fault)

    with pytest.raises(raised) as caught:
        create(client)

    assert caught.value.status_code == status
    assert caught.value.code == code
    assert error_body(caught.value)["error"]["message"] == message


def test_a_200_with_broken_json_escapes_the_sdk_as_a_json_error(server: FakeServer, client: openai.OpenAI) -> None:
    server.enqueue(Fault.status(200, '{"id": "chatcmpl-1", "choices": ['))

    with pytest.raises(json.JSONDecodeError):  # observed: not wrapped in any openai error
        create(client)


# ---- connections ------------------------------------------------------------------------------------


def test_closed_port_refuses_then_a_server_can_come_back_on_it() -> None:
    port = closed_port()
    with pytest.raises(ConnectionRefusedError), socket.create_connection(("127.0.0.1", port), timeout=1):
        pass
    with openai.OpenAI(api_key="x", base_url=f"http://127.0.0.1:{port}/v1", max_retries=0, timeout=2) as client:
        with pytest.raises(openai.APIConnectionError) as caught:
            create(client)
        assert isinstance(caught.value.__cause__, httpx2.ConnectError)

        with FakeServer(port=port):
            assert create(client).choices[0].message.content == FALLBACK_TEXT


def test_reset_before_headers_is_a_tcp_rst_not_a_close(server: FakeServer) -> None:
    server.enqueue(Fault.reset())

    received, ended = raw_exchange(server.port)

    assert received == b""
    assert isinstance(ended, ConnectionResetError)  # an orderly close would read b"" instead


def test_reset_before_headers_surfaces_as_connection_error(server: FakeServer, client: openai.OpenAI) -> None:
    server.enqueue(Fault.reset(), Fault.reset(), Reply.text("back"))

    for stream in (True, False):
        with pytest.raises(openai.APIConnectionError) as caught:
            create(client, stream=stream)
        assert isinstance(caught.value.__cause__, httpx2.ReadError)
    assert create(client).choices[0].message.content == "back"  # the server serves on


def test_reset_mid_stream_delivers_the_first_chunks_then_a_connection_error(
    server: FakeServer, client: openai.OpenAI
) -> None:
    server.enqueue(Fault.reset_mid_stream(WORDS, 3), Fault.reset_mid_stream(WORDS, 3))
    received: list[ChatCompletionChunk] = []

    with pytest.raises(openai.APIConnectionError) as caught:
        collect(client, received)

    assert text_of(received) == "one two"
    assert isinstance(caught.value.__cause__, httpx2.ReadError)
    raw, ended = raw_exchange(server.port)
    assert raw.startswith(b"HTTP/1.1 200 OK\r\n")
    assert b'"content": " two"' in raw
    assert b"[DONE]" not in raw
    assert isinstance(ended, ConnectionResetError)


def test_stream_stall_keeps_the_socket_open_until_the_read_timeout(server: FakeServer) -> None:
    server.enqueue(Fault.stall(WORDS, 3, 60))  # stop() wakes the stalled handler, so the test stays fast
    received: list[ChatCompletionChunk] = []
    started = time.monotonic()

    with (
        openai.OpenAI(api_key="x", base_url=server.url, max_retries=0, timeout=0.3) as client,
        pytest.raises(openai.APITimeoutError) as caught,
    ):
        collect(client, received)

    assert time.monotonic() - started < 5
    assert text_of(received) == "one two"
    assert isinstance(caught.value.__cause__, httpx2.ReadTimeout)


def test_stall_then_the_rest_of_the_stream() -> None:
    waits: list[float] = []
    with FakeServer(sleep=waits.append) as server:
        server.enqueue(Fault.stall(WORDS, 3, 30), Fault.stall(WORDS, 3, 20))
        with openai.OpenAI(api_key="x", base_url=server.url, max_retries=0, timeout=5) as fast:
            assert text_of(list(create(fast, stream=True))) == "one two three four"
            assert create(fast).choices[0].message.content == "one two three four"  # half body, stall, rest

    assert waits == [30, 20]


def test_an_error_event_inside_the_stream_raises_api_error_without_a_status(
    server: FakeServer, client: openai.OpenAI
) -> None:
    server.enqueue(Fault.error_event(WORDS, 3), Fault.error_event(WORDS, 3))
    received: list[ChatCompletionChunk] = []

    with pytest.raises(openai.APIError) as caught:
        collect(client, received)

    assert text_of(received) == "one two"
    assert not isinstance(caught.value, openai.APIStatusError)
    assert caught.value.message == "The server had an error while processing your request. Sorry about that!"
    assert caught.value.body == {
        "message": "The server had an error while processing your request. Sorry about that!",
        "type": "server_error",
        "param": None,
        "code": None,
    }
    body = raw_stream_body(server.port)
    assert body.endswith('"param": null, "code": null}}\n\n')
    assert '\n\ndata: {"error": {"message": "The server had an error' in body
    assert "[DONE]" not in body


def test_malformed_json_in_a_data_line_escapes_as_a_raw_json_error(server: FakeServer, client: openai.OpenAI) -> None:
    server.enqueue(Fault.malformed_json(WORDS, 3), Fault.malformed_json(WORDS, 3))
    received: list[ChatCompletionChunk] = []

    with pytest.raises(json.JSONDecodeError):  # observed: the SDK does not wrap it
        collect(client, received)

    assert text_of(received) == "one two"
    body = raw_stream_body(server.port)
    assert '\n\ndata: {"id": "chatcmpl-broken", "object": "chat.completion.chunk", "choi\n\n' in body
    assert body.endswith("data: [DONE]\n\n")


def test_a_malformed_sse_line_is_silently_skipped_by_the_sdk(server: FakeServer, client: openai.OpenAI) -> None:
    server.enqueue(Fault.malformed_sse(WORDS, 3), Fault.malformed_sse(WORDS, 3))

    chunks = list(create(client, stream=True))  # observed: no error, every real chunk arrives

    assert text_of(chunks) == "one two three four"
    body = raw_stream_body(server.port)
    assert '\n\n{"object": "chat.completion.chunk", "note": "no data: prefix"}\n\n' in body


# ---- rate-limit headers on normal replies -----------------------------------------------------------


def test_a_normal_reply_with_little_left_in_the_bucket(server: FakeServer, client: openai.OpenAI) -> None:
    server.enqueue(Reply.text("ok").with_headers(RateLimit.headers(limit_tokens=10_000, remaining_tokens=50)))

    response = client.chat.completions.with_raw_response.create(model="gpt-4o", messages=MESSAGES)

    assert response.parse().choices[0].message.content == "ok"
    assert {name: response.headers[name] for name in response.headers if name.startswith("x-ratelimit-")} == {
        "x-ratelimit-limit-requests": "500",
        "x-ratelimit-limit-tokens": "10000",
        "x-ratelimit-remaining-requests": "499",
        "x-ratelimit-remaining-tokens": "50",
        "x-ratelimit-reset-requests": "120ms",
        "x-ratelimit-reset-tokens": "59.7s",
    }


@pytest.mark.parametrize("value", ["-1", "0"])
def test_unknown_rate_limit_headers(server: FakeServer, client: openai.OpenAI, value: str) -> None:
    server.enqueue(Reply.text("ok").with_headers(RateLimit.unknown_headers(value)))

    response = client.chat.completions.with_raw_response.create(model="gpt-4o", messages=MESSAGES)

    kinds = ("requests", "tokens")
    names = [f"x-ratelimit-{name}-{kind}" for name in ("limit", "remaining", "reset") for kind in kinds]
    assert [response.headers[name] for name in names] == [value] * 6


def test_a_none_header_value_removes_a_server_default(server: FakeServer, client: openai.OpenAI) -> None:
    server.enqueue(Reply.text("ok").with_headers({"x-ratelimit-reset-tokens": None, "x-extra": "1"}))

    response = client.chat.completions.with_raw_response.create(model="gpt-4o", messages=MESSAGES)

    assert "x-ratelimit-reset-tokens" not in response.headers
    assert response.headers["x-extra"] == "1"
    assert response.headers["x-ratelimit-reset-requests"] == "120ms"


# ---- hostile streams ----------------------------------------------------------------------------------


def test_a_raw_event_reaches_the_sdk_as_bytes_that_are_not_utf8(server: FakeServer, client: openai.OpenAI) -> None:
    server.enqueue(RawEvent(WORDS, after=2, data=b'{"choices": [{"index": 0, "delta": {"content": "\xff"}}]}'))

    with pytest.raises(UnicodeDecodeError):  # observed: the SDK's own decoder is strict, and wraps nothing
        list(create(client, stream=True))


def test_comments_only_sends_nothing_else_until_the_client_leaves(server: FakeServer) -> None:
    server.enqueue(CommentsOnly(every=0.0, most=50))

    body = raw_stream_body(server.port)

    assert body == ": keep-alive\n\n" * 50


def test_a_comments_only_stream_gives_the_sdk_no_chunk(server: FakeServer, client: openai.OpenAI) -> None:
    server.enqueue(CommentsOnly(every=0.0, most=50))

    assert list(create(client, stream=True)) == []  # comments are skipped: the caller never gets control


def test_an_endless_reply_streams_text_until_the_client_leaves(server: FakeServer, client: openai.OpenAI) -> None:
    server.enqueue(EndlessReply(piece=1_000))

    stream = create(client, stream=True)
    texts = [chunk.choices[0].delta.content for chunk, _ in zip(stream, range(20), strict=False)]
    stream.close()

    assert [len(text) for text in texts] == [1_000] * 20
    assert texts[0].startswith("all work and no play all work")
    server.enqueue(Reply.text("next"))
    assert text_of(list(create(client, stream=True))) == "next"  # the server went on to the next request
