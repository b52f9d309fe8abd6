"""GuardedEvents around the SDK's own SSE decoder, fed chunks as a test cuts them, on a clock the test moves."""

from __future__ import annotations

from collections.abc import Iterator

import openai
import pytest
from fakes import FakeClock

from interpreter.errors import ApiResponseError, ApiTimeoutError
from interpreter.model.sse_guard import GuardedEvents

QUIET = 50.0


def guarded(clock: FakeClock, *, event_cap: int = 1_000) -> GuardedEvents:
    """The guard as llm.py builds it, around the decoder the SDK would use."""
    inner = openai.OpenAI(api_key="x", base_url="http://127.0.0.1:9")._make_sse_decoder()
    return GuardedEvents(inner, api_base="http://api", quiet_limit=QUIET, clock=clock, event_cap=event_cap)


def data(events: GuardedEvents, chunks: list[bytes]) -> list[str]:
    return [event.data for event in events.iter_bytes(iter(chunks))]


def test_bytes_that_are_not_utf8_become_replacement_characters_and_a_character_split_between_chunks_survives() -> None:
    chunks = [b"data: caf\xc3", b"\xa9 \xff!\n\n", b"data: \xe2\x82", b"\n\n"]  # é split; \xff; a cut euro sign
    assert data(guarded(FakeClock()), chunks) == ["café \ufffd!", "\ufffd"]


def test_comments_alone_for_longer_than_the_quiet_limit_time_out() -> None:
    clock = FakeClock()
    read: list[int] = []

    def comments() -> Iterator[bytes]:
        for second in range(100):
            read.append(second)
            clock.advance(1.0)
            yield b": keep-alive\n\n"

    with pytest.raises(ApiTimeoutError, match="sent no reply for 51s, only keep-alive comments"):
        list(guarded(clock).iter_bytes(comments()))
    assert len(read) == 51  # the first chunk past 50 s ends it


def test_an_event_now_and_then_keeps_a_stream_of_comments_alive() -> None:
    clock = FakeClock()

    def slow() -> Iterator[bytes]:
        for second in range(300):
            clock.advance(1.0)
            yield b"data: tick\n\n" if second % 40 == 0 else b": keep-alive\n\n"

    events = guarded(clock).iter_bytes(slow())
    assert len(list(events)) == 8  # 300 s in all, never 50 without an event
    assert clock() == 1300.0


def test_an_event_over_the_cap_is_a_broken_reply_before_it_is_held_whole() -> None:
    read: list[int] = []

    def endless_line() -> Iterator[bytes]:
        yield b"data: small\n\n"
        for piece in range(100):
            read.append(piece)
            yield b"x" * 100

    with pytest.raises(ApiResponseError, match=r"sent a stream event over 1\.0 kB"):
        list(guarded(FakeClock()).iter_bytes(endless_line()))
    assert len(read) == 11  # 1,100 bytes since the last event: past the 1,000-byte cap


def test_many_events_under_the_cap_pass_whatever_their_total() -> None:
    chunks = [b"data: " + b"x" * 900 + b"\n\n"] * 20
    assert len(data(guarded(FakeClock()), chunks)) == 20
