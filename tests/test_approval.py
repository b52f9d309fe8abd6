"""Asking before running."""

from __future__ import annotations

import pytest

from interpreter.approval import QUESTION, Approver
from interpreter.messages import CodeCell, Decision

CELL = CodeCell("python", "print(1)")


def answering(answer: str | None) -> tuple[Approver, list[str]]:
    asked: list[str] = []

    def ask(question: str) -> str | None:
        asked.append(question)
        return answer

    return Approver(ask, edit=lambda cell: "print(2)"), asked


@pytest.mark.parametrize("answer", ["y", "Y", "yes", " y "])
def test_yes_runs(answer: str) -> None:
    approver, asked = answering(answer)
    assert approver(CELL) == Decision(True, CELL)
    assert asked == [QUESTION] and QUESTION == "Run this code? [y/N/e] "


@pytest.mark.parametrize("answer", ["", "n", "no", "anything", None])
def test_anything_else_and_end_of_input_decline(answer: str | None) -> None:
    approver, _ = answering(answer)
    assert approver(CELL) == Decision(False)


def test_e_runs_the_edited_code() -> None:
    approver, _ = answering("e")
    assert approver(CELL) == Decision(True, CodeCell("python", "print(2)"))


def test_a_failed_or_emptied_edit_declines() -> None:
    assert Approver(lambda q: "e", edit=lambda cell: None)(CELL) == Decision(False)
    assert Approver(lambda q: "e", edit=lambda cell: "  \n")(CELL) == Decision(False)


def test_auto_run_never_asks() -> None:
    approver = Approver(lambda q: pytest.fail("asked"), auto_run=True)
    assert approver(CELL) == Decision(True, CELL)
