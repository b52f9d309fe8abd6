"""ThinkSplitter: a `<think>` block opening the content is reasoning, however the stream cuts it."""

from __future__ import annotations

import pytest

from interpreter.model.thinking import ThinkSplitter

STREAMED = "<think>Six times seven.\nIt is 42.</think>\n\nThe answer is 42."


def split(pieces: list[str]) -> tuple[str, str]:
    """(reasoning, answer) of content streamed as `pieces`."""
    splitter = ThinkSplitter()
    parts = [part for piece in pieces for part in splitter.feed(piece)] + splitter.flush()
    return "".join(text for thought, text in parts if thought), "".join(text for thought, text in parts if not thought)


@pytest.mark.parametrize("size", [1, 2, 3, 5, 7, 8, 9, len(STREAMED)])
def test_the_block_is_reasoning_and_the_rest_the_answer_wherever_the_chunks_cut(size: int) -> None:
    pieces = [STREAMED[start : start + size] for start in range(0, len(STREAMED), size)]
    assert split(pieces) == ("Six times seven.\nIt is 42.", "The answer is 42.")


def test_a_think_tag_later_in_the_answer_is_the_answer_s_own_text() -> None:
    text = "Use <think> tags like this: <think>…</think>"
    assert split([text[:5], text[5:]]) == ("", text)


def test_an_answer_without_a_block_is_unchanged_even_a_blank_or_tag_like_start() -> None:
    assert split(["  ", "<th", "e>x"]) == ("", "  <the>x")
    assert split(["  "]) == ("", "  ")


def test_a_block_never_closed_is_all_reasoning() -> None:
    assert split(["<think>still going </th"]) == ("still going </th", "")
