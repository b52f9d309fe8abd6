"""Asking before running, and `e`: editing the code in $VISUAL/$EDITOR, with every editor failure said in one line."""

from __future__ import annotations

import os
from collections.abc import Iterable
from pathlib import Path

import pytest
from fake_server import FakeServer, Reply
from terminal import Terminal

from interpreter.errors import EditorFailed
from interpreter.messages import CodeCell, CodeProposed, Decision
from interpreter.ui.approval import QUESTION, Approver, edit_in_editor

CELL = CodeCell("python", "print(1)")


class Person:
    """Answers the questions in turn (then end of input), and keeps what was asked and told."""

    def __init__(self, answers: Iterable[str | None]) -> None:
        self._answers = iter(answers)
        self.asked: list[str] = []
        self.told: list[str] = []
        self.shown: list[CodeProposed] = []

    def ask(self, question: str) -> str | None:
        self.asked.append(question)
        return next(self._answers, None)

    def approver(self, *edits: str) -> Approver:
        """An Approver whose editor leaves each of `edits` in turn (the default: print(2))."""
        left = iter(edits or ["print(2)"])
        return Approver(self.ask, tell=self.told.append, show=self.shown.append, edit=lambda cell: next(left))

    def real_editor(self) -> Approver:
        return Approver(self.ask, tell=self.told.append, show=self.shown.append)


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


def test_e_shows_the_edited_code_and_asks_again_then_y_runs_it() -> None:
    person = Person(["e", "y"])
    edited = CodeCell("python", "print(2)")
    assert person.approver()(CELL) == Decision(True, edited)
    assert person.shown == [CodeProposed(edited, edited=True)]
    assert person.asked == [QUESTION, QUESTION]


@pytest.mark.parametrize("answer", ["n", "", None])
def test_the_edited_code_can_still_be_declined(answer: str | None) -> None:
    person = Person(["e", answer])
    assert person.approver()(CELL) == Decision(False)
    assert len(person.shown) == 1


def test_each_edit_starts_from_the_last_and_is_shown_and_asked_about_again() -> None:
    person = Person(["e", "e", "y"])
    assert person.approver("print(2)", "print(3)")(CELL) == Decision(True, CodeCell("python", "print(3)"))
    assert [proposed.cell.code for proposed in person.shown] == ["print(2)", "print(3)"]
    assert person.asked == [QUESTION] * 3


def test_an_edit_that_changes_nothing_shows_the_code_again_and_runs_it_as_proposed() -> None:
    person = Person(["e", "y"])
    decision = person.approver(CELL.code)(CELL)
    assert decision == Decision(True, CELL) and decision.cell is CELL  # the model is told of no edit
    assert person.shown == [CodeProposed(CELL, edited=False)]


def test_an_emptied_edit_declines() -> None:
    assert Person(["e"]).approver("  \n")(CELL) == Decision(False)


def test_auto_run_never_asks() -> None:
    person = Person([])
    approver = Approver(person.ask, tell=person.told.append, show=person.shown.append, auto_run=True)
    assert approver(CELL) == Decision(True, CELL)
    assert person.asked == person.told == [] and person.shown == []


