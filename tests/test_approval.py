"""Asking before running, and `e`: editing the code in $VISUAL/$EDITOR, with every editor failure said in one line."""

from __future__ import annotations

import os
from collections.abc import Iterable
from pathlib import Path

import pytest

from interpreter.approval import QUESTION, Approver, edit_in_editor
from interpreter.errors import EditorFailed
from interpreter.messages import CodeCell, Decision

CELL = CodeCell("python", "print(1)")


class Person:
    """Answers the questions in turn (then end of input), and keeps what was asked and told."""

    def __init__(self, answers: Iterable[str | None]) -> None:
        self._answers = iter(answers)
        self.asked: list[str] = []
        self.told: list[str] = []

    def ask(self, question: str) -> str | None:
        self.asked.append(question)
        return next(self._answers, None)

    def approver(self, edit: str = "print(2)") -> Approver:
        return Approver(self.ask, tell=self.told.append, edit=lambda cell: edit)


def editor(tmp_path: Path, script: str) -> str:
    """A fake editor: a shell script run as `editor FILE`."""
    path = tmp_path / "fake-editor"
    path.write_text(f"#!/bin/sh\n{script}\n")
    path.chmod(0o755)
    return str(path)


@pytest.mark.parametrize("answer", ["y", "Y", "yes", " y "])
def test_yes_runs(answer: str) -> None:
    person = Person([answer])
    assert person.approver()(CELL) == Decision(True, CELL)
    assert person.asked == [QUESTION] and QUESTION == "Run this code? [y/N/e] "


@pytest.mark.parametrize("answer", ["", "n", "no", "anything", None])
def test_anything_else_and_end_of_input_decline(answer: str | None) -> None:
    assert Person([answer]).approver()(CELL) == Decision(False)


def test_e_runs_the_edited_code() -> None:
    assert Person(["e"]).approver()(CELL) == Decision(True, CodeCell("python", "print(2)"))


def test_an_emptied_edit_declines() -> None:
    assert Person(["e"]).approver(edit="  \n")(CELL) == Decision(False)


def test_auto_run_never_asks() -> None:
    approver = Approver(lambda q: pytest.fail("asked"), tell=pytest.fail, auto_run=True)
    assert approver(CELL) == Decision(True, CELL)


def test_a_failed_editor_is_told_and_the_question_asked_again(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("EDITOR", "no-such-editor-here")
    person = Person(["e", "n"])
    approver = Approver(person.ask, tell=person.told.append)
    assert approver(CELL) == Decision(False)
    assert person.asked == [QUESTION, QUESTION]
    assert person.told == [
        "cannot start the editor no-such-editor-here ($EDITOR): not found; set $EDITOR, e.g. export EDITOR=nano"
    ]


def test_after_a_failed_editor_y_runs_the_code_as_shown(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("VISUAL", "no-such-editor-here --wait")
    person = Person(["e", "y"])
    assert Approver(person.ask, tell=person.told.append)(CELL) == Decision(True, CELL)
    assert person.told == [
        "cannot start the editor no-such-editor-here ($VISUAL): not found; set $EDITOR, e.g. export EDITOR=nano"
    ]


def test_no_editor_set_and_no_vi_says_what_to_set(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))  # nowhere to find vi
    with pytest.raises(EditorFailed) as raised:
        edit_in_editor(CELL)
    assert str(raised.value) == (
        "no editor: $VISUAL and $EDITOR are not set and vi is not installed; set $EDITOR, e.g. export EDITOR=nano"
    )


def test_the_editor_edits_the_code_in_a_file(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("EDITOR", editor(tmp_path, """sed -i 's/1/42/' "$1" """))
    assert edit_in_editor(CELL) == "print(42)"


def test_an_editor_that_fails_leaves_the_code_alone(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    program = editor(tmp_path, """echo 'import os; os.remove("/")' > "$1"; exit 3""")
    monkeypatch.setenv("EDITOR", program)
    with pytest.raises(EditorFailed) as raised:
        edit_in_editor(CELL)
    assert str(raised.value) == f"the editor {program} exited with status 3: the code was not changed"


def test_an_editor_that_cannot_be_run_says_why(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    program = editor(tmp_path, "exit 0")
    os.chmod(program, 0o644)  # not executable: refused even for root
    monkeypatch.setenv("EDITOR", program)
    with pytest.raises(EditorFailed, match=r"cannot start the editor .* \(\$EDITOR\): permission denied; set \$EDITOR"):
        edit_in_editor(CELL)


def test_an_editor_variable_that_cannot_be_read_is_one_line(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("EDITOR", "code --wait 'unclosed")
    with pytest.raises(EditorFailed, match=r"^cannot read \$EDITOR \(No closing quotation\): set \$EDITOR"):
        edit_in_editor(CELL)
