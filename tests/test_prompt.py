"""The Prompter's choice of where the person answers: stdin, the controlling terminal, or nowhere (end of input)."""

from __future__ import annotations

import io
from pathlib import Path
from typing import TextIO

from interpreter.ui.prompt import Prompter


class FakeTty(io.StringIO):
    """A stream that says it is a terminal."""

    def isatty(self) -> bool:
        return True


def no_terminal() -> TextIO:
    raise OSError("no controlling terminal")


def test_piped_in_and_out_the_question_is_echoed_and_end_of_input_answers_it(tmp_path: Path) -> None:
    out = io.StringIO()
    opened: list[TextIO] = []

    def terminal() -> TextIO:
        opened.append(FakeTty())
        return opened[-1]

    prompter = Prompter(tmp_path / "history", stdin=io.StringIO(""), stdout=out, terminal=terminal)
    assert not prompter.interactive
    assert not opened  # nobody watches stdout, so the terminal is never opened
    assert prompter.ask("Run this code? [y/N/e] ") is None
    assert out.getvalue() == "Run this code? [y/N/e] \n"


def test_a_piped_task_with_the_output_on_a_terminal_is_answered_there(tmp_path: Path) -> None:
    keyboard = FakeTty()
    prompter = Prompter(tmp_path / "history", stdin=io.StringIO(""), stdout=FakeTty(), terminal=lambda: keyboard)
    assert prompter.interactive


def test_without_a_controlling_terminal_questions_get_end_of_input(tmp_path: Path) -> None:
    out = FakeTty()
    prompter = Prompter(tmp_path / "history", stdin=io.StringIO(""), stdout=out, terminal=no_terminal)
    assert not prompter.interactive
    assert prompter.ask("Run this code? [y/N/e] ") is None