def test_an_editor_that_returns_at_once_leaves_the_code_shown_and_asked_about(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("EDITOR", "true")  # like `code` or `subl` without --wait
    person = Person(["e", "y"])
    assert person.real_editor()(CELL) == Decision(True, CELL)
    assert person.shown == [CodeProposed(CELL)] and person.asked == [QUESTION, QUESTION] and person.told == []


def test_an_editor_that_removes_the_file_is_one_line_and_the_question_again(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("EDITOR", "rm")
    person = Person(["e", "n"])
    assert person.real_editor()(CELL) == Decision(False)
    assert person.asked == [QUESTION, QUESTION] and person.shown == []
    assert person.told == ["the editor rm left no file to read: the code was not changed"]


@pytest.mark.parametrize(
    ("script", "why"),
    [
        ('rm "$1"; ln -s /etc/passwd "$1"', "it is a symbolic link, which is not followed here"),
        ('rm "$1"; mkfifo "$1"', "it is a FIFO (named pipe), not a regular file"),
        ('rm "$1"; mkdir "$1"', "it is a directory, not a regular file"),
    ],
    ids=["symlink", "fifo", "directory"],
)
def test_an_editor_that_leaves_something_else_than_a_file_changes_nothing(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, script: str, why: str
) -> None:
    program = editor(tmp_path, script)
    monkeypatch.setenv("EDITOR", program)
    with pytest.raises(EditorFailed) as raised:
        edit_in_editor(CELL)
    assert str(raised.value).startswith(f"the editor {program} left no code to read (cannot read /")
    assert str(raised.value).endswith(f"/cell.py: {why}): the code was not changed")


def test_a_failed_editor_is_told_and_the_question_asked_again(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("EDITOR", "no-such-editor-here")
    person = Person(["e", "n"])
    assert person.real_editor()(CELL) == Decision(False)
    assert person.asked == [QUESTION, QUESTION]
    assert person.told == [
        "cannot start the editor no-such-editor-here ($EDITOR): not found; set $EDITOR, e.g. export EDITOR=nano"
    ]


def test_after_a_failed_editor_y_runs_the_code_as_shown(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("VISUAL", "no-such-editor-here --wait")
    person = Person(["e", "y"])
    assert person.real_editor()(CELL) == Decision(True, CELL)
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


# ---- the whole program, in a pty ---------------------------------------------------------------------------

ASKED = QUESTION.strip()


def answered_in_a_pty(command: list[str], server: FakeServer, editor_command: str, answers: str) -> list[str]:
    """The rows of a session asked to run `print(6 * 7)` with $EDITOR `editor_command`, answered `e` then each
    of `answers`, as they stood at the second question; the session then ends."""
    server.enqueue(Reply.tool_call("python", "print(6 * 7)"), Reply.text("All done."))
    terminal = Terminal(command[0], ["--api-base", server.url, "--api-key", "sk-test"], env={"EDITOR": editor_command})
    try:
        terminal.wait_for_prompt()
        terminal.send("work it out\r")
        terminal.wait_for(ASKED)
        terminal.send("e\r")
        terminal.wait_for(ASKED, count=2)
        rows = "\n".join(row.strip() for row in terminal.lines()).rstrip("\n").split("\n")  # less the empty rows below
        terminal.send(f"{answers}\r")
        terminal.wait_for("All done.")
        terminal.wait_for_prompt()
        assert "internal error" not in terminal.text()
        terminal.press("d")
        assert terminal.exit_status() == 0
    finally:
        terminal.close()
    return rows


def test_with_an_editor_that_returns_at_once_e_shows_the_code_and_asks_again(
    interpreter_command: list[str], server: FakeServer
) -> None:
    rows = answered_in_a_pty(interpreter_command, server, "true", "y")
    at = rows.index(f"{ASKED} e")
    assert rows[at - 2 : at] == ["python", "print(6 * 7)"]
    assert rows[at + 1 :] == ["", "python", "print(6 * 7)", ASKED]
    told = (server.requests[1].body or {})["messages"][-1]
    assert told["role"] == "tool" and told["content"] == "42\n"  # as when run without `e`: no edit to speak of


def test_an_editor_that_removes_the_file_is_one_line_then_the_question_again(
    interpreter_command: list[str], server: FakeServer
) -> None:
    rows = answered_in_a_pty(interpreter_command, server, "rm", "n")
    at = rows.index(f"{ASKED} e")
    assert rows[at + 1 :] == ["error: the editor rm left no file to read: the code was not changed", ASKED]
    told = (server.requests[1].body or {})["messages"][-1]["content"]
    assert "declined" in told.lower()
