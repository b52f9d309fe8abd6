"""Replaying a conversation (--resume, %load): the person's tasks and the model's answers, as they were shown."""

from __future__ import annotations

import io

import pyte
from rich.console import Console

from interpreter.messages import Message
from interpreter.repl import replay
from interpreter.session import OUTPUT_HEADING
from interpreter.ui.plain import PlainRenderer
from interpreter.ui.terminal import TerminalRenderer


def test_replay_shows_tasks_and_answers_but_not_the_outputs_sent_back_as_user_messages() -> None:
    out = io.StringIO()
    messages = [
        Message("user", "what is 6*7?"),
        Message("assistant", "Let me check.\n\n```python\nprint(6*7)\n```"),
        Message("user", f"{OUTPUT_HEADING}1 (python):\n42", kind="output"),
        Message("assistant", "It is 42."),
    ]
    replay(messages, PlainRenderer(out))
    lines = out.getvalue().splitlines()
    assert lines[0] == "> what is 6*7?"
    assert "print(6*7)" in lines and lines[-1] == "It is 42."
    assert not any(line.startswith(f"> {OUTPUT_HEADING}") for line in lines), lines


def test_a_task_typed_like_an_output_heading_is_replayed_as_a_task() -> None:
    out = io.StringIO()
    replay([Message("user", "Output of block 1 (python): hi"), Message("assistant", "Hello.")], PlainRenderer(out))
    assert out.getvalue().splitlines()[0] == "> Output of block 1 (python): hi"


def test_on_a_terminal_each_earlier_answer_is_its_own_block() -> None:
    out = io.StringIO()
    console = Console(file=out, width=80, height=24, force_terminal=True)
    messages = [Message("assistant", "```python\nprint(6*7)\n```"), Message("assistant", "It is **42**.")]
    replay(messages, TerminalRenderer(console))
    screen = pyte.Screen(80, 24)
    screen.set_mode(pyte.modes.LNM)
    pyte.Stream(screen).feed(out.getvalue())
    rows = [row.strip() for row in screen.display if row.strip()]
    assert rows == ["print(6*7)", "It is 42."], rows
