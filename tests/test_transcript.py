"""The Markdown transcript of a conversation."""

from __future__ import annotations

from datetime import UTC, datetime

from interpreter.conversation.storage import Conversation
from interpreter.conversation.transcript import to_markdown
from interpreter.messages import Message, ToolCall


def conversation(*messages: Message) -> Conversation:
    started = datetime(2025, 3, 1, 14, 5, tzinfo=UTC)
    return Conversation("20250301-140500-ab12", started.isoformat(), "gpt-4o", list(messages))


def test_a_transcript_has_a_heading_then_each_turn_with_code_and_output_fenced() -> None:
    call = ToolCall("c1", "execute", '{"language": "python", "code": "print(6*7)\\n"}')
    text = to_markdown(
        conversation(
            Message("user", "compute 6*7"),
            Message("assistant", "Let me run it.", tool_calls=(call,)),
            Message("tool", "42\n", tool_call_id="c1"),
            Message("assistant", "It is **42**."),
        )
    )
    assert text == (
        "# Conversation 20250301-140500-ab12\n\n"
        "2025-03-01 14:05 UTC · model `gpt-4o`\n\n"
        "## User\n\ncompute 6*7\n\n"
        "## Assistant\n\nLet me run it.\n\n```python\nprint(6*7)\n```\n\n"
        "Output:\n\n```\n42\n```\n\n"
        "## Assistant\n\nIt is **42**.\n"
    )


def test_a_fence_is_longer_than_any_backticks_inside_it() -> None:
    text = to_markdown(conversation(Message("tool", "a\n```\nb\n`````\n", tool_call_id="c1")))
    assert "``````\na\n```\nb\n`````\n``````" in text


def test_empty_output_and_an_unreadable_call_are_still_shown() -> None:
    bad = ToolCall("c1", "execute", "{not json")
    text = to_markdown(
        conversation(Message("assistant", "", tool_calls=(bad,)), Message("tool", "", tool_call_id="c1"))
    )
    assert "## Assistant\n\n```\nexecute({not json)\n```" in text
    assert "Output:\n\n```\n(no output)\n```" in text


def test_output_sent_back_as_text_is_shown_as_output_and_a_task_with_its_words_as_a_task() -> None:
    text = to_markdown(
        conversation(
            Message("user", "Output of block 1 (python): hi"),
            Message("assistant", "```python\nprint(1)\n```"),
            Message("user", "Output of block 1 (python):\n1", kind="output"),
        )
    )
    assert "## User\n\nOutput of block 1 (python): hi\n\n" in text
    assert text.endswith("Output:\n\n```\nOutput of block 1 (python):\n1\n```\n")
