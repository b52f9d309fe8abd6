"""Links in the model's markdown: each shows where it goes, only web addresses are clickable (OSC 8), and what
the parser decodes (entities) passes the gate like the rest."""

from __future__ import annotations

import io
import re

import pytest
from fake_server import FakeServer, Reply
from rich.console import Console
from terminal import Terminal

from interpreter.ui.markdown import markdown

OSC8_TARGET = re.compile(r"\x1b\]8;[^;]*;([^\x1b\x07]*)")  # the address of each hyperlink opened


def drawn(text: str) -> tuple[str, list[str]]:
    """`text` as the transcript draws it: what a person reads, and the address of every clickable link."""
    out = io.StringIO()
    Console(file=out, width=200, force_terminal=True, color_system="truecolor").print(markdown(text))
    written = out.getvalue()
    targets = [target for target in OSC8_TARGET.findall(written) if target]
    read = re.sub(r"\x1b\]8;[^\x1b]*\x1b\\|\x1b\[[0-9;]*m", "", written)
    return read.strip(), targets


def test_a_link_whose_text_is_another_address_shows_its_target() -> None:
    read, targets = drawn("[https://docs.python.org/3/](https://evil.example/payload.sh)")
    assert read == "https://docs.python.org/3/ (https://evil.example/payload.sh)"
    assert targets == ["https://evil.example/payload.sh"]


@pytest.mark.parametrize(
    ("text", "read"),
    [
        ("<https://docs.python.org/3/>", "https://docs.python.org/3/"),
        ("[https://docs.python.org/3](https://docs.python.org/3/)", "https://docs.python.org/3"),
        ("[the docs](https://docs.python.org/3/)", "the docs (https://docs.python.org/3/)"),
    ],
    ids=["autolink", "trailing slash", "words"],
)
def test_a_web_link_stays_clickable_and_shows_its_target_unless_its_text_is_the_target(text: str, read: str) -> None:
    assert drawn(text) == (read, ["https://docs.python.org/3/"])


@pytest.mark.parametrize(
    ("text", "read"),
    [
        ("[notes](file:///etc/passwd)", "[notes](file:///etc/passwd)"),  # markdown-it makes no link of file:
        ("<file:///etc/passwd>", "<file:///etc/passwd>"),
        ("[share](smb://evil.example/share)", "share (smb://evil.example/share)"),
        ("<ssh://evil.example/x>", "ssh://evil.example/x"),
        ("[help](ms-msdt:/id PCWDiagnostic)", "[help](ms-msdt:/id PCWDiagnostic)"),
        ("[help](ms-msdt:id)", "help (ms-msdt:id)"),
        ("<someone@example.com>", "someone@example.com"),
    ],
    ids=["file", "file autolink", "smb", "ssh autolink", "space", "ms-msdt", "mailto"],
)
def test_a_link_to_anything_but_the_web_is_text_with_its_target(text: str, read: str) -> None:
    assert drawn(text) == (read, [])


def test_an_image_is_a_link_to_its_source_by_the_same_rule() -> None:
    assert drawn("![https://a.example/](https://b.example/x.png)") == (
        "https://a.example/ (https://b.example/x.png)",
        ["https://b.example/x.png"],
    )
    assert drawn("![chart](smb://evil.example/x.png)") == ("chart (smb://evil.example/x.png)", [])


def test_characters_an_entity_names_pass_the_gate_after_parsing() -> None:
    read, _ = drawn("a &#x202e;evil &#x2028; b &#8203;c [x&#x202e;](https://e.example/&#x202e;)")
    assert read == "a ⟨U+202E⟩evil ⟨U+2028⟩ b ⟨U+200B⟩c x⟨U+202E⟩ (https://e.example/%E2%80%AE)"


def test_a_lying_link_in_an_answer_shows_its_target_on_the_terminal(
    interpreter_command: list[str], server: FakeServer
) -> None:
    answer = (
        "Read [https://docs.python.org/3/](https://evil.example/payload.sh), <file:///etc/passwd>,"
        " [key](file:///root/.ssh/id_rsa) or [notes](smb://evil.example/n)."
    )
    server.enqueue(Reply.text(answer))
    terminal = Terminal(interpreter_command[0], ["--api-base", server.url, "--api-key", "sk-test"], env={})
    try:
        terminal.wait_for_prompt()
        terminal.send("where are the docs?\r")
        terminal.wait_for("(smb://evil.example/n).")
        terminal.wait_for_prompt()
        terminal.press("d")
        assert terminal.exit_status() == 0
    finally:
        terminal.close()
    read = " ".join(terminal.text().split())  # rows joined: the answer wraps at 80 columns
    assert "Read https://docs.python.org/3/ (https://evil.example/payload.sh), <file:///etc/passwd>," in read
    assert "[key](file:///root/.ssh/id_rsa) or notes (smb://evil.example/n)." in read
    targets = [target for target in OSC8_TARGET.findall(terminal.written.decode()) if target]
    assert targets == ["https://evil.example/payload.sh"]
